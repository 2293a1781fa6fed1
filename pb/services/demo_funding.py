"""The demo town's crowdfunding: a call in its pledging window (campaigns on last year's
unfunded projects and a community project, pledges, volunteer tasks) and a call whose pledging
has closed (one campaign over its minimum, one under it)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from pb.models import Eligibility, FundingCall, Role, Round
from pb.services import accounts
from pb.services.funding import calls, campaigns, pledges, tasks
from pb.services.funding.calls import CallInput
from pb.services.funding.campaigns import CampaignInput
from pb.services.funding.tasks import TaskInput
from pb.tally.funding import MatchingRule

IBAN = "FR7630006000011234567890189"
BIC = "AGRIFRPP"
BACKERS = 14


def _call(
    session: Session,
    staff: int,
    data: CallInput,
    projects: Callable[[FundingCall], list[CampaignInput]],
    today: dt.date,
) -> tuple[FundingCall, list[int]]:
    """A call set up as staff do: created before pledging opens, campaigns added, then moved
    to its demo dates (which may lie in the past)."""
    dates = (data.pledging_from, data.pledging_until, data.collection_until)
    start = today + dt.timedelta(days=1)
    draft = dataclasses.replace(
        data,
        pledging_from=start,
        pledging_until=max(start, dates[1]),
        collection_until=max(start, dates[2]),
    )
    call = calls.create_call(session, staff, draft)
    ids = [campaigns.create_campaign(session, staff, call.id, p, today).id for p in projects(call)]
    call.pledging_from, call.pledging_until, call.collection_until = dates
    session.flush()
    return call, ids


def _backers(session: Session, password_hash: str) -> dict[int, str]:
    """Demo residents who back the campaigns (they share the demo resident's password)."""
    first = ("Lena", "Tom", "Ines", "Marek", "Zoe", "Yusuf", "Clara", "Piotr", "Ana", "Jonas")
    out = {}
    for n in range(BACKERS):
        name = f"{first[n % len(first)]} {chr(65 + n)}."
        user = accounts.create_user(
            session, f"backer{n}@demo.pb", name, password_hash, Role.RESIDENT, verified=True
        )
        out[user.id] = name
    return out


def _pledges(
    session: Session,
    rng: random.Random,
    backers: list[int],
    names: dict[int, str],
    campaign_id: int,
    amounts: tuple[int, ...],
    day: dt.date,
) -> None:
    for user_id, euros in zip(rng.sample(backers, len(amounts)), amounts, strict=True):
        pledges.make_pledge(
            session,
            user_id=user_id,
            campaign_id=campaign_id,
            amount=euros * 100,
            public_name=None if rng.random() < 0.4 else names.get(user_id),
            idempotency_key=secrets.token_urlsafe(16),
            eligible=True,
            today=day,
        )


def load_funding_demo(
    session: Session,
    staff: int,
    resident: int,
    resident_hash: str,
    last_year: Round,
    today: dt.date,
    texts: dict[str, Any],
) -> dict[str, int]:
    """Load both calls; returns their ids by phase ("pledging", "collecting"), the hook for
    the next steps of the demo (payment requests, a bank statement, published matches)."""
    rng = random.Random(12)  # noqa: S311 - demo data, not security
    names = _backers(session, resident_hash)
    backers = sorted(names)
    # 1. Pledging open: last year's round's accepted proposals the vote did not fund.
    data = CallInput(
        title=texts["open_call"][0],
        description=texts["open_call"][1],
        currency="EUR",
        pool=20_000_00,
        rule=MatchingRule("quadratic"),
        pledging_from=today - dt.timedelta(days=6),
        pledging_until=today + dt.timedelta(days=18),
        collection_until=today + dt.timedelta(days=45),
        eligibility=Eligibility.ACCOUNT,
        iban=IBAN,
        bic=BIC,
        creditor_name="Ville de Lindenfeld",
        round_id=last_year.id,
    )

    def projects(call: FundingCall) -> list[CampaignInput]:
        unfunded = campaigns.candidate_proposals(session, call)[:2]
        title, description, (tools, insurance) = texts["repair_cafe"]
        return [campaigns.proposal_input(session, p.id) for p in unfunded] + [
            CampaignInput(
                title=title,
                description=description,
                costs=[(tools, 1_800_00), (insurance, 450_00)],
                optimum=4_000_00,
            )
        ]

    open_call, ids = _call(session, staff, data, projects, today)
    amount_sets = ((20, 50, 10, 25, 40, 15, 30), (100, 35, 20), (10, 10, 15, 20, 5, 50, 25, 30))
    for n, campaign_id in enumerate(ids):
        amounts = amount_sets[n % len(amount_sets)]
        _pledges(session, rng, backers, names, campaign_id, amounts, today)
    pledges.make_pledge(
        session,
        user_id=resident,
        campaign_id=ids[-1],
        amount=25_00,
        public_name="Rosa",
        idempotency_key=secrets.token_urlsafe(16),
        eligible=True,
        today=today,
    )
    noon = dt.datetime.combine(today, dt.time(12), dt.UTC)
    for (title, place), (campaign_id, days, capacity, minutes) in zip(
        texts["tasks"],
        ((ids[-1], 9, 6, 180), (ids[-1], 23, 4, 150), (ids[0], 4, 8, 120)),
        strict=True,
    ):
        tasks.create_task(
            session,
            staff,
            campaign_id,
            TaskInput(
                title=title,
                description=texts["task_description"],
                place=place,
                starts_at=noon + dt.timedelta(days=days),
                capacity=capacity,
                minutes_each=minutes,
            ),
        )
    for task_view, takers in zip(
        tasks.tasks_of(session, [ids[-1]], None), (backers[:5], []), strict=True
    ):
        for user_id in takers:
            tasks.sign_up(session, user_id, task_view.id, today)

    # 2. Pledging closed: collection and matching are the next steps (funding collection adds
    # the payment requests, the statement import and the published matches on top of this).
    closed = CallInput(
        title=texts["closed_call"][0],
        description=texts["closed_call"][1],
        currency="EUR",
        pool=5_000_00,
        rule=MatchingRule("capped", per_pledge_cap=50_00, per_resident_cap=100_00),
        pledging_from=today - dt.timedelta(days=40),
        pledging_until=today - dt.timedelta(days=3),
        collection_until=today + dt.timedelta(days=25),
        eligibility=Eligibility.ACCOUNT,
        iban=IBAN,
        bic=BIC,
        creditor_name="Ville de Lindenfeld",
    )
    closed_call, closed_ids = _call(
        session,
        staff,
        closed,
        lambda _call: [
            CampaignInput(
                texts["cleanup"][0], texts["cleanup"][1], [(texts["cleanup"][2][0], 600_00)]
            ),
            CampaignInput(
                texts["floating_garden"][0],
                texts["floating_garden"][1],
                list(zip(texts["floating_garden"][2], (3_000_00, 900_00), strict=True)),
            ),
        ],
        today,
    )
    pledging_day = today - dt.timedelta(days=10)
    _pledges(
        session, rng, backers, names, closed_ids[0], (50, 100, 80, 120, 60, 90, 150), pledging_day
    )
    _pledges(session, rng, backers, names, closed_ids[1], (40, 25, 60), pledging_day)
    for c in (open_call, closed_call):
        calls.lock(session, c)
    session.flush()
    return {"pledging": open_call.id, "collecting": closed_call.id}
