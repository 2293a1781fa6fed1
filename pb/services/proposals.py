"""Proposals: submit and edit (residents), browse and search (everyone), comment and endorse,
and review (staff: accept with a feasible cost, reject with a reason, merge, re-assign)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    Category,
    Comment,
    District,
    Endorsement,
    Phase,
    Proposal,
    ProposalStatus,
    Round,
    RoundDistrict,
    User,
    VotingScope,
)
from pb.services import audit
from pb.services.rounds import effective_phase, get_round

LIMITS = {
    "title": 120,
    "summary": 300,
    "description": 10_000,
    "need": 5_000,
    "beneficiaries": 2_000,
    "partners": 2_000,
    "place": 200,
}
REQUIRED = ("title", "summary", "description", "need")


@dataclass
class ProposalInput:
    title: str
    summary: str
    description: str
    need: str
    beneficiaries: str
    partners: str
    place: str
    estimated_cost: int | None
    district_id: int | None
    category_id: int | None


def _allowed_districts(session: Session, rnd: Round) -> set[int | None]:
    allowed: set[int | None] = set()
    if rnd.scope in (VotingScope.CITYWIDE, VotingScope.BOTH):
        allowed.add(None)
    if rnd.scope in (VotingScope.DISTRICT, VotingScope.BOTH):
        allowed.update(
            session.scalars(
                select(RoundDistrict.district_id).where(
                    RoundDistrict.round_id == rnd.id, RoundDistrict.budget > 0
                )
            )
        )
    return allowed


def validate(session: Session, rnd: Round, data: ProposalInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, limit in LIMITS.items():
        value: str = getattr(data, name)
        if name in REQUIRED and not value.strip():
            errors[name] = _("This field is required.")
        elif len(value) > limit:
            errors[name] = _("Use at most %(n)s characters.", n=limit)
    if data.estimated_cost is None:
        errors.setdefault("estimated_cost", _("Enter an amount, for example 12500."))
    elif data.estimated_cost <= 0:
        errors["estimated_cost"] = _("The cost must be more than zero.")
    if data.district_id not in _allowed_districts(session, rnd):
        errors["district_id"] = _("Choose where the project would be, among this round's areas.")
    if (
        data.category_id is not None
        and session.scalar(
            select(Category.id).where(Category.id == data.category_id, Category.round_id == rnd.id)
        )
        is None
    ):
        errors["category_id"] = _("Choose one of this round's categories.")
    return errors


def _fill(p: Proposal, data: ProposalInput) -> None:
    for name in LIMITS:
        setattr(p, name, getattr(data, name).strip())
    assert data.estimated_cost is not None
    p.estimated_cost = data.estimated_cost
    p.district_id = data.district_id
    p.category_id = data.category_id


def submit(
    session: Session, author_id: int, round_id: int, data: ProposalInput, today: dt.date
) -> Proposal:
    rnd = get_round(session, round_id)
    if effective_phase(rnd, today) is not Phase.PROPOSALS:
        raise ValidationError({"": _("This round is not taking proposals now.")})
    errors = validate(session, rnd, data)
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    p = Proposal(
        round_id=rnd.id,
        author_id=author_id,
        status=ProposalStatus.SUBMITTED,
        created_at=now,
        updated_at=now,
    )
    _fill(p, data)
    session.add(p)
    session.flush()
    return p


def get(session: Session, proposal_id: int) -> Proposal:
    p = session.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id}")
    return p


def can_edit(p: Proposal, rnd: Round, user_id: int | None, today: dt.date) -> bool:
    return (
        user_id is not None
        and p.author_id == user_id
        and p.status is ProposalStatus.SUBMITTED
        and effective_phase(rnd, today) is Phase.PROPOSALS
    )


def update(
    session: Session, user_id: int, proposal_id: int, data: ProposalInput, today: dt.date
) -> Proposal:
    p = get(session, proposal_id)
    rnd = get_round(session, p.round_id)
    if not can_edit(p, rnd, user_id, today):
        raise Forbidden(_("You can edit your own proposal until review starts."))
    errors = validate(session, rnd, data)
    if errors:
        raise ValidationError(errors)
    _fill(p, data)
    p.updated_at = clock.now()
    return p


@dataclass(frozen=True)
class Filters:
    district: str = ""  # "", "citywide" or a district id
    category: int | None = None
    status: ProposalStatus | None = None
    q: str = ""


@dataclass(frozen=True)
class ProposalRow:
    id: int
    title: str
    summary: str
    status: ProposalStatus
    cost: int
    district: str | None
    category: str | None
    endorsements: int


def search(session: Session, round_id: int, f: Filters) -> list[ProposalRow]:
    endorsements = (
        select(Endorsement.proposal_id, func.count().label("n"))
        .group_by(Endorsement.proposal_id)
        .subquery()
    )
    query = (
        select(Proposal, District.name, Category.name, func.coalesce(endorsements.c.n, 0))
        .outerjoin(District, District.id == Proposal.district_id)
        .outerjoin(Category, Category.id == Proposal.category_id)
        .outerjoin(endorsements, endorsements.c.proposal_id == Proposal.id)
        .where(Proposal.round_id == round_id)
        .order_by(Proposal.id.desc())
    )
    if f.district == "citywide":
        query = query.where(Proposal.district_id.is_(None))
    elif f.district.isdigit():
        query = query.where(Proposal.district_id == int(f.district))
    if f.category is not None:
        query = query.where(Proposal.category_id == f.category)
    if f.status is not None:
        query = query.where(Proposal.status == f.status)
    terms = f.q.strip().lower().split()[:8]
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(Proposal.title).like(pattern, escape="\\"),
                func.lower(Proposal.summary).like(pattern, escape="\\"),
                func.lower(Proposal.description).like(pattern, escape="\\"),
                func.lower(Proposal.place).like(pattern, escape="\\"),
            )
        )
    return [
        ProposalRow(
            p.id,
            p.title,
            p.summary,
            p.status,
            p.feasible_cost if p.feasible_cost is not None else p.estimated_cost,
            dname,
            cname,
            int(n),
        )
        for p, dname, cname, n in session.execute(query.limit(500))
    ]


@dataclass(frozen=True)
class CommentView:
    id: int
    author: str
    body: str
    created_at: dt.datetime
    hidden: bool
    hidden_reason: str | None


@dataclass(frozen=True)
class ProposalPage:
    proposal: Proposal
    round: Round
    phase: Phase
    author: str
    district: str | None
    category: str | None
    merged_into: Proposal | None
    comments: list[CommentView]
    endorsements: int
    endorsed: bool
    can_edit: bool


def page(session: Session, proposal_id: int, viewer_id: int | None, today: dt.date) -> ProposalPage:
    p = get(session, proposal_id)
    rnd = get_round(session, p.round_id)
    phase = effective_phase(rnd, today)
    if phase is Phase.DRAFT:
        raise NotFound(f"proposal {proposal_id}")
    author = session.scalar(select(User.display_name).where(User.id == p.author_id)) or "—"
    district = session.scalar(select(District.name).where(District.id == p.district_id))
    category = session.scalar(select(Category.name).where(Category.id == p.category_id))
    merged = session.get(Proposal, p.merged_into_id) if p.merged_into_id else None
    comments = [
        CommentView(
            c.id, name or "—", c.body, c.created_at, c.hidden_at is not None, c.hidden_reason
        )
        for c, name in session.execute(
            select(Comment, User.display_name)
            .outerjoin(User, User.id == Comment.author_id)
            .where(Comment.proposal_id == p.id)
            .order_by(Comment.id)
        )
    ]
    count = (
        session.scalar(
            select(func.count()).select_from(Endorsement).where(Endorsement.proposal_id == p.id)
        )
        or 0
    )
    endorsed = (
        viewer_id is not None
        and session.scalar(
            select(Endorsement.id).where(
                Endorsement.proposal_id == p.id, Endorsement.user_id == viewer_id
            )
        )
        is not None
    )
    return ProposalPage(
        p,
        rnd,
        phase,
        author,
        district,
        category,
        merged,
        comments,
        count,
        endorsed,
        can_edit(p, rnd, viewer_id, today),
    )


def _open_for_discussion(session: Session, p: Proposal, today: dt.date) -> None:
    phase = effective_phase(get_round(session, p.round_id), today)
    if phase not in (Phase.PROPOSALS, Phase.REVIEW, Phase.VOTING):
        raise ValidationError({"": _("Discussion of this round is closed.")})


def endorse(session: Session, user_id: int, proposal_id: int, today: dt.date) -> None:
    """Endorse once; endorsing again changes nothing (the unique constraint guarantees it)."""
    p = get(session, proposal_id)
    _open_for_discussion(session, p, today)
    exists = session.scalar(
        select(Endorsement.id).where(
            Endorsement.proposal_id == p.id, Endorsement.user_id == user_id
        )
    )
    if exists is None:
        try:
            # A savepoint: if a simultaneous request got there first, keep its endorsement.
            with session.begin_nested():
                session.add(Endorsement(proposal_id=p.id, user_id=user_id, created_at=clock.now()))
        except IntegrityError:
            pass


def add_comment(
    session: Session, user_id: int, proposal_id: int, body: str, today: dt.date
) -> Comment:
    p = get(session, proposal_id)
    _open_for_discussion(session, p, today)
    text = body.strip()
    if not text:
        raise ValidationError({"body": _("Write a comment first.")})
    if len(text) > 2_000:
        raise ValidationError({"body": _("Use at most %(n)s characters.", n=2_000)})
    comment = Comment(proposal_id=p.id, author_id=user_id, body=text, created_at=clock.now())
    session.add(comment)
    session.flush()
    return comment


def hide_comment(session: Session, staff_id: int, comment_id: int, reason: str) -> int:
    """Hide a comment with a public reason; returns its proposal's id."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"comment {comment_id}")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for hiding the comment.")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("Use at most %(n)s characters.", n=500)})
    audit.record(
        session,
        staff_id,
        "comment.hide",
        f"comment:{comment.id}",
        before={"body": comment.body},
        after={"hidden_reason": reason},
    )
    comment.hidden_at = clock.now()
    comment.hidden_reason = reason
    return comment.proposal_id


