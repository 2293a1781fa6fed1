"""The demo town's collection: the call whose pledging closed gets its backers asked to pay and
a first bank statement imported (some pledges paid, one partly, one line to match by hand), and
a call from last winter is settled to the end: closed, paid, its match published with a funding
bundle to download and audit."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.models import Campaign, Eligibility, FundingCall, Pledge, PledgeState, User
from pb.services.bank_statements import Statement, StatementLine
from pb.services.funding import calls, campaigns, closing, collection, pledges, settlement
from pb.services.funding.calls import CallInput
from pb.services.funding.campaigns import CampaignInput
from pb.tally.funding import MatchingRule

BASE_URL = "http://127.0.0.1:8000"  # where `pb serve` listens by default; links in demo mails
IBAN = "FR7630006000011234567890189"
DEBTORS = ("L. Martin", "T. Bernard", "I. Petit", "M. Nowak", "Z. Richard", "Y. Demir")


def _requested(session: Session, call_id: int) -> list[Pledge]:
    return list(
        session.scalars(
            select(Pledge)
            .join(Campaign, Campaign.id == Pledge.campaign_id)
            .where(Campaign.call_id == call_id, Pledge.state == PledgeState.PAYMENT_REQUESTED)
            .order_by(Pledge.id)
        )
    )


def _statement(
    call_id: int, paid: list[tuple[Pledge, int]], extra: list[StatementLine], day: dt.date
) -> Statement:
    lines = [
        StatementLine(
            line_id=f"{IBAN}:DEMO{call_id}-{pledge.id}",
            amount=amount,
            currency="EUR",
            booked=day,
            debtor=DEBTORS[n % len(DEBTORS)],
            reference=pledge.payment_reference,
            text="",
        )
        for n, (pledge, amount) in enumerate(paid)
    ]
    return Statement(kind="camt.053", account=IBAN, lines=lines + extra, skipped=1)


def _collect_riverside(
    session: Session,
    staff: int,
    call: FundingCall,
    today: dt.date,
    texts: dict[str, Any],
    locale: str,
) -> None:
    closing.close_pledging(session, staff, call.id, today, BASE_URL, locale)
    waiting = _requested(session, call.id)
    paid = [(p, p.amount) for p in waiting[:4]] + [(waiting[4], waiting[4].amount // 2)]
    stranger = StatementLine(
        line_id=f"{IBAN}:DEMO{call.id}-rent",
        amount=120_00,
        currency="EUR",
        booked=today - dt.timedelta(days=1),
        debtor=texts["rowing_club"][0],
        reference=None,
        text=texts["rowing_club"][1],
    )
    statement = _statement(call.id, paid, [stranger], today - dt.timedelta(days=1))
    collection.import_statement(session, staff, call.id, statement, "releve-demo.xml", b"demo")
    collection.record_payment(
        session, staff, call.id, str(waiting[5].id), waiting[5].amount, "cash", today
    )


def _settled_call(
    session: Session,
    staff: int,
    backers: list[int],
    today: dt.date,
    secret_key: str,
    texts: dict[str, Any],
    locale: str,
) -> None:
    """Last winter's call, from set-up to published match."""
    data = CallInput(
        title=texts["winter_call"][0],
        description=texts["winter_call"][1],
        currency="EUR",
        pool=1_500_00,
        rule=MatchingRule("capped", per_pledge_cap=40_00),
        pledging_from=today + dt.timedelta(days=1),
        pledging_until=today + dt.timedelta(days=2),
        collection_until=today + dt.timedelta(days=3),
        eligibility=Eligibility.ACCOUNT,
        iban=IBAN,
        bic="AGRIFRPP",
        creditor_name="Ville de Lindenfeld",
    )
    call = calls.create_call(session, staff, data)
    ids = [
        campaigns.create_campaign(session, staff, call.id, c, today).id
        for c in (
            CampaignInput(
                texts["warm_room"][0],
                texts["warm_room"][1],
                list(zip(texts["warm_room"][2], (900_00, 300_00), strict=True)),
                minimum=400_00,
                optimum=1_600_00,
            ),
            CampaignInput(
                texts["lights"][0], texts["lights"][1], [(texts["lights"][2][0], 700_00)]
            ),
        )
    ]
    # Set up before pledging opened; the call then ran last winter.
    call.pledging_from = today - dt.timedelta(days=120)
    call.pledging_until = today - dt.timedelta(days=90)
    call.collection_until = today - dt.timedelta(days=60)
    session.flush()
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    pledging_day = today - dt.timedelta(days=100)
    for campaign_id, amounts in ((ids[0], (60, 25, 40, 100, 30, 50, 45, 80)), (ids[1], (20, 35))):
        for n, (user_id, euros) in enumerate(
            zip(rng.sample(backers, len(amounts)), amounts, strict=True)
        ):
            pledges.make_pledge(
                session,
                user_id=user_id,
                campaign_id=campaign_id,
                amount=euros * 100,
                public_name=None,
                idempotency_key=f"demo-winter-{campaign_id}-{n}",
                eligible=n != 3,  # one backer had not verified their account
                today=pledging_day,
            )
    closing.close_pledging(session, staff, call.id, today - dt.timedelta(days=89), BASE_URL, locale)
    waiting = _requested(session, call.id)
    paid = [(p, p.amount) for p in waiting[:-1]]  # one backer never paid
    statement = _statement(call.id, paid, [], today - dt.timedelta(days=70))
    collection.import_statement(session, staff, call.id, statement, "releve-janvier.xml", b"jan")
    settlement.compute_draft(session, staff, call.id, today, secret_key)
    settlement.publish(session, staff, call.id, today, secret_key)


def load_collection_demo(
    session: Session,
    staff: int,
    collecting_call_id: int,
    today: dt.date,
    secret_key: str,
    texts: dict[str, Any],
    locale: str = "en",
) -> None:
    """After the funding demo: collect the call whose pledging closed, add a published one.
    ``texts`` are the demo texts; ``locale`` is the language of the mails to the backers."""
    call = calls.get_call(session, collecting_call_id)
    _collect_riverside(session, staff, call, today, texts, locale)
    backers = list(
        session.scalars(select(User.id).where(User.email.like("backer%@demo.pb")).order_by(User.id))
    )
    if len(backers) >= 8:
        _settled_call(session, staff, backers, today, secret_key, texts, locale)
    session.flush()
