"""Small builders for crowdfunding test data: a call, its campaigns, tasks and pledges."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

from pb.db import Database
from pb.models import Eligibility
from pb.services.funding import calls, campaigns, pledges, tasks
from pb.services.funding.calls import CallInput
from pb.services.funding.campaigns import CampaignInput
from pb.services.funding.tasks import TaskInput
from pb.tally.funding import MatchingRule
from tests import frozen

IBAN = "FR76 3000 6000 0112 3456 7890 189"
BIC = "AGRIFRPP"


def call_input(phase: str = "pledging", **overrides: Any) -> CallInput:
    """A coherent call whose dates put it in ``phase`` today (draft, pledging, collecting,
    closed)."""
    offsets = {
        "draft": (5, 20, 40),
        "pledging": (-3, 10, 30),
        "collecting": (-30, -5, 20),
        "closed": (-60, -30, -5),
    }[phase]
    data = CallInput(
        title="Neighbourhood fund",
        description="The council matches your pledges.",
        currency="EUR",
        pool=10_000_00,
        rule=MatchingRule("quadratic"),
        pledging_from=frozen.days(offsets[0]),
        pledging_until=frozen.days(offsets[1]),
        collection_until=frozen.days(offsets[2]),
        eligibility=Eligibility.ACCOUNT,
        iban=IBAN,
        bic=BIC,
        creditor_name="Ville de Testville",
    )
    return dataclasses.replace(data, **overrides)


def make_call(db: Database, phase: str = "pledging", **overrides: Any) -> int:
    """A call built as a draft, then moved to ``phase`` by its dates (so campaigns can be
    added before pledging opens, as staff do)."""
    draft = call_input("draft", **overrides)
    call_id = db.write_sync(lambda s: calls.create_call(s, None, draft).id)
    if phase != "draft":
        dated = call_input(phase, **overrides)

        def move(session: Any) -> None:
            call = calls.get_call(session, call_id)
            call.pledging_from = dated.pledging_from
            call.pledging_until = dated.pledging_until
            call.collection_until = dated.collection_until

        db.write_sync(move)
    return call_id


def make_campaign(
    db: Database,
    call_id: int,
    title: str = "Community garden",
    costs: tuple[tuple[str, int], ...] = (("Tools", 300_00), ("Seeds", 200_00)),
    minimum: int | None = None,
    optimum: int | None = None,
    proposal_id: int | None = None,
) -> int:
    """A campaign, added while its call is still a draft (dates moved back for the insert)."""

    def build(session: Any) -> int:
        call = calls.get_call(session, call_id)
        dates = (call.pledging_from, call.pledging_until, call.collection_until)
        call.pledging_from = frozen.days(5)
        call.pledging_until = max(frozen.days(5), dates[1])
        call.collection_until = max(call.pledging_until, dates[2])
        data = CampaignInput(
            title=title,
            description="Raised beds for the school.",
            costs=list(costs),
            minimum=minimum,
            optimum=optimum,
            proposal_id=proposal_id,
        )
        campaign = campaigns.create_campaign(session, None, call_id, data, frozen.TODAY)
        call.pledging_from, call.pledging_until, call.collection_until = dates
        return int(campaign.id)

    return db.write_sync(build)


def make_task(
    db: Database, campaign_id: int, capacity: int = 3, minutes_each: int = 120, days: int = 7
) -> int:
    data = TaskInput(
        title="Build the beds",
        description="Bring gloves.",
        place="School yard",
        starts_at=frozen.NOW + dt.timedelta(days=days),
        capacity=capacity,
        minutes_each=minutes_each,
    )
    return db.write_sync(lambda s: tasks.create_task(s, None, campaign_id, data).id)


def pledge(
    db: Database,
    user_id: int,
    campaign_id: int,
    amount: int,
    key: str | None = None,
    eligible: bool = True,
    public_name: str | None = None,
) -> pledges.PledgeOutcome:
    return db.write_sync(
        lambda s: pledges.make_pledge(
            s,
            user_id=user_id,
            campaign_id=campaign_id,
            amount=amount,
            public_name=public_name,
            idempotency_key=key or secrets.token_urlsafe(16),
            eligible=eligible,
            today=frozen.TODAY,
        )
    )
