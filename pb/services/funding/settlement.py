"""The match: computed after collection over the fulfilled pledges, reviewed as a draft,
published (then final), and the funding bundle auditors download.

**Ledger.** The fulfilled pledges of the campaigns that succeeded, one row each: the backer's
pseudonym, the project (campaign id), the amount, and whether the backer counted for matching
(decided when they pledged). A pseudonym is the HMAC-SHA-256 of the user id keyed by the
server's secret key and the call id: stable within a call (the rule adds a backer's pledges to
a project first, and caps per resident), unlinkable across calls and to the account.

**Matches.** ``pb.audit.funding.build_funding_bundle`` computes ``matches.json`` from the locked
call and the ledger with ``pb.tally.funding.compute_matches``, the very code ``pb audit``
re-runs; the draft stores those bytes, so what staff review is what is published and what an
auditor recomputes. Publishing rebuilds the bundle and refuses if the matches changed since the
draft (a payment recorded in between). The bundle is rebuilt on download, deterministically:
nothing it holds can change once published (imports, matching and payments are refused).

**On publication** the succeeded campaigns become *funded*, and the pledges still waiting for
payment are cancelled (not paid by the deadline), each in the audit log and the pledge's story.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import __version__, clock
from pb.audit import config_sha256
from pb.audit.funding import build_funding_bundle
from pb.errors import NotFound, ValidationError
from pb.i18n import format_day
from pb.i18n import gettext as _
from pb.models import (
    CallSettlement,
    Campaign,
    CampaignState,
    FundingBundle,
    FundingCall,
    Pledge,
    PledgeEvent,
    PledgeState,
)
from pb.services import audit, tracking
from pb.services.funding import calls, pledges
from pb.services.funding.closing import locked_call, settlement_of

MATCHED_STATES = (CampaignState.SUCCEEDED, CampaignState.FUNDED)


def backer_pseudonym(secret_key: str, call_id: int, user_id: int) -> str:
    """A backer's id in the call's public ledger (32 hex digits; see the module docstring)."""
    key = hashlib.sha256(f"pb-funding-backer:{secret_key}:{call_id}".encode()).digest()
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]


def bundle_call(call: FundingCall) -> dict[str, Any]:
    """The call as the bundle holds it: the fields ``pb audit`` needs, every project of the
    locked rules with its goal, and the locked rules themselves with the hash staff and
    residents saw on the call's page when pledging opened."""
    if call.locked_config is None or call.config_sha256 is None:
        raise ValidationError({"": _("The call's rules are not locked yet.")})
    locked = json.loads(call.locked_config)
    document: dict[str, Any] = {
        "call_id": str(call.id),
        "title": call.title,
        "currency": call.currency,
        "pool": call.pool,
        "rule": locked["rule"],
        "projects": [
            {"id": p["id"], "title": p["title"], "goal": p["goal"]} for p in locked["projects"]
        ],
        "locked_rules": locked,
        "locked_rules_sha256": call.config_sha256,
    }
    document["config_sha256"] = config_sha256(document)
    return document


def ledger(session: Session, call_id: int, secret_key: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Pledge.user_id, Pledge.campaign_id, Pledge.amount, Pledge.eligible)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .where(
            Campaign.call_id == call_id,
            Campaign.state.in_(MATCHED_STATES),
            Pledge.state == PledgeState.FULFILLED,
        )
        .order_by(Pledge.id)
    ).all()
    return [
        {
            "backer": backer_pseudonym(secret_key, call_id, user_id),
            "project": str(campaign_id),
            "amount": amount,
            "eligible": bool(eligible),
        }
        for user_id, campaign_id, amount, eligible in rows
    ]


def _build(session: Session, call: FundingCall, secret_key: str) -> bytes:
    return build_funding_bundle(
        bundle_call(call), ledger(session, call.id, secret_key), __version__
    )


