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
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import Forbidden, NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.models import (
    ACTIVE_PLEDGE_STATES,
    Campaign,
    CampaignState,
    CampaignTotals,
    Eligibility,
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
    row = session.connection().execute(_EXISTING, {"key": key}).first()
    if row is None:
        return None
    if row.user_id != user_id or row.campaign_id != campaign_id:
        raise ValidationError({"": _("This form was already used. Reload the page and try again.")})
    return PledgeOutcome(row.id, created=False)


_pledge = cast(Table, Pledge.__table__)
_event = cast(Table, PledgeEvent.__table__)
_totals = cast(Table, CampaignTotals.__table__)
_EXISTING = select(_pledge.c.id, _pledge.c.user_id, _pledge.c.campaign_id).where(
    _pledge.c.idempotency_key == bindparam("key")
)
_INSERT = {
    "postgresql": postgresql_insert(_pledge)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(_pledge.c.id),
    "sqlite": sqlite_insert(_pledge)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(_pledge.c.id),
}


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

    Transaction: the caller's. The unique idempotency key makes a second pledge with the same
    key impossible, whatever the concurrency: that request returns the pledge already made
    (``created=False``) without changing anything. The campaign's totals row is updated in the
    same transaction, and the call's rules are locked if this is the first write since pledging
    opened. Refuses (``ValidationError``) outside the window, for an amount not above 0, or a
    key already used for another campaign or account. See :func:`make_pledges`."""
    request = PledgeRequest(
        user_id, campaign_id, amount, public_name, idempotency_key, eligible, today
    )
    (outcome,) = make_pledges(session, [request])
    if isinstance(outcome, PbError):
        raise outcome
    return outcome


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


def _refusal(r: PledgeRequest, open_state: Any) -> PbError | None:
    """Why the pledge cannot be made, without the database (``open_state``: the campaign's
    state and its call's window, or None if there is no such campaign)."""
    try:
        _check_amount(r.amount)
        _clean_name(r.public_name)
    except ValidationError as exc:
        return exc
    if open_state is None:
        return NotFound(f"campaign {r.campaign_id}")
    if not open_state.pledging_from <= r.today <= open_state.pledging_until:
        return ValidationError({"": _("Pledging is not open for this campaign.")})
    if open_state.state is not CampaignState.OPEN:
        return ValidationError({"": _("This campaign no longer takes pledges.")})
    return None


def make_pledges(session: Session, requests: list[PledgeRequest]) -> list[PledgeOutcome | PbError]:
    """Make several pledges in the session's transaction (a group commit: see
    :class:`pb.db.WriteBatcher`); returns, in order, each one's outcome or why it was refused.

    Each pledge is checked first (amount, name, the campaign open, its call in its pledging
    window: one query for the batch); a refused one writes nothing. A form sent again (its key
    already made a pledge) answers that pledge, even once the window has closed. The pledge
    rows are inserted with ``ON CONFLICT (idempotency_key) DO NOTHING``, in key order: the
    unique key decides under any concurrency (a concurrent insert of the same key waits for the
    other transaction, then finds its pledge), and two batches never wait for each other's keys
    in a cycle. Then, campaign by campaign in id order (so concurrent batches take the totals
    rows in one order), the totals row is locked, the residents' active pledges are summed
    (after the lock, so two pledges of one resident to one campaign never both count as a new
    backer), and the row is updated once. Statements go through SQLAlchemy Core: no ORM work."""
    outcomes: list[PledgeOutcome | PbError | None] = [None] * len(requests)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    campaign_ids = sorted({r.campaign_id for r in requests})
    states = {
        row.id: row
        for row in conn.execute(
            select(
                Campaign.id,
                Campaign.call_id,
                Campaign.state,
                FundingCall.pledging_from,
                FundingCall.pledging_until,
                FundingCall.config_sha256,
            )
            .join(FundingCall, FundingCall.id == Campaign.call_id)
            .where(Campaign.id.in_(campaign_ids))
        )
    }
    insert_pledge = _INSERT[conn.dialect.name]
    now = clock.now()
    made: list[tuple[int, int]] = []  # (request index, pledge id)
    for n in sorted(range(len(requests)), key=lambda n: requests[n].idempotency_key):
        r = requests[n]
        if not 8 <= len(r.idempotency_key) <= 64:
            outcomes[n] = ValidationError(
                {"": _("This form has expired. Reload the page and try again.")}
            )
            continue
        try:
            refusal = _refusal(r, states.get(r.campaign_id))
            if refusal is not None:
                outcomes[n] = _existing(session, r.user_id, r.campaign_id, r.idempotency_key)
                if outcomes[n] is None:
                    outcomes[n] = refusal
                continue
            pledge_id = conn.execute(
                insert_pledge,
                {
                    "campaign_id": r.campaign_id,
                    "user_id": r.user_id,
                    "amount": r.amount,
                    "public_name": _clean_name(r.public_name),
                    "idempotency_key": r.idempotency_key,
                    "state": PledgeState.PLEDGED,
                    "eligible": r.eligible,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar()
            if pledge_id is None:  # the key made a pledge already (in this batch or before)
                outcomes[n] = _existing(session, r.user_id, r.campaign_id, r.idempotency_key)
                assert outcomes[n] is not None
                continue
        except PbError as exc:
            outcomes[n] = exc
            continue
        outcomes[n] = PledgeOutcome(pledge_id, created=True)
        made.append((n, pledge_id))
    if made:
        conn.execute(
            insert(_event),
            [
                {
                    "pledge_id": p,
                    "at": now,
                    "kind": "pledged",
                    "detail": {"amount": requests[n].amount},
                }
                for n, p in made
            ],
        )
        _add_to_totals(conn, postgres, [requests[n] for n, _p in made])
        unlocked = {states[requests[n].campaign_id] for n, _p in made}
        for call_id in sorted({s.call_id for s in unlocked if s.config_sha256 is None}):
            calls.lock(session, calls.get_call(session, call_id))
    return [o for o in outcomes if o is not None]


_LOCK_TOTALS = (
    select(_totals.c.campaign_id)
    .where(_totals.c.campaign_id.in_(bindparam("ids", expanding=True)))
    .order_by(_totals.c.campaign_id)
    .with_for_update(key_share=True, of=_totals)
)
_ADD_TOTALS = (
    update(_totals)
    .where(_totals.c.campaign_id == bindparam("c"))
    .values(
        raised=_totals.c.raised + bindparam("d_raised"),
        backers=_totals.c.backers + bindparam("d_backers"),
        match_backers=_totals.c.match_backers + bindparam("d_match_backers"),
        match_total=_totals.c.match_total + bindparam("d_match_total"),
        match_sum_sqrt=_totals.c.match_sum_sqrt + bindparam("d_match_sum_sqrt"),
    )
)


def _add_to_totals(conn: Connection, postgres: bool, made: list[PledgeRequest]) -> None:
    """Add new pledges (already inserted in this transaction) to their campaigns' totals."""
    campaign_ids = sorted({r.campaign_id for r in made})
    if postgres:  # SQLite: the transaction holds the database's write lock already
        conn.execute(_LOCK_TOTALS, {"ids": campaign_ids}).all()
    added: dict[tuple[int, int], list[int]] = {}  # (campaign, resident): [all, eligible]
    for r in made:
        sums = added.setdefault((r.campaign_id, r.user_id), [0, 0])
        sums[0] += r.amount
        sums[1] += r.amount if r.eligible else 0
    user_ids = sorted({r.user_id for r in made})
    after = {
        (c, u): (int(a), int(e))
        for c, u, a, e in conn.execute(
            select(
                _pledge.c.campaign_id,
                _pledge.c.user_id,
                func.sum(_pledge.c.amount),
                func.sum(case((_pledge.c.eligible.is_(True), _pledge.c.amount), else_=0)),
            )
            .where(
                _pledge.c.campaign_id.in_(campaign_ids),
                _pledge.c.user_id.in_(user_ids),
                _pledge.c.state.in_(ACTIVE_PLEDGE_STATES),
            )
            .group_by(_pledge.c.campaign_id, _pledge.c.user_id)
        )
    }
    deltas = {
        c: {
            "c": c,
            "d_raised": 0,
            "d_backers": 0,
            "d_match_backers": 0,
            "d_match_total": 0,
            "d_match_sum_sqrt": 0.0,
        }
        for c in campaign_ids
    }
    for (c, u), (add_all, add_eligible) in sorted(added.items()):
        after_all, after_eligible = after[c, u]
        d = deltas[c]
        d["d_raised"] += add_all
        d["d_backers"] += int(after_all > 0) - int(after_all - add_all > 0)
        if add_eligible:
            before = after_eligible - add_eligible
            d["d_match_backers"] += int(after_eligible > 0) - int(before > 0)
            d["d_match_total"] += add_eligible
            d["d_match_sum_sqrt"] += math.sqrt(after_eligible) - math.sqrt(max(before, 0))
    conn.execute(_ADD_TOTALS, [deltas[c] for c in campaign_ids])


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
        move_totals(session, pledge.campaign_id, user_id, pledge.eligible, delta)


def cancel_pledge(session: Session, user_id: int, pledge_id: int, today: dt.date) -> None:
    """Cancel one's own pledge while pledging is open (recorded in the audit log)."""
    pledge = _own_pledge(session, user_id, pledge_id)
    _changeable(session, pledge, today)
    pledge.state = PledgeState.CANCELLED
    pledge.updated_at = clock.now()
    session.add(
        PledgeEvent(pledge_id=pledge.id, at=pledge.updated_at, kind="cancelled", detail=None)
    )
    move_totals(session, pledge.campaign_id, user_id, pledge.eligible, -pledge.amount)
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


def move_totals(
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


@dataclass(frozen=True)
class CallFacts:
    """What pledging and the estimate read of a campaign's call. Once the call is locked they
    never change (edits are refused), so a process may keep them: :class:`CallFactsCache`."""

    campaign_id: int
    call_id: int
    currency: str
    eligibility: Eligibility
    round_id: int | None
    rule: MatchingRule
    pool: int
    pledging_from: dt.date
    pledging_until: dt.date
    collection_until: dt.date
    locked: bool

    def phase(self, today: dt.date) -> calls.CallPhase:
        if today < self.pledging_from:
            return calls.CallPhase.DRAFT
        if today <= self.pledging_until:
            return calls.CallPhase.PLEDGING
        if today <= self.collection_until:
            return calls.CallPhase.COLLECTING
        return calls.CallPhase.CLOSED


_FACTS = (
    select(
        FundingCall.id,
        FundingCall.currency,
        FundingCall.eligibility,
        FundingCall.round_id,
        FundingCall.rule,
        FundingCall.pool,
        FundingCall.pledging_from,
        FundingCall.pledging_until,
        FundingCall.collection_until,
        FundingCall.config_sha256,
    )
    .join(Campaign, Campaign.call_id == FundingCall.id)
    .where(Campaign.id == bindparam("campaign_id"))
)


def call_facts(session: Session, campaign_id: int) -> CallFacts:
    row = session.connection().execute(_FACTS, {"campaign_id": campaign_id}).first()
    if row is None:
        raise NotFound(f"campaign {campaign_id}")
    return CallFacts(
        campaign_id=campaign_id,
        call_id=row.id,
        currency=row.currency,
        eligibility=row.eligibility,
        round_id=row.round_id,
        rule=MatchingRule.from_json_dict(row.rule),
        pool=row.pool,
        pledging_from=row.pledging_from,
        pledging_until=row.pledging_until,
        collection_until=row.collection_until,
        locked=row.config_sha256 is not None,
    )


class CallFactsCache:
    """The :class:`CallFacts` of campaigns whose call is locked, kept by one process (the web
    app keeps one), so that a pledge or an estimate does not read them again."""

    def __init__(self) -> None:
        self._facts: dict[int, CallFacts] = {}

    def get(self, campaign_id: int) -> CallFacts | None:
        return self._facts.get(campaign_id)

    def keep(self, facts: CallFacts) -> None:
        if facts.locked:
            self._facts[facts.campaign_id] = facts


def _estimate_query(rule: MatchingRule, with_resident: bool) -> Select[Any]:
    """The call's per-campaign aggregates, each row with the resident's current eligible
    pledges (to this campaign for quadratic funding, to the call for capped 1:1)."""
    columns: list[Any] = [
        _totals.c.campaign_id,
        _totals.c.match_backers,
        _totals.c.match_total,
        _totals.c.match_sum_sqrt,
    ]
    if with_resident:
        mine = select(func.coalesce(func.sum(_pledge.c.amount), 0)).where(
            _pledge.c.user_id == bindparam("user_id"),
            _pledge.c.state.in_(ACTIVE_PLEDGE_STATES),
            _pledge.c.eligible.is_(True),
        )
        if rule.kind == "quadratic":
            mine = mine.where(_pledge.c.campaign_id == bindparam("campaign_id"))
        else:
            mine = mine.where(
                _pledge.c.campaign_id.in_(
                    select(Campaign.id).where(Campaign.call_id == bindparam("call_id"))
                )
            )
        columns.append(mine.scalar_subquery())
    return (
        select(*columns)
        .join(Campaign, Campaign.id == _totals.c.campaign_id)
        .where(Campaign.call_id == bindparam("call_id"))
    )


_ESTIMATES = {
    (kind, with_resident): _estimate_query(MatchingRule(kind), with_resident)
    for kind in ("quadratic", "capped")
    for with_resident in (False, True)
}


def estimate_for(
    session: Session, facts: CallFacts, user_id: int | None, amount: int, eligible: bool
) -> int:
    """About how much more match the campaign gets if this resident pledges ``amount`` more
    (0 when their pledges do not count for matching), from the call's maintained totals and
    the resident's pledges, in one query."""
    if not eligible or amount <= 0:
        return 0
    params = {"call_id": facts.call_id, "campaign_id": facts.campaign_id, "user_id": user_id}
    rows = (
        session.connection().execute(_ESTIMATES[facts.rule.kind, user_id is not None], params).all()
    )
    aggregates = {row[0]: ProjectAggregate(row[1], row[2], row[3]) for row in rows}
    current = int(rows[0][4]) if user_id is not None and rows else 0
    total_raw = sum(raw_estimate(facts.rule, a) for a in aggregates.values())
    aggregate = aggregates.get(facts.campaign_id, ProjectAggregate(0, 0, 0.0))
    return marginal_estimate(facts.rule, aggregate, current, amount, facts.pool, total_raw)


def estimate(
    session: Session, campaign_id: int, user_id: int | None, amount: int, eligible: bool
) -> int:
    """:func:`estimate_for` a campaign given by its id."""
    if not eligible or amount <= 0:
        return 0
    return estimate_for(session, call_facts(session, campaign_id), user_id, amount, eligible)


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
