"""Funded projects and what staff and project leads change on them.

A project is *funded* when the vote result that selected it is published, or when the funding
call of its campaign published its match (the campaign is then ``funded``). :func:`sync_funded`
gives each such project its :class:`TrackedProject` once (unique keys on the proposal and the
campaign make a second call, or a concurrent one, add nothing); the results and match
publications call it in their transaction.

Every change here runs in the caller's transaction, is written to the audit log with its
before and after, and is announced as a public :class:`ProjectUpdate`, which mails each
follower once (:func:`pb.services.tracking.follow.announce`). Staff change everything; the
project's lead (a user staff appoint) posts notes, sets status, progress and milestones of
their own project only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    BudgetLine,
    Campaign,
    CampaignState,
    CostItem,
    FundedBy,
    FundingCall,
    Milestone,
    ProjectStatus,
    Proposal,
    Round,
    RoundResult,
    TrackedProject,
    User,
)
from pb.services import audit
from pb.services.tracking import follow

MAX_NOTE = 4000


@dataclass(frozen=True)
class Editor:
    """Who changes a project: staff (any project) or a user who may lead some."""

    user_id: int
    staff: bool


@dataclass(frozen=True)
class Mailing:
    """What announcing an update needs to write its mails."""

    base_url: str
    default_locale: str
    secret_key: str  # signs the unsubscribe links


def funded_proposals(session: Session, round_id: int) -> list[int]:
    """The proposal ids the round's *published* result funded (none before publication)."""
    result = session.get(RoundResult, round_id)
    if result is None or result.published_at is None:
        return []
    document = json.loads(result.results)
    ids: list[int] = []
    for outcome in document["districts"].values():
        ids.extend(int(pid) for pid in outcome["selected"] if str(pid).isdigit())
    return ids


