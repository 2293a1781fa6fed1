"""The public read side of tracking: plain dataclasses, never anything unpublished or personal.

Tracked projects exist only once their funding is published (:func:`projects.sync_funded`),
so everything here is public by construction; no view below names a user (leads, followers and
the staff who wrote an update stay in the audit log).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pb.errors import NotFound
from pb.models import (
    BallotRecord,
    BudgetLine,
    Campaign,
    District,
    FundedBy,
    FundingCall,
    Milestone,
    ProjectFollow,
    ProjectStatus,
    ProjectUpdate,
    Proposal,
    Round,
    TrackedProject,
)
from pb.services import ballot_log
from pb.services.funding import board, calls
from pb.services.photos import PhotoView
from pb.services.tracking import photos as milestone_photos
from pb.services.tracking.impact import IndicatorView, indicators_of, published_round_projects


@dataclass(frozen=True)
class Line:
    id: int
    label: str
    approved: int
    spent: int


@dataclass(frozen=True)
class MilestoneView:
    id: int
    title: str
    planned_on: dt.date
    done_on: dt.date | None
    note: str
    photos: tuple[PhotoView, ...] = ()


@dataclass(frozen=True)
class UpdateView:
    at: dt.datetime
    kind: str
    detail: dict[str, Any]
    body: str


@dataclass(frozen=True)
class ProjectCard:
    id: int
    round_id: int | None
    round_title: str | None
    call_id: int | None  # the funding call whose match funded it, if crowdfunded
    call_title: str | None
    campaign_id: int | None
    crowdfunded: tuple[int, int] | None  # (paid by backers, matched), from the published match
    funded_by: FundedBy
    title: str
    summary: str
    need: str
    beneficiaries: str
    partners: str
    district: str | None  # None: city-wide
    currency: str
    status: ProjectStatus
    status_reason: str
    progress: int
    progress_from_milestones: bool
    lines: list[Line]
    milestones: list[MilestoneView]
    history: list[UpdateView]  # newest first
    indicators: list[IndicatorView]
    followers: int
    updated_at: dt.datetime

    @property
    def approved(self) -> int:
        return sum(line.approved for line in self.lines)

    @property
    def spent(self) -> int:
        return sum(line.spent for line in self.lines)


def milestone_progress(milestones: list[MilestoneView] | list[Milestone]) -> int:
    if not milestones:
        return 0
    return sum(1 for m in milestones if m.done_on is not None) * 100 // len(milestones)


def progress_of(project: TrackedProject, milestones: list[MilestoneView]) -> int:
    if project.progress is not None:
        return project.progress
    if project.status is ProjectStatus.COMPLETED:
        return 100
    return milestone_progress(milestones)


def _milestones(
    session: Session, project_ids: list[int], photos: bool = False
) -> dict[int, list[MilestoneView]]:
    out: dict[int, list[MilestoneView]] = {pid: [] for pid in project_ids}
    found = list(
        session.scalars(
            select(Milestone)
            .where(Milestone.project_id.in_(project_ids or [0]))
            .order_by(Milestone.planned_on, Milestone.id)
        )
    )
    pictures = milestone_photos.photos_of(session, [m.id for m in found]) if photos else {}
    for m in found:
        out[m.project_id].append(
            MilestoneView(
                m.id, m.title, m.planned_on, m.done_on, m.note, tuple(pictures.get(m.id, ()))
            )
        )
    return out


def _lines(session: Session, project_ids: list[int]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {pid: [] for pid in project_ids}
    for line in session.scalars(
        select(BudgetLine)
        .where(BudgetLine.project_id.in_(project_ids or [0]))
        .order_by(BudgetLine.position, BudgetLine.id)
    ):
        out[line.project_id].append(Line(line.id, line.label, line.approved, line.spent))
    return out


def _district_names(session: Session) -> dict[int, str]:
    return {d: name for d, name in session.execute(select(District.id, District.name))}


def _crowdfunded(session: Session, call_id: int, campaign_id: int | None) -> tuple[int, int] | None:
    entry = (board.published_projects(session, call_id) or {}).get(campaign_id or 0)
    return (int(entry["raised"]), int(entry["match"])) if entry else None


def public_card(session: Session, project_id: int) -> ProjectCard:
    project = session.get(TrackedProject, project_id)
    if project is None:
        raise NotFound(f"project {project_id}")
    rnd = session.get(Round, project.round_id) if project.round_id else None
    call = (
        session.execute(
            select(FundingCall.id, FundingCall.title)
            .join(Campaign, Campaign.call_id == FundingCall.id)
            .where(Campaign.id == project.campaign_id)
        ).first()
        if project.campaign_id
        else None
    )
    milestones = _milestones(session, [project.id], photos=True)[project.id]
    updates = session.scalars(
        select(ProjectUpdate)
        .where(ProjectUpdate.project_id == project.id)
        .order_by(ProjectUpdate.at.desc(), ProjectUpdate.id.desc())
    ).all()
    followers = session.scalar(
        select(func.count())
        .select_from(ProjectFollow)
        .where(ProjectFollow.project_id == project.id)
    )
    district = _district_names(session).get(project.district_id) if project.district_id else None
    return ProjectCard(
        id=project.id,
        round_id=project.round_id,
        round_title=rnd.title if rnd else None,
        call_id=call.id if call else None,
        call_title=call.title if call else None,
        campaign_id=project.campaign_id,
        crowdfunded=_crowdfunded(session, call.id, project.campaign_id) if call else None,
        funded_by=project.funded_by,
        title=project.title,
        summary=project.summary,
        need=project.need,
        beneficiaries=project.beneficiaries,
        partners=project.partners,
        district=district,
        currency=project.currency,
        status=project.status,
        status_reason=project.status_reason,
        progress=progress_of(project, milestones),
        progress_from_milestones=project.progress is None,
        lines=_lines(session, [project.id])[project.id],
        milestones=milestones,
        history=[UpdateView(u.at, u.kind, dict(u.detail), u.body) for u in updates],
        indicators=indicators_of(session, [project])[project.id],
        followers=int(followers or 0),
        updated_at=project.updated_at,
    )


@dataclass(frozen=True)
class ProjectRow:
    id: int
    title: str
    district: str | None
    funded_by: FundedBy
    status: ProjectStatus
    progress: int
    approved: int
    spent: int


@dataclass(frozen=True)
class MoneyTotal:
    name: str | None  # a district's name; None: city-wide projects
    approved: int
    spent: int
    projects: int


@dataclass(frozen=True)
class Tracking:
    """The funded projects of a round, or of a funding call, with their money."""

    round_id: int | None  # the round's list (a call's projects: the call's round, if any)
    call_id: int | None  # a funding call's list; None: a round's
    title: str
    currency: str
    projects: list[ProjectRow]
    districts: list[MoneyTotal]
    approved: int
    spent: int
    by_status: dict[str, int]


def _tracking(
    session: Session,
    projects: list[TrackedProject],
    round_id: int | None,
    call_id: int | None,
    title: str,
    currency: str,
) -> Tracking:
    ids = [p.id for p in projects]
    milestones, lines = _milestones(session, ids), _lines(session, ids)
    names = _district_names(session)
    rows = [
        ProjectRow(
            p.id,
            p.title,
            names.get(p.district_id) if p.district_id else None,
            p.funded_by,
            p.status,
            progress_of(p, milestones[p.id]),
            sum(line.approved for line in lines[p.id]),
            sum(line.spent for line in lines[p.id]),
        )
        for p in projects
    ]
    by_district: dict[str | None, list[int]] = {}
    for row in rows:
        total = by_district.setdefault(row.district, [0, 0, 0])
        total[0] += row.approved
        total[1] += row.spent
        total[2] += 1
    districts = [
        MoneyTotal(name, t[0], t[1], t[2])
        for name, t in sorted(by_district.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
    ]
    by_status = {s.value: sum(1 for r in rows if r.status is s) for s in ProjectStatus}
    return Tracking(
        round_id,
        call_id,
        title,
        currency,
        rows,
        districts,
        sum(r.approved for r in rows),
        sum(r.spent for r in rows),
        by_status,
    )


def round_tracking(session: Session, round_id: int) -> Tracking:
    """Every funded project of a round with its status, progress and money, and the totals by
    district and for the round. :class:`NotFound` before the results are published."""
    rnd, projects = published_round_projects(session, round_id, "tracking")
    return _tracking(session, projects, round_id, None, rnd.title, rnd.currency)


def _of_call(query: Select[Any], call_id: int) -> Select[Any]:
    """``query`` (over tracked projects) narrowed to those of a funding call's campaigns."""
    return query.join(Campaign, Campaign.id == TrackedProject.campaign_id).where(
        Campaign.call_id == call_id
    )


