"""Funding calls: configuration, validation, phases, and the lock when pledging opens.

A call's rules (pool, matching rule, dates, eligibility, receiving account and its campaigns
with their goals and cost lines) lock on the day pledging opens, as a round's do when voting
opens: the canonical JSON and its SHA-256 are stored by the first pledge (or any later write),
and every later change is refused and recorded in the audit log.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any, cast

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from pb import clock
from pb.audit import canonical_bytes, config_sha256
from pb.errors import NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.models import Campaign, CostItem, Eligibility, FundingCall, Round
from pb.services import audit
from pb.tally.funding import MatchingRule

MAX_POOL = 10**13  # minor units: far beyond any town's matching pool


class CallLocked(PbError):
    """The call's rules are locked because pledging has opened."""


class CallPhase(enum.StrEnum):
    DRAFT = "draft"  # before pledging opens
    PLEDGING = "pledging"
    COLLECTING = "collecting"  # pledging closed, payments still counted
    CLOSED = "closed"  # after the collection deadline


@dataclass
class CallInput:
    """A call's configuration as plain values (money in minor units)."""

    title: str
    description: str
    currency: str
    pool: int
    rule: MatchingRule
    pledging_from: dt.date
    pledging_until: dt.date
    collection_until: dt.date
    eligibility: Eligibility
    iban: str
    bic: str
    creditor_name: str
    round_id: int | None = None


def phase(call: FundingCall, today: dt.date) -> CallPhase:
    if today < call.pledging_from:
        return CallPhase.DRAFT
    if today <= call.pledging_until:
        return CallPhase.PLEDGING
    if today <= call.collection_until:
        return CallPhase.COLLECTING
    return CallPhase.CLOSED


def is_locked(call: FundingCall, today: dt.date) -> bool:
    return call.config_sha256 is not None or phase(call, today) is not CallPhase.DRAFT


def compact_iban(text: str) -> str:
    return "".join(text.split()).upper()


def validate(session: Session, data: CallInput) -> dict[str, str]:
    """Every incoherence in a configuration, as messages keyed by form field."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the call a title.")
    elif len(data.title) > 200:
        errors["title"] = _("Use at most %(n)s characters.", n=200)
    if len(data.description) > 20_000:
        errors["description"] = _("Use at most %(n)s characters.", n=20_000)
    if not re.fullmatch(r"[A-Z]{3}", data.currency):
        errors["currency"] = _("Use a three-letter currency code such as EUR.")
    if not 0 <= data.pool <= MAX_POOL:
        errors["pool"] = _("The matching pool cannot be negative.")
    for name in ("per_pledge_cap", "per_resident_cap", "per_project_cap"):
        cap = getattr(data.rule, name)
        if cap is not None and cap <= 0:
            errors[name] = _("A cap must be more than 0, or left empty for no cap.")
    if not data.pledging_from <= data.pledging_until:
        errors["pledging_until"] = _("Pledging must end on or after the day it opens.")
    if not data.pledging_until <= data.collection_until:
        errors["collection_until"] = _("Collection must end on or after the last day of pledging.")
    rnd = session.get(Round, data.round_id) if data.round_id is not None else None
    if data.round_id is not None and rnd is None:
        errors["round_id"] = _("Unknown round.")
    if data.eligibility is not Eligibility.ACCOUNT and (
        rnd is None or rnd.eligibility is not data.eligibility
    ):
        errors["eligibility"] = _(
            "A census list or access codes can only be used by a call that belongs to a round "
            "that has them."
        )
    if rnd is not None and rnd.currency != data.currency:
        errors["currency"] = _("Use the round's currency (%(currency)s).", currency=rnd.currency)
    try:
        iban = IBAN(compact_iban(data.iban))
    except SchwiftyException:
        errors["iban"] = _("This IBAN is not valid. Check it against the bank's details.")
    else:
        if data.bic.strip():
            try:
                bic = BIC("".join(data.bic.split()).upper())
            except SchwiftyException:
                errors["bic"] = _("This BIC is not valid.")
            else:
                if bic.country_code != iban.country_code:
                    errors["bic"] = _("The BIC is of another country than the IBAN.")
    if not data.creditor_name.strip():
        errors["creditor_name"] = _("Give the account holder's name, as the bank knows it.")
    elif len(data.creditor_name.strip()) > 70:
        errors["creditor_name"] = _("Use at most %(n)s characters.", n=70)
    return errors


def snapshot(call: FundingCall) -> dict[str, Any]:
    """The configuration as a plain dict, for the audit log's before/after."""
    out: dict[str, Any] = {
        c: getattr(call, c)
        for c in (
            "round_id",
            "title",
            "description",
            "currency",
            "pool",
            "rule",
            "iban",
            "bic",
            "creditor_name",
        )
    }
    for c in ("pledging_from", "pledging_until", "collection_until"):
        out[c] = getattr(call, c).isoformat()
    out["eligibility"] = call.eligibility.value
    return out