def _matches_of(bundle: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read("matches.json").decode()


def _ready(session: Session, call: FundingCall, today: dt.date) -> None:
    settlement = settlement_of(session, call.id)
    if settlement.published_at is not None:
        raise ValidationError({"": _("The match is published and final.")})
    if settlement.closed_at is None:
        raise ValidationError({"": _("Close pledging first: payments are asked for then.")})
    if calls.phase(call, today) is not calls.CallPhase.CLOSED:
        raise ValidationError(
            {
                "": _(
                    "Payments are counted until %(day)s. Compute the match after that day.",
                    day=format_day(call.collection_until),
                )
            }
        )


def compute_draft(
    session: Session, actor_id: int | None, call_id: int, today: dt.date, secret_key: str
) -> None:
    """Compute the match over the fulfilled pledges as a draft for staff to review. Can be
    re-run until published; the same payments always give the same bytes."""
    call = locked_call(session, call_id)
    _ready(session, call, today)
    bundle = _build(session, call, secret_key)
    settlement = settlement_of(session, call_id)
    settlement.matches = _matches_of(bundle)
    settlement.ledger_sha256 = hashlib.sha256(bundle).hexdigest()
    settlement.computed_at = clock.now()
    document = json.loads(settlement.matches)
    audit.record(
        session,
        actor_id,
        "call.match_draft",
        f"call:{call_id}",
        after={"matched": document["matched"], "bundle_sha256": settlement.ledger_sha256},
    )


def publish(
    session: Session, actor_id: int | None, call_id: int, today: dt.date, secret_key: str
) -> None:
    """Publish the reviewed draft (final). Refused when there is no draft or when the payments
    changed since it was computed."""
    call = locked_call(session, call_id)
    _ready(session, call, today)
    settlement = settlement_of(session, call_id)
    if settlement.matches is None:
        raise ValidationError({"": _("Compute the match before publishing it.")})
    bundle = _build(session, call, secret_key)
    if _matches_of(bundle) != settlement.matches:
        raise ValidationError(
            {"": _("Payments changed after the draft. Compute again, review, then publish.")}
        )
    now = clock.now()
    settlement.published_at, settlement.published_by = now, actor_id
    settlement.bundle_sha256 = hashlib.sha256(bundle).hexdigest()
    session.add(FundingBundle(call_id=call_id, sha256=settlement.bundle_sha256, data=bundle))
    for campaign in session.scalars(
        select(Campaign).where(
            Campaign.call_id == call_id, Campaign.state == CampaignState.SUCCEEDED
        )
    ):
        campaign.state = CampaignState.FUNDED
    session.flush()
    tracking.on_publish(session)  # the funded campaigns' projects get their public cards
    for pledge in session.scalars(
        select(Pledge)
        .join(Campaign, Campaign.id == Pledge.campaign_id)
        .where(Campaign.call_id == call_id, Pledge.state == PledgeState.PAYMENT_REQUESTED)
        .order_by(Pledge.id)
    ):
        pledge.state = PledgeState.CANCELLED
        pledge.updated_at = now
        # No longer active: the campaign's totals (shown on its page) drop it, as a
        # resident's own cancellation does.
        pledges.move_totals(
            session, pledge.campaign_id, pledge.user_id, pledge.eligible, -pledge.amount
        )
        session.add(PledgeEvent(pledge_id=pledge.id, at=now, kind="unpaid", detail=None))
        audit.record(
            session,
            actor_id,
            "pledge.cancel",
            f"pledge:{pledge.id}",
            before={"state": PledgeState.PAYMENT_REQUESTED.value, "amount": pledge.amount},
            after={"state": PledgeState.CANCELLED.value, "reason": "unpaid"},
        )
    audit.record(
        session,
        actor_id,
        "call.publish_matches",
        f"call:{call_id}",
        after={"bundle_sha256": settlement.bundle_sha256},
    )


def bundle(session: Session, call_id: int, secret_key: str) -> bytes:
    """The funding bundle (zip) of a call whose match is published: the bytes stored at
    publication (built again only for a call published before they were stored)."""
    settlement = session.get(CallSettlement, call_id)
    if settlement is None or settlement.published_at is None:
        raise NotFound(f"bundle {call_id}")
    stored = session.get(FundingBundle, call_id)
    if stored is not None:
        return stored.data
    call = session.get(FundingCall, call_id)
    if call is None:
        raise NotFound(f"call {call_id}")
    return _build(session, call, secret_key)


@dataclass(frozen=True)
class ProjectMatch:
    id: int
    title: str
    goal: int
    raised: int  # fulfilled pledges
    eligible_raised: int
    backers: int  # eligible backers
    match: int

    @property
    def total(self) -> int:
        return self.raised + self.match

    @property
    def percent(self) -> int:
        return min(100, self.total * 100 // self.goal) if self.goal else 100


@dataclass(frozen=True)
class MatchView:
    published: bool
    computed_at: dt.datetime | None
    published_at: dt.datetime | None
    pool: int
    matched: int
    unmatched: int
    projects: list[ProjectMatch]
    bundle_sha256: str | None


def match_view(session: Session, call: FundingCall) -> MatchView | None:
    """The match as computed (draft or published), per project in the call's order."""
    return _view(session, call, session.get(CallSettlement, call.id))


def _view(
    session: Session, call: FundingCall, settlement: CallSettlement | None
) -> MatchView | None:
    if settlement is None or settlement.matches is None:
        return None
    document = json.loads(settlement.matches)
    titles = {
        c.id: c.title for c in session.scalars(select(Campaign).where(Campaign.call_id == call.id))
    }
    projects = [
        ProjectMatch(
            id=int(pid),
            title=titles.get(int(pid), pid),
            goal=entry["goal"],
            raised=entry["raised"],
            eligible_raised=entry["eligible_raised"],
            backers=entry["backers"],
            match=entry["match"],
        )
        for pid, entry in sorted(document["projects"].items(), key=lambda kv: int(kv[0]))
        if entry["raised"] > 0 or entry["match"] > 0
    ]
    return MatchView(
        published=settlement.published_at is not None,
        computed_at=settlement.computed_at,
        published_at=settlement.published_at,
        pool=document["pool"],
        matched=document["matched"],
        unmatched=document["unmatched"],
        projects=projects,
        bundle_sha256=settlement.bundle_sha256,
    )
