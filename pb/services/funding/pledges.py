"""Money pledges: made once per idempotency key, changed or cancelled while pledging is open.

Every change to a campaign's active pledges updates its :class:`CampaignTotals` row in the same
transaction, so the campaign pages and the live match estimate read one row instead of
recounting the pledges.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    ACTIVE_PLEDGE_STATES,
    Campaign,
    CampaignState,
    CampaignTotals,
    FundingCall,
    Pledge,
    PledgeEvent,
    PledgeState,
)
from pb.services import audit
from pb.services.funding import calls
from pb.services.money import MAX_AMOUNT_MINOR
from pb.tally.funding import MatchingRule, ProjectAggregate, marginal_estimate, raw_estimate

MAX_PUBLIC_NAME = 80


def new_idempotency_key() -> str:
    """A fresh key for a pledge form (128 random bits)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class PledgeOutcome:
    pledge_id: int
    created: bool  # False: the key had already made this pledge (a double tap or a resend)


def _open_campaign(
    session: Session, campaign_id: int, today: dt.date
) -> tuple[Campaign, FundingCall]:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    call = calls.get_call(session, campaign.call_id)
    if calls.phase(call, today) is not calls.CallPhase.PLEDGING:
        raise ValidationError({"": _("Pledging is not open for this campaign.")})
    if campaign.state is not CampaignState.OPEN:
        raise ValidationError({"": _("This campaign no longer takes pledges.")})
    return campaign, call


def _check_amount(amount: int) -> None:
    if not 0 < amount <= MAX_AMOUNT_MINOR:
        raise ValidationError({"amount": _("Enter an amount above 0.")})


def _clean_name(public_name: str | None) -> str | None:
    name = (public_name or "").strip()
    if len(name) > MAX_PUBLIC_NAME:
        raise ValidationError(
            {"public_name": _("Use at most %(n)s characters.", n=MAX_PUBLIC_NAME)}
        )
    return name or None