def _apply(call: FundingCall, data: CallInput) -> None:
    call.round_id = data.round_id
    call.title = data.title.strip()
    call.description = data.description
    call.currency = data.currency
    call.pool = data.pool
    call.rule = data.rule.to_json_dict()
    call.pledging_from = data.pledging_from
    call.pledging_until = data.pledging_until
    call.collection_until = data.collection_until
    call.eligibility = data.eligibility
    call.iban = compact_iban(data.iban)
    call.bic = "".join(data.bic.split()).upper()
    call.creditor_name = data.creditor_name.strip()


def create_call(session: Session, actor_id: int | None, data: CallInput) -> FundingCall:
    errors = validate(session, data)
    if errors:
        raise ValidationError(errors)
    call = FundingCall(created_at=clock.now())
    _apply(call, data)
    session.add(call)
    session.flush()
    audit.record(session, actor_id, "call.create", f"call:{call.id}", after=snapshot(call))
    return call


def get_call(session: Session, call_id: int) -> FundingCall:
    call = session.get(FundingCall, call_id)
    if call is None:
        raise NotFound(f"funding call {call_id}")
    return call


def check_unlocked(session: Session, call: FundingCall, today: dt.date) -> None:
    """Raise :class:`CallLocked` once pledging has opened (storing the lock if not yet done)."""
    if is_locked(call, today):
        raise CallLocked(call.id)


def update_call(
    session: Session, actor_id: int, call_id: int, data: CallInput, today: dt.date
) -> FundingCall:
    call = get_call(session, call_id)
    check_unlocked(session, call, today)
    errors = validate(session, data)
    if errors:
        raise ValidationError(errors)
    before = snapshot(call)
    _apply(call, data)
    after = snapshot(call)
    if before != after:
        audit.record(session, actor_id, "call.update", f"call:{call.id}", before, after)
    return call


def record_refused_change(
    session: Session, actor_id: int, call_id: int, action: str, attempted: dict[str, Any]
) -> None:
    """Log an attempt to change a locked call (in its own transaction, so it survives)."""
    audit.record(
        session,
        actor_id,
        "call.change_refused",
        f"call:{call_id}",
        before={"action": action},
        after=attempted,
    )


def call_input(call: FundingCall) -> CallInput:
    return CallInput(
        title=call.title,
        description=call.description,
        currency=call.currency,
        pool=call.pool,
        rule=MatchingRule.from_json_dict(call.rule),
        pledging_from=call.pledging_from,
        pledging_until=call.pledging_until,
        collection_until=call.collection_until,
        eligibility=call.eligibility,
        iban=call.iban,
        bic=call.bic,
        creditor_name=call.creditor_name,
        round_id=call.round_id,
    )


def goal(campaign: Campaign) -> int:
    """What a campaign aims for: its optimum, or its minimum when it has none."""
    return campaign.optimum if campaign.optimum is not None else campaign.minimum