def call_tracking(session: Session, call_id: int, today: dt.date) -> Tracking:
    """The projects a funding call's published match funded (none before), with their status,
    progress and money: the list of a call that belongs to no round, whose projects no round's
    list shows. :class:`NotFound` for a call still in draft (it is not public)."""
    call = session.get(FundingCall, call_id)
    if call is None or calls.phase(call, today) is calls.CallPhase.DRAFT:
        raise NotFound(f"call {call_id}")
    projects = list(
        session.scalars(
            _of_call(select(TrackedProject), call_id).order_by(
                TrackedProject.title, TrackedProject.id
            )
        )
    )
    return _tracking(session, projects, call.round_id, call_id, call.title, call.currency)


@dataclass(frozen=True)
class BallotProject:
    title: str
    project_id: int | None  # its card, when the project was funded
    status: ProjectStatus | None
    progress: int | None


@dataclass(frozen=True)
class BallotProjects:
    round_id: int
    round_title: str
    published: bool  # False: the results are not out; no project is shown before
    projects: list[BallotProject]


def ballot_projects(session: Session, code: str) -> BallotProjects | None:
    """The projects chosen on the ballot of a receipt and how far each funded one is.

    Shown only once the results are published: the receipt code is then the voter id of the
    ballot in the published ``.pb`` files, so anyone with the code can already read the choices
    there; before publication nothing beyond the receipt check (:func:`ballot_log.lookup_receipt`)
    is revealed. None when no ballot has this code."""
    found = ballot_log.lookup_receipt(session, code)
    if found is None:
        return None
    if found.published_file is None:
        return BallotProjects(found.round_id, found.round_title, False, [])
    record = session.scalar(
        select(BallotRecord.record).where(
            BallotRecord.round_id == found.round_id, BallotRecord.seq == found.seq
        )
    )
    assert record is not None
    chosen = [int(pid) for pid in json.loads(record)["choices"] if str(pid).isdigit()]
    proposals = session.execute(
        select(Proposal.id, Proposal.title).where(Proposal.id.in_(chosen or [0]))
    ).all()
    tracked = {
        p.proposal_id: p
        for p in session.scalars(
            select(TrackedProject).where(TrackedProject.proposal_id.in_(chosen or [0]))
        )
    }
    milestones = _milestones(session, [p.id for p in tracked.values()])
    out = []
    for pid, title in sorted(proposals, key=lambda r: r[1]):
        project = tracked.get(pid)
        if project is None:
            out.append(BallotProject(title, None, None, None))
        else:
            progress = progress_of(project, milestones[project.id])
            out.append(BallotProject(project.title, project.id, project.status, progress))
    return BallotProjects(found.round_id, found.round_title, True, out)