def _new(session: Session, **values: Any) -> TrackedProject:
    now = clock.now()
    project = TrackedProject(
        status=ProjectStatus.PLANNED,
        status_reason="",
        progress=None,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(project)
    session.flush()
    return project


def sync_funded(session: Session) -> int:
    """Give every funded project without one its tracked project; returns how many were added."""
    added = 0
    published = session.scalars(
        select(RoundResult.round_id).where(RoundResult.published_at.is_not(None))
    ).all()
    tracked = set(session.scalars(select(TrackedProject.proposal_id)).all())
    for round_id in published:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        for pid in funded_proposals(session, round_id):
            proposal = session.get(Proposal, pid)
            if proposal is None or pid in tracked:
                continue
            project = _new(
                session,
                round_id=round_id,
                proposal_id=pid,
                funded_by=FundedBy.VOTE,
                title=proposal.title,
                summary=proposal.summary,
                need=proposal.need,
                beneficiaries=proposal.beneficiaries,
                partners=proposal.partners,
                district_id=proposal.district_id,
                currency=rnd.currency,
            )
            cost = proposal.feasible_cost or proposal.estimated_cost
            session.add(
                BudgetLine(
                    project_id=project.id, position=1, label=proposal.title, approved=cost, spent=0
                )
            )
            tracked.add(pid)
            added += 1
    with_campaign = set(session.scalars(select(TrackedProject.campaign_id)).all())
    funded = session.execute(
        select(Campaign, FundingCall)
        .join(FundingCall, FundingCall.id == Campaign.call_id)
        .where(Campaign.state == CampaignState.FUNDED)
        .order_by(Campaign.id)
    ).all()
    for campaign, call in funded:
        if campaign.id in with_campaign or (
            campaign.proposal_id is not None and campaign.proposal_id in tracked
        ):
            continue
        proposal = session.get(Proposal, campaign.proposal_id) if campaign.proposal_id else None
        project = _new(
            session,
            round_id=call.round_id,
            proposal_id=campaign.proposal_id,
            campaign_id=campaign.id,
            funded_by=FundedBy.CROWDFUNDING,
            title=campaign.title,
            summary=proposal.summary if proposal else "",
            need=proposal.need if proposal else campaign.description,
            beneficiaries=proposal.beneficiaries if proposal else "",
            partners=proposal.partners if proposal else "",
            district_id=proposal.district_id if proposal else None,
            currency=call.currency,
        )
        items = session.scalars(
            select(CostItem).where(CostItem.campaign_id == campaign.id).order_by(CostItem.position)
        ).all()
        # The itemised costs backers saw; a campaign without items, its target as one line.
        lines = [(item.label, item.amount) for item in items] or [
            (campaign.title, campaign.optimum or campaign.minimum)
        ]
        for n, (label, amount) in enumerate(lines, 1):
            session.add(
                BudgetLine(project_id=project.id, position=n, label=label, approved=amount, spent=0)
            )
        if campaign.proposal_id is not None:
            tracked.add(campaign.proposal_id)
        added += 1
    return added


def get_project(session: Session, project_id: int) -> TrackedProject:
    project = session.get(TrackedProject, project_id)
    if project is None:
        raise NotFound(f"project {project_id}")
    return project


def _editable(session: Session, editor: Editor, project_id: int) -> TrackedProject:
    """The project, locked for the change; :class:`Forbidden` unless staff or its lead."""
    project = session.scalars(
        select(TrackedProject).where(TrackedProject.id == project_id).with_for_update()
    ).first()
    if project is None:
        raise NotFound(f"project {project_id}")
    if not editor.staff and project.lead_id != editor.user_id:
        raise Forbidden(f"project {project_id}")
    return project


def may_edit(session: Session, user_id: int, staff: bool, project_id: int) -> bool:
    project = get_project(session, project_id)
    return staff or project.lead_id == user_id


def led_by(session: Session, user_id: int) -> list[TrackedProject]:
    return list(
        session.scalars(
            select(TrackedProject)
            .where(TrackedProject.lead_id == user_id)
            .order_by(TrackedProject.id)
        )
    )


def _changed(
    session: Session,
    editor: Editor,
    project: TrackedProject,
    mailing: Mailing,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    kind: str,
    detail: dict[str, Any],
    body: str = "",
) -> None:
    project.updated_at = clock.now()
    audit.record(session, editor.user_id, action, f"project:{project.id}", before, after)
    follow.announce(session, project, kind, detail, body, mailing)


def set_status(
    session: Session,
    editor: Editor,
    project_id: int,
    status: ProjectStatus,
    reason: str,
    mailing: Mailing,
) -> None:
    """Change the status; delayed and cancelled need a reason (kept with the status)."""
    project = _editable(session, editor, project_id)
    reason = reason.strip()[:MAX_NOTE]
    if status.needs_reason and not reason:
        raise ValidationError({"reason": _("Say why: a delay or a cancellation needs a reason.")})
    if status is project.status and reason == project.status_reason:
        return
    before = {"status": project.status.value, "reason": project.status_reason}
    project.status, project.status_reason = status, reason if status.needs_reason else ""
    after = {"status": status.value, "reason": project.status_reason}
    _changed(
        session, editor, project, mailing, "project.status", before, after, "status",
        {"status": status.value}, project.status_reason,
    )  # fmt: skip


def set_progress(
    session: Session, editor: Editor, project_id: int, percent: int | None, mailing: Mailing
) -> None:
    """Set the progress in percent (0–100), or None to follow the milestones."""
    project = _editable(session, editor, project_id)
    if percent is not None and not 0 <= percent <= 100:
        raise ValidationError({"progress": _("Enter a percentage from 0 to 100.")})
    if percent == project.progress:
        return
    before = {"progress": project.progress}
    project.progress = percent
    _changed(
        session, editor, project, mailing, "project.progress", before, {"progress": percent},
        "progress", {"progress": percent},
    )  # fmt: skip


def post_note(
    session: Session, editor: Editor, project_id: int, text: str, mailing: Mailing
) -> None:
    project = _editable(session, editor, project_id)
    text = text.strip()[:MAX_NOTE]
    if not text:
        raise ValidationError({"note": _("Write the update.")})
    _changed(
        session, editor, project, mailing, "project.note", None, {"note": text}, "note", {}, text
    )


def add_milestone(
    session: Session,
    editor: Editor,
    project_id: int,
    title: str,
    planned_on: dt.date,
    mailing: Mailing,
) -> Milestone:
    project = _editable(session, editor, project_id)
    title = title.strip()[:200]
    if not title:
        raise ValidationError({"title": _("Name the milestone.")})
    milestone = Milestone(project_id=project.id, title=title, planned_on=planned_on, note="")
    session.add(milestone)
    session.flush()
    after = {"milestone": milestone.id, "title": title, "planned_on": planned_on.isoformat()}
    _changed(
        session, editor, project, mailing, "project.milestone_add", None, after,
        "milestone_planned", {"title": title, "planned_on": planned_on.isoformat()},
    )  # fmt: skip
    return milestone


def complete_milestone(
    session: Session,
    editor: Editor,
    milestone_id: int,
    done_on: dt.date,
    note: str,
    today: dt.date,
    mailing: Mailing,
) -> None:
    """Mark a milestone reached on ``done_on`` (not after ``today``, the town's date)."""
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound(f"milestone {milestone_id}")
    project = _editable(session, editor, milestone.project_id)
    if milestone.done_on is not None:
        raise ValidationError({"": _("This milestone is already reached.")})
    if done_on > today:
        raise ValidationError({"done_on": _("A milestone is reached on a past day or today.")})
    milestone.done_on, milestone.note = done_on, note.strip()[:MAX_NOTE]
    after = {"milestone": milestone.id, "done_on": done_on.isoformat(), "note": milestone.note}
    _changed(
        session, editor, project, mailing, "project.milestone_done", {"done_on": None}, after,
        "milestone_done", {"title": milestone.title, "done_on": done_on.isoformat()},
        milestone.note,
    )  # fmt: skip


def add_budget_line(
    session: Session, editor: Editor, project_id: int, label: str, approved: int
) -> None:
    """Staff only: a line of the approved budget (not announced: spending is)."""
    if not editor.staff:
        raise Forbidden(f"project {project_id}")
    project = _editable(session, editor, project_id)
    label = label.strip()[:200]
    errors = {}
    if not label:
        errors["label"] = _("Name the budget line.")
    if approved < 0:
        errors["approved"] = _("Enter an amount of 0 or more.")
    if errors:
        raise ValidationError(errors)
    position = (
        session.scalar(
            select(func.max(BudgetLine.position)).where(BudgetLine.project_id == project.id)
        )
        or 0
    ) + 1
    session.add(
        BudgetLine(
            project_id=project.id, position=position, label=label, approved=approved, spent=0
        )
    )
    project.updated_at = clock.now()
    audit.record(
        session,
        editor.user_id,
        "project.budget_line",
        f"project:{project.id}",
        after={"label": label, "approved": approved},
    )


def set_spent(session: Session, editor: Editor, line_id: int, spent: int, mailing: Mailing) -> None:
    """Staff only: what has been spent on a budget line so far."""
    line = session.get(BudgetLine, line_id)
    if line is None:
        raise NotFound(f"budget line {line_id}")
    if not editor.staff:
        raise Forbidden(f"budget line {line_id}")
    project = _editable(session, editor, line.project_id)
    if spent < 0:
        raise ValidationError({"spent": _("Enter an amount of 0 or more.")})
    if spent == line.spent:
        return
    before = {"line": line.id, "spent": line.spent}
    line.spent = spent
    session.flush()
    total_spent, total_approved = session.execute(
        select(func.sum(BudgetLine.spent), func.sum(BudgetLine.approved)).where(
            BudgetLine.project_id == project.id
        )
    ).one()
    _changed(
        session, editor, project, mailing, "project.spending", before,
        {"line": line.id, "spent": spent}, "spending",
        {"spent": int(total_spent or 0), "approved": int(total_approved or 0)},
    )  # fmt: skip


def appoint_lead(session: Session, actor_id: int, project_id: int, email: str) -> None:
    """Staff name the user who leads a project (an empty address removes the lead)."""
    project = _editable(session, Editor(actor_id, True), project_id)
    email = email.strip().lower()
    user_id: int | None = None
    if email:
        user_id = session.scalar(select(User.id).where(User.email == email))
        if user_id is None:
            raise ValidationError({"lead": _("No account has this address.")})
    before = {"lead": project.lead_id}
    project.lead_id = user_id
    audit.record(
        session, actor_id, "project.lead", f"project:{project.id}", before, {"lead": user_id}
    )


def lines_of(session: Session, project_id: int) -> list[BudgetLine]:
    return list(
        session.scalars(
            select(BudgetLine)
            .where(BudgetLine.project_id == project_id)
            .order_by(BudgetLine.position, BudgetLine.id)
        )
    )
