"""Builders for funding calls with pledges, ready to close, collect and match (no framework).

Dates: pledging ran from ``frozen.days(-30)`` to ``frozen.days(-10)``; the collection deadline
is a parameter (in the future: collecting; in the past: ready for the match)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from pb.config import Settings
from pb.db import Database
from pb.models import ACTIVE_PLEDGE_STATES, Campaign, CampaignTotals, Eligibility, Pledge, Role
from pb.services import bank_statements, payments
from pb.services.funding import calls, campaigns, closing, collection, pledges, settlement
from pb.tally.funding import MatchingRule
from tests import frozen
from tests.conftest import make_user

IBAN = "FR7630006000011234567890189"
BIC = "AGRIFRPP"
PLEDGING_DAY = frozen.days(-20)


@dataclass
class Funding:
    call_id: int
    campaign_ids: list[int]
    users: dict[str, int] = field(default_factory=dict)  # key -> user id
    emails: dict[str, str] = field(default_factory=dict)
    pledge_ids: list[int] = field(default_factory=list)


def make_funding(
    db: Database,
    settings: Settings,
    *,
    campaigns_spec: list[tuple[str, int, int | None]],
    pledges_spec: list[tuple[str, int, int, bool]],
    collection_until: dt.date | None = None,
    pool: int = 500_00,
    rule: MatchingRule | None = None,
    currency: str = "EUR",
    title: str = "Fonds de quartier 2027",
) -> Funding:
    """A call with ``campaigns_spec`` = [(title, minimum, optimum)] and ``pledges_spec`` =
    [(backer key, campaign index, amount, eligible)], pledges made in the window, in order."""
    data = calls.CallInput(
        title=title,
        description="Le conseil double vos dons.",
        currency=currency,
        pool=pool,
        rule=rule or MatchingRule("capped"),
        pledging_from=frozen.days(-30),
        pledging_until=frozen.days(-10),
        collection_until=collection_until or frozen.days(5),
        eligibility=Eligibility.ACCOUNT,
        iban=IBAN,
        bic=BIC,
        creditor_name="Ville de Bellevue",
    )

    def build_call(session: Any) -> tuple[int, list[int]]:
        call = calls.create_call(session, None, data)
        ids = []
        for name, minimum, optimum in campaigns_spec:
            campaign = campaigns.create_campaign(
                session,
                None,
                call.id,
                campaigns.CampaignInput(
                    title=name, description=f"{name}.", minimum=minimum, optimum=optimum
                ),
                frozen.days(-40),
            )
            ids.append(campaign.id)
        return call.id, ids

    call_id, campaign_ids = db.write_sync(build_call)
    funding = Funding(call_id, campaign_ids)
    for n, (key, index, amount, eligible) in enumerate(pledges_spec):
        if key not in funding.users:
            email = f"{key}-{call_id}@example.org"
            funding.users[key] = make_user(db, settings, email, role=Role.RESIDENT, name=key)
            funding.emails[key] = email
        user_id = funding.users[key]
        outcome = db.write_sync(
            lambda s, u=user_id, c=campaign_ids[index], a=amount, e=eligible, k=n: (
                pledges.make_pledge(
                    s,
                    user_id=u,
                    campaign_id=c,
                    amount=a,
                    public_name=None,
                    idempotency_key=f"builder-{call_id}-{k}",
                    eligible=e,
                    today=PLEDGING_DAY,
                )
            )
        )
        funding.pledge_ids.append(outcome.pledge_id)
    return funding


def close(db: Database, funding: Funding, today: dt.date | None = None) -> closing.CloseSummary:
    return db.write_sync(
        lambda s: closing.close_pledging(
            s, None, funding.call_id, today or frozen.TODAY, "http://testserver", "en"
        )
    )


SECRET = "s" * 48


def collected(db: Database, settings: Settings, **kw: Any) -> Funding:
    """Garden (min 100 €, optimum 200 €) succeeds; bench (min 300 €) fails. After collection:
    marie 25 € and jean 40 € paid (eligible), paul's 50 € unpaid, anna's 60 € paid but not
    eligible; the collection deadline passed two days ago."""
    f = make_funding(
        db,
        settings,
        campaigns_spec=[("Jardin partagé", 100_00, 200_00), ("Banc public", 300_00, None)],
        pledges_spec=[
            ("marie", 0, 25_00, True),
            ("jean", 0, 40_00, True),
            ("paul", 0, 50_00, True),
            ("anna", 0, 60_00, False),
            ("lucie", 1, 30_00, True),
        ],
        collection_until=frozen.days(-2),
        **kw,
    )
    close(db, f)
    lines = [
        bank_statements.StatementLine(
            line_id=f"FR76:{n}",
            amount=amount,
            currency="EUR",
            booked=frozen.days(-3),
            debtor=name,
            reference=payments.reference_for(f.pledge_ids[n]),
            text="",
        )
        for n, name, amount in ((0, "Marie", 25_00), (1, "Jean", 40_00), (3, "Anna", 60_00))
    ]
    st = bank_statements.Statement(kind="camt.053", account=None, lines=lines, skipped=0)
    db.write_sync(lambda s: collection.import_statement(s, None, f.call_id, st, "r.xml", b"r"))
    return f


def draft(db: Database, f: Funding, secret: str = SECRET) -> None:
    db.write_sync(lambda s: settlement.compute_draft(s, None, f.call_id, frozen.TODAY, secret))


def publish(db: Database, f: Funding, secret: str = SECRET) -> None:
    db.write_sync(lambda s: settlement.publish(s, None, f.call_id, frozen.TODAY, secret))


def totals_off(db: Database, call_id: int) -> list[int]:
    """The campaigns of ``call_id`` whose running totals differ from a recount of their active
    pledges (each resident's pledges to a campaign summed first, as the totals do)."""

    def read(s: Any) -> list[int]:
        off = []
        for campaign_id in s.scalars(select(Campaign.id).where(Campaign.call_id == call_id)):
            people: dict[int, int] = {}
            eligible: dict[int, int] = {}
            for p in s.scalars(
                select(Pledge).where(
                    Pledge.campaign_id == campaign_id, Pledge.state.in_(ACTIVE_PLEDGE_STATES)
                )
            ):
                people[p.user_id] = people.get(p.user_id, 0) + p.amount
                if p.eligible:
                    eligible[p.user_id] = eligible.get(p.user_id, 0) + p.amount
            t = s.get(CampaignTotals, campaign_id)
            recount = (
                len(people),
                sum(people.values()),
                len(eligible),
                sum(eligible.values()),
            )
            kept = (t.backers, t.raised, t.match_backers, t.match_total)
            if kept != recount or not math.isclose(
                t.match_sum_sqrt,
                sum(math.sqrt(v) for v in eligible.values()),
                rel_tol=1e-9,
                abs_tol=1e-6,
            ):
                off.append(campaign_id)
        return off

    return list(db.read_sync(read))