def card_ids(session: Session, round_id: int) -> dict[str, int]:
    """Project id on the ballot (the proposal id, as text) → its card, for a round's funded
    projects."""
    rows = session.execute(
        select(TrackedProject.proposal_id, TrackedProject.id).where(
            TrackedProject.round_id == round_id, TrackedProject.proposal_id.is_not(None)
        )
    ).all()
    return {str(pid): card for pid, card in rows}


def proposal_card(session: Session, proposal_id: int) -> int | None:
    """The card of the funded project a proposal became (by the vote or crowdfunding), if any."""
    return session.scalar(
        select(TrackedProject.id)
        .where(TrackedProject.proposal_id == proposal_id)
        .order_by(TrackedProject.id)
        .limit(1)
    )


def campaign_cards(session: Session, campaign_ids: list[int]) -> dict[int, int]:
    """Campaign id → the card of the project it became, for those of ``campaign_ids`` funded."""
    rows = session.execute(
        select(TrackedProject.campaign_id, TrackedProject.id).where(
            TrackedProject.campaign_id.in_(campaign_ids or [0])
        )
    ).all()
    return {campaign: card for campaign, card in rows if campaign is not None}


def call_project_count(session: Session, call_id: int) -> int:
    """How many projects a call's published match funded (0 before publication)."""
    count = session.scalar(_of_call(select(func.count()).select_from(TrackedProject), call_id))
    return int(count or 0)