def canonical_config(session: Session, call: FundingCall) -> dict[str, Any]:
    """The rules that lock (docs/funding.md): everything the match depends on."""
    campaigns = list(
        session.scalars(select(Campaign).where(Campaign.call_id == call.id).order_by(Campaign.id))
    )
    items: dict[int, list[dict[str, Any]]] = {}
    for item in session.scalars(
        select(CostItem)
        .join(Campaign, Campaign.id == CostItem.campaign_id)
        .where(Campaign.call_id == call.id)
        .order_by(CostItem.campaign_id, CostItem.position, CostItem.id)
    ):
        items.setdefault(item.campaign_id, []).append({"label": item.label, "amount": item.amount})
    return {
        "format": "pb-funding-call/1",
        "call_id": str(call.id),
        "round_id": None if call.round_id is None else str(call.round_id),
        "title": call.title,
        "currency": call.currency,
        "pool": call.pool,
        "rule": MatchingRule.from_json_dict(call.rule).to_json_dict(),
        "pledging_from": call.pledging_from.isoformat(),
        "pledging_until": call.pledging_until.isoformat(),
        "collection_until": call.collection_until.isoformat(),
        "eligibility": call.eligibility.value,
        "account": {"iban": call.iban, "bic": call.bic, "creditor_name": call.creditor_name},
        "projects": [
            {
                "id": str(c.id),
                "title": c.title,
                "proposal_id": None if c.proposal_id is None else str(c.proposal_id),
                "minimum": c.minimum,
                "optimum": c.optimum,
                "goal": goal(c),
                "costs": items.get(c.id, []),
            }
            for c in campaigns
        ],
    }


def lock(session: Session, call: FundingCall) -> str:
    """Freeze the rules (idempotent, also when two first pledges race) and return the SHA-256.

    The conditional UPDATE stores the lock once; a concurrent locker sees zero rows changed and
    reads the stored value (the same, since nothing can change the rules any more)."""
    if call.config_sha256 is not None:
        return call.config_sha256
    config = canonical_config(session, call)
    digest = config_sha256(config)
    stored = cast(
        CursorResult[Any],
        session.execute(
            update(FundingCall)
            .where(FundingCall.id == call.id, FundingCall.config_sha256.is_(None))
            .values(
                locked_config=canonical_bytes(config).decode(),
                config_sha256=digest,
                locked_at=clock.now(),
            )
            .execution_options(synchronize_session=False)
        ),
    )
    session.expire(call, ["locked_config", "config_sha256", "locked_at"])
    if stored.rowcount == 1:
        audit.record(session, None, "call.lock", f"call:{call.id}", after={"config_sha256": digest})
    return digest


def fingerprint(session: Session, call: FundingCall, today: dt.date) -> str | None:
    """The locked rules' SHA-256 once pledging has opened (computed if not yet stored)."""
    if call.config_sha256 is not None:
        return call.config_sha256
    if not is_locked(call, today):
        return None
    return config_sha256(canonical_config(session, call))


@dataclass(frozen=True)
class CallSummary:
    id: int
    title: str
    phase: CallPhase
    currency: str
    pool: int
    pledging_from: dt.date
    pledging_until: dt.date
    round_id: int | None


def list_calls(session: Session, today: dt.date, include_drafts: bool) -> list[CallSummary]:
    out = []
    calls = session.scalars(
        select(FundingCall).order_by(FundingCall.pledging_from.desc(), FundingCall.id.desc())
    )
    for c in calls:
        p = phase(c, today)
        if p is CallPhase.DRAFT and not include_drafts:
            continue
        out.append(
            CallSummary(
                c.id, c.title, p, c.currency, c.pool, c.pledging_from, c.pledging_until, c.round_id
            )
        )
    return out


def calls_of_round(session: Session, round_id: int) -> list[FundingCall]:
    return list(
        session.scalars(
            select(FundingCall).where(FundingCall.round_id == round_id).order_by(FundingCall.id)
        )
    )