# --- review (staff) ---------------------------------------------------------------------------


def _state(p: Proposal) -> dict[str, Any]:
    return {
        "status": p.status.value,
        "feasible_cost": p.feasible_cost,
        "reject_reason": p.reject_reason,
        "merged_into": p.merged_into_id,
        "district_id": p.district_id,
        "category_id": p.category_id,
    }


def _reviewable(session: Session, proposal_id: int, today: dt.date) -> tuple[Proposal, Round]:
    p = get(session, proposal_id)
    rnd = get_round(session, p.round_id)
    if effective_phase(rnd, today) not in (Phase.PROPOSALS, Phase.REVIEW):
        raise ValidationError({"": _("Voting has opened: the projects on the ballot are locked.")})
    return p, rnd


def review(
    session: Session,
    staff_id: int,
    proposal_id: int,
    action: str,
    values: dict[str, Any],
    today: dt.date,
) -> Proposal:
    """Apply one review action: accept, reject, merge or reassign. Audited."""
    p, rnd = _reviewable(session, proposal_id, today)
    before = _state(p)
    if action == "accept":
        cost = values.get("feasible_cost")
        if not isinstance(cost, int) or cost <= 0:
            raise ValidationError({"feasible_cost": _("Enter the feasible cost.")})
        p.status, p.feasible_cost, p.reject_reason, p.merged_into_id = (
            ProposalStatus.ACCEPTED,
            cost,
            None,
            None,
        )
    elif action == "reject":
        reason = str(values.get("reason", "")).strip()
        if not reason:
            raise ValidationError({"reason": _("Give the public reason for rejecting it.")})
        if len(reason) > 2_000:
            raise ValidationError({"reason": _("Use at most %(n)s characters.", n=2_000)})
        p.status, p.reject_reason, p.feasible_cost, p.merged_into_id = (
            ProposalStatus.REJECTED,
            reason,
            None,
            None,
        )
    elif action == "merge":
        target_id = values.get("into")
        target = session.get(Proposal, target_id) if isinstance(target_id, int) else None
        if target is None or target.round_id != p.round_id or target.id == p.id:
            raise ValidationError({"into": _("Choose another proposal of this round.")})
        if target.status is ProposalStatus.MERGED:
            raise ValidationError(
                {"into": _("That proposal was itself merged; choose the kept one.")}
            )
        p.status, p.merged_into_id, p.feasible_cost = ProposalStatus.MERGED, target.id, None
    elif action == "reassign":
        data = ProposalInput(
            p.title,
            p.summary,
            p.description,
            p.need,
            p.beneficiaries,
            p.partners,
            p.place,
            p.estimated_cost,
            values.get("district_id"),
            values.get("category_id"),
        )
        errors = {
            k: v
            for k, v in validate(session, rnd, data).items()
            if k in ("district_id", "category_id")
        }
        if errors:
            raise ValidationError(errors)
        p.district_id, p.category_id = data.district_id, data.category_id
    else:
        raise ValidationError({"": _("Unknown review action.")})
    p.updated_at = clock.now()
    audit.record(session, staff_id, f"proposal.{action}", f"proposal:{p.id}", before, _state(p))
    return p


def merge_targets(session: Session, round_id: int, exclude: int) -> list[tuple[int, str]]:
    return list(
        session.execute(
            select(Proposal.id, Proposal.title)
            .where(
                Proposal.round_id == round_id,
                Proposal.id != exclude,
                Proposal.status != ProposalStatus.MERGED,
            )
            .order_by(Proposal.id)
        ).all()
    )