def _existing(session: Session, user_id: int, campaign_id: int, key: str) -> PledgeOutcome | None:
    row = session.execute(
        select(Pledge.id, Pledge.user_id, Pledge.campaign_id).where(Pledge.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.user_id != user_id or row.campaign_id != campaign_id:
        raise ValidationError({"": _("This form was already used. Reload the page and try again.")})
    return PledgeOutcome(row.id, created=False)


def make_pledge(
    session: Session,
    *,
    user_id: int,
    campaign_id: int,
    amount: int,
    public_name: str | None,
    idempotency_key: str,
    eligible: bool,
    today: dt.date,
) -> PledgeOutcome:
    """Pledge ``amount`` minor units to a campaign whose call is in its pledging window.

    Transaction: the caller's. The pledge row is inserted first, in a savepoint; the unique
    idempotency key makes a second insert with the same key fail, whatever the concurrency, and
    that request returns the pledge already made (``created=False``) without changing anything.
    Then the campaign's totals row is updated (on PostgreSQL this row lock orders the pledges to
    one campaign, so each sees the resident's earlier pledges) and the call's rules are locked
    if this is the first write since pledging opened. Refuses (``ValidationError``) outside the
    window, for an amount not above 0, or a key already used for another campaign or account.
    """
    if not 8 <= len(idempotency_key) <= 64:
        raise ValidationError({"": _("This form has expired. Reload the page and try again.")})
    done = _existing(session, user_id, campaign_id, idempotency_key)
    if done is not None:
        return done
    _check_amount(amount)
    name = _clean_name(public_name)
    campaign, call = _open_campaign(session, campaign_id, today)
    now = clock.now()
    pledge = Pledge(
        campaign_id=campaign.id,
        user_id=user_id,
        amount=amount,
        public_name=name,
        idempotency_key=idempotency_key,
        state=PledgeState.PLEDGED,
        eligible=eligible,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(pledge)
    except IntegrityError:
        # A simultaneous request with the same key got there first: its pledge is the one.
        done = _existing(session, user_id, campaign_id, idempotency_key)
        if done is None:
            raise
        return done
    session.add(PledgeEvent(pledge_id=pledge.id, at=now, kind="pledged", detail={"amount": amount}))
    _move_totals(session, campaign.id, user_id, eligible, amount)
    calls.lock(session, call)
    return PledgeOutcome(pledge.id, created=True)


@dataclass(frozen=True)
class PledgeRequest:
    """One pledge form, as :func:`make_pledge` takes it (for :func:`make_pledges`)."""

    user_id: int
    campaign_id: int
    amount: int
    public_name: str | None
    idempotency_key: str
    eligible: bool
    today: dt.date


def make_pledges(session: Session, requests: list[PledgeRequest]) -> list[PledgeOutcome | PbError]:
    """Make several pledges in the session's transaction (a group commit: see
    :class:`pb.db.WriteBatcher`); returns, in order, each one's outcome or why it was refused.

    Each pledge runs as :func:`make_pledge` in its own savepoint, so a refused one leaves
    nothing and the others go in. They run in campaign order, so that concurrent batches take
    the campaigns' totals rows in one order (no deadlock between them on PostgreSQL)."""
    outcomes: list[PledgeOutcome | PbError | None] = [None] * len(requests)
    for n in sorted(range(len(requests)), key=lambda n: (requests[n].campaign_id, n)):
        r = requests[n]
        try:
            with session.begin_nested():
                outcomes[n] = make_pledge(
                    session,
                    user_id=r.user_id,
                    campaign_id=r.campaign_id,
                    amount=r.amount,
                    public_name=r.public_name,
                    idempotency_key=r.idempotency_key,
                    eligible=r.eligible,
                    today=r.today,
                )
        except PbError as exc:
            outcomes[n] = exc
    return [o for o in outcomes if o is not None]


def _own_pledge(session: Session, user_id: int, pledge_id: int) -> Pledge:
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise NotFound(f"pledge {pledge_id}")
    if pledge.user_id != user_id:
        raise Forbidden(f"pledge {pledge_id}")
    return pledge


def _changeable(session: Session, pledge: Pledge, today: dt.date) -> None:
    if pledge.state is not PledgeState.PLEDGED:
        raise ValidationError({"": _("This pledge can no longer be changed.")})
    _open_campaign(session, pledge.campaign_id, today)


def change_pledge(
    session: Session,
    user_id: int,
    pledge_id: int,
    amount: int,
    public_name: str | None,
    today: dt.date,
) -> None:
    """Change the amount or public name of one's own pledge while pledging is open."""
    pledge = _own_pledge(session, user_id, pledge_id)
    _check_amount(amount)
    name = _clean_name(public_name)
    _changeable(session, pledge, today)
    before = {"amount": pledge.amount, "public_name": pledge.public_name}
    delta = amount - pledge.amount
    pledge.amount = amount
    pledge.public_name = name
    pledge.updated_at = clock.now()
    after = {"amount": amount, "public_name": name}
    if before == after:
        return
    changed = {"from": before["amount"], "to": amount} if delta else None
    kind = "changed" if delta else "renamed"  # only the name shown changed
    session.add(PledgeEvent(pledge_id=pledge.id, at=pledge.updated_at, kind=kind, detail=changed))
    if delta:
        _move_totals(session, pledge.campaign_id, user_id, pledge.eligible, delta)


def cancel_pledge(session: Session, user_id: int, pledge_id: int, today: dt.date) -> None:
    """Cancel one's own pledge while pledging is open (recorded in the audit log)."""
    pledge = _own_pledge(session, user_id, pledge_id)
    _changeable(session, pledge, today)
    pledge.state = PledgeState.CANCELLED
    pledge.updated_at = clock.now()
    session.add(
        PledgeEvent(pledge_id=pledge.id, at=pledge.updated_at, kind="cancelled", detail=None)
    )
    _move_totals(session, pledge.campaign_id, user_id, pledge.eligible, -pledge.amount)
    audit.record(
        session,
        user_id,
        "pledge.cancel",
        f"pledge:{pledge.id}",
        before={"state": PledgeState.PLEDGED.value, "amount": pledge.amount},
        after={"state": PledgeState.CANCELLED.value},
    )


def _resident_totals(session: Session, campaign_id: int, user_id: int) -> tuple[int, int]:
    """The resident's active pledges to a campaign: (all, those that count for matching)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(Pledge.amount), 0),
            func.coalesce(func.sum(case((Pledge.eligible.is_(True), Pledge.amount), else_=0)), 0),
        ).where(
            Pledge.campaign_id == campaign_id,
            Pledge.user_id == user_id,
            Pledge.state.in_(ACTIVE_PLEDGE_STATES),
        )
    ).one()
    return int(row[0]), int(row[1])


def _move_totals(
    session: Session,
    campaign_id: int,
    user_id: int,
    eligible: bool,
    delta: int,
) -> None:
    """Apply a change of ``delta`` to the resident's active pledges to a campaign (already
    written to the pledge rows in this transaction) to the campaign's totals.

    The first UPDATE takes the totals row's lock (PostgreSQL) before the resident's pledges are
    summed, so two pledges of one resident to one campaign never both count as a new backer."""
    session.flush()
    session.execute(
        update(CampaignTotals)
        .where(CampaignTotals.campaign_id == campaign_id)
        .values(raised=CampaignTotals.raised + delta)
    )
    after_all, after = _resident_totals(session, campaign_id, user_id)
    before_all = after_all - delta
    values: dict[str, Any] = {
        "backers": CampaignTotals.backers + (int(after_all > 0) - int(before_all > 0))
    }
    if eligible:
        before = after - delta
        values["match_backers"] = CampaignTotals.match_backers + (int(after > 0) - int(before > 0))
        values["match_total"] = CampaignTotals.match_total + delta
        values["match_sum_sqrt"] = CampaignTotals.match_sum_sqrt + (
            math.sqrt(after) - math.sqrt(max(before, 0))
        )
    session.execute(
        update(CampaignTotals).where(CampaignTotals.campaign_id == campaign_id).values(**values)
    )


# --- the live estimate ------------------------------------------------------------------------


def call_aggregates(session: Session, call_id: int) -> dict[int, ProjectAggregate]:
    rows = session.execute(
        select(
            CampaignTotals.campaign_id,
            CampaignTotals.match_backers,
            CampaignTotals.match_total,
            CampaignTotals.match_sum_sqrt,
        )
        .join(Campaign, Campaign.id == CampaignTotals.campaign_id)
        .where(Campaign.call_id == call_id)
    ).all()
    return {cid: ProjectAggregate(b, t, s) for cid, b, t, s in rows}


def estimate(
    session: Session, campaign_id: int, user_id: int | None, amount: int, eligible: bool
) -> int:
    """About how much more match the campaign gets if this resident pledges ``amount`` more
    (0 when their pledges do not count for matching)."""
    if not eligible or amount <= 0:
        return 0
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    call = calls.get_call(session, campaign.call_id)
    rule = MatchingRule.from_json_dict(call.rule)
    aggregates = call_aggregates(session, call.id)
    total_raw = sum(raw_estimate(rule, a) for a in aggregates.values())
    current = 0
    if user_id is not None:
        query = select(func.coalesce(func.sum(Pledge.amount), 0)).where(
            Pledge.user_id == user_id,
            Pledge.state.in_(ACTIVE_PLEDGE_STATES),
            Pledge.eligible.is_(True),
        )
        if rule.kind == "quadratic":
            query = query.where(Pledge.campaign_id == campaign_id)
        else:
            query = query.join(Campaign, Campaign.id == Pledge.campaign_id).where(
                Campaign.call_id == call.id
            )
        current = int(session.scalar(query) or 0)
    aggregate = aggregates.get(campaign_id, ProjectAggregate(0, 0, 0.0))
    return marginal_estimate(rule, aggregate, current, amount, call.pool, total_raw)


# --- "My pledges" -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PledgeEventView:
    at: dt.datetime
    kind: str
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class PledgeView:
    id: int
    campaign_id: int
    campaign_title: str
    call_id: int
    call_title: str
    currency: str
    amount: int
    public_name: str | None
    state: PledgeState
    eligible: bool
    created_at: dt.datetime
    payment_reference: str | None
    changeable: bool
    events: list[PledgeEventView]


def my_pledges(session: Session, user_id: int, today: dt.date) -> list[PledgeView]:
    rows = session.execute(
        select(Pledge, Campaign, FundingCall)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .join(FundingCall, FundingCall.id == Campaign.call_id)
        .where(Pledge.user_id == user_id)
        .order_by(Pledge.created_at.desc(), Pledge.id.desc())
    ).all()
    events: dict[int, list[PledgeEventView]] = {}
    if rows:
        for e in session.scalars(
            select(PledgeEvent)
            .where(PledgeEvent.pledge_id.in_([p.id for p, _c, _f in rows]))
            .order_by(PledgeEvent.at, PledgeEvent.id)
        ):
            events.setdefault(e.pledge_id, []).append(PledgeEventView(e.at, e.kind, e.detail))
    return [
        PledgeView(
            id=p.id,
            campaign_id=c.id,
            campaign_title=c.title,
            call_id=f.id,
            call_title=f.title,
            currency=f.currency,
            amount=p.amount,
            public_name=p.public_name,
            state=p.state,
            eligible=p.eligible,
            created_at=p.created_at,
            payment_reference=p.payment_reference,
            changeable=p.state is PledgeState.PLEDGED
            and c.state is CampaignState.OPEN
            and calls.phase(f, today) is calls.CallPhase.PLEDGING,
            events=events.get(p.id, []),
        )
        for p, c, f in rows
    ]


def own_pledge_view(session: Session, user_id: int, pledge_id: int, today: dt.date) -> PledgeView:
    for view in my_pledges(session, user_id, today):
        if view.id == pledge_id:
            return view
    raise NotFound(f"pledge {pledge_id}")


@dataclass(frozen=True)
class Backer:
    name: str | None  # None: anonymous
    amount: int


def backers(session: Session, campaign_id: int, limit: int = 50) -> list[Backer]:
    """The latest active pledges, with the name each backer chose to show (or none)."""
    rows = session.execute(
        select(Pledge.public_name, Pledge.amount)
        .where(Pledge.campaign_id == campaign_id, Pledge.state.in_(ACTIVE_PLEDGE_STATES))
        .order_by(Pledge.created_at.desc(), Pledge.id.desc())
        .limit(limit)
    ).all()
    return [Backer(n, a) for n, a in rows]
