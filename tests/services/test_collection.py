"""Closing pledging and collecting payments, on both databases."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

import pytest
from sqlalchemy import func, select

from pb.config import Settings
from pb.db import Database
from pb.errors import ValidationError
from pb.models import (
    AuditEvent,
    BankLine,
    Campaign,
    CampaignState,
    CampaignTotals,
    FundingCall,
    OutboxMail,
    Pledge,
    PledgeEvent,
    PledgeState,
    StatementImport,
)
from pb.services import bank_statements, payments
from pb.services.funding import closing, collection
from pb.tally.funding import MatchingRule
from tests import frozen
from tests.collection_builders import Funding, close, make_funding, totals_off

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"


def two_campaigns(db: Database, settings: Settings, **kw: Any) -> Funding:
    """A garden that reaches its minimum (100 €) and a bench that does not (300 €)."""
    return make_funding(
        db,
        settings,
        campaigns_spec=[("Jardin partagé", 100_00, 200_00), ("Banc public", 300_00, None)],
        pledges_spec=[
            ("marie", 0, 25_00, True),
            ("jean", 0, 40_00, True),
            ("paul", 0, 50_00, False),
            ("lucie", 1, 30_00, True),
            ("marie", 1, 20_00, True),
        ],
        **kw,
    )


def states(db: Database, ids: list[int]) -> list[PledgeState]:
    return db.read_sync(
        lambda s: [s.get(Pledge, i).state for i in ids]  # type: ignore[union-attr]
    )


def test_close_pledging_asks_to_pay_or_releases_and_mails(db: Database, settings: Settings) -> None:
    f = two_campaigns(db, settings)
    summary = close(db, f)
    assert summary == closing.CloseSummary(succeeded=1, failed=1, payment_requests=3, released=2)
    assert (
        states(db, f.pledge_ids) == [PledgeState.PAYMENT_REQUESTED] * 3 + [PledgeState.RELEASED] * 2
    )

    def check(s: Any) -> None:
        garden, bench = (s.get(Campaign, c) for c in f.campaign_ids)
        assert (garden.state, bench.state) == (CampaignState.SUCCEEDED, CampaignState.FAILED)
        refs = [s.get(Pledge, i).payment_reference for i in f.pledge_ids]
        assert refs[:3] == [payments.reference_for(i) for i in f.pledge_ids[:3]]
        assert refs[3:] == [None, None]
        totals = s.get(CampaignTotals, f.campaign_ids[1])
        assert (totals.raised, totals.backers) == (0, 0)
        mails = s.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [(m.recipient, m.kind) for m in mails] == [
            (f.emails["marie"], "payment_request"),
            (f.emails["jean"], "payment_request"),
            (f.emails["paul"], "payment_request"),
            (f.emails["lucie"], "pledge_released"),
            (f.emails["marie"], "pledge_released"),
        ]
        first = mails[0]
        assert "Jardin partagé" in first.subject and "€25.00" in first.subject
        assert "FR76 3000 6000 0112 3456 7890 189" in first.text
        assert payments.grouped(refs[0]) in first.text
        assert f"http://testserver/pledges/{f.pledge_ids[0]}/pay" in first.text
        assert "QR code" in first.text
        assert "all or nothing" in mails[3].text and "€30.00" in mails[3].text
        actions = s.scalars(select(AuditEvent.action)).all()
        assert actions.count("pledge.release") == 2
        assert {"campaign.succeed", "campaign.fail", "call.close_pledging"} <= set(actions)
        kinds = s.scalars(select(PledgeEvent.kind).where(PledgeEvent.pledge_id == f.pledge_ids[0]))
        assert list(kinds) == ["pledged", "payment_requested"] or "payment_requested" in kinds

    db.read_sync(check)
    # Closing again changes nothing and sends nothing.
    assert close(db, f) == closing.CloseSummary(0, 0, 0, 0)
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(OutboxMail))) == 5


def test_close_pledging_is_refused_while_pledging_is_open(db: Database, settings: Settings) -> None:
    f = two_campaigns(db, settings)
    with pytest.raises(ValidationError) as caught:
        close(db, f, today=frozen.days(-10))
    assert "Pledging is open until" in caught.value.errors[""]
    assert states(db, f.pledge_ids) == [PledgeState.PLEDGED] * 5


def test_mails_are_in_the_backers_language(db: Database, settings: Settings) -> None:
    from pb.models import User

    f = two_campaigns(db, settings)

    def french(s: Any) -> None:
        s.get(User, f.users["marie"]).locale = "fr"

    db.write_sync(french)
    close(db, f)
    mail = db.read_sync(
        lambda s: s.scalars(
            select(OutboxMail).where(OutboxMail.recipient == f.emails["marie"])
        ).first()
    )
    assert mail.subject.startswith("« Jardin partagé » a réussi")
    assert "Référence" in mail.text


def statement(f: Funding, name: str = "camt053_v02.xml") -> bank_statements.Statement:
    refs = [payments.reference_for(i) for i in f.pledge_ids]
    text = Template((DATA / name).read_text(encoding="utf-8")).substitute(
        REF_A=refs[0], REF_B_SPACED=payments.grouped(refs[1]).lower(), REF_C=refs[2]
    )
    return bank_statements.parse_camt053(text.encode())


def do_import(db: Database, f: Funding, st: bank_statements.Statement) -> collection.ImportSummary:
    return db.write_sync(
        lambda s: collection.import_statement(s, None, f.call_id, st, "releve.xml", b"x")
    )


def test_import_camt053_matches_unmatched_partial_and_duplicates(
    db: Database, settings: Settings
) -> None:
    f = two_campaigns(db, settings)
    close(db, f)
    summary = do_import(db, f, statement(f))
    # marie 25 € (structured ref) and jean 40 € (ref in free text) paid in full; paul sent
    # 8.50 € of 50 €; the hall rent has no reference; the bank repeated marie's entry.
    assert (summary.lines, summary.fulfilled, summary.partial) == (5, 2, 1)
    assert (summary.unmatched, summary.duplicates, summary.skipped) == (1, 1, 2)
    assert [x.debtor for x in summary.duplicate_lines] == ["Marie Dupont"]
    assert states(db, f.pledge_ids[:3]) == [
        PledgeState.FULFILLED,
        PledgeState.FULFILLED,
        PledgeState.PAYMENT_REQUESTED,
    ]

    def check(s: Any) -> None:
        marie = s.get(Pledge, f.pledge_ids[0])
        assert (marie.channel, marie.fulfilled_at) == ("bank", frozen.NOW)
        assert s.scalar(select(func.count()).select_from(BankLine)) == 4
        fulfils = s.scalars(select(AuditEvent).where(AuditEvent.action == "pledge.fulfil")).all()
        assert sorted(e.target for e in fulfils) == sorted(f"pledge:{i}" for i in f.pledge_ids[:2])
        imported = s.scalars(select(StatementImport)).one()
        assert (imported.lines, imported.matched, imported.unmatched, imported.duplicates) == (
            5,
            3,
            1,
            1,
        )
        call = s.get(FundingCall, f.call_id)
        state = collection.collection_state(s, call)
        assert (state.fulfilled, state.fulfilled_amount) == (2, 65_00)
        assert (state.awaiting, state.awaiting_amount) == (1, 50_00)
        assert [(x.debtor, x.reason) for x in state.unmatched] == [
            ("Association Les Amis du Parc", "No payment reference.")
        ]
        assert [(p.pledge_id, p.amount, p.received) for p in state.partial] == [
            (f.pledge_ids[2], 50_00, 8_50)
        ]

    db.read_sync(check)
    # The same statement again: every line is a duplicate, nothing changes.
    again = do_import(db, f, statement(f))
    assert (again.fulfilled, again.partial, again.unmatched, again.duplicates) == (0, 0, 0, 5)
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(BankLine))) == 4


def test_partial_payment_completed_at_the_town_hall(db: Database, settings: Settings) -> None:
    f = two_campaigns(db, settings)
    close(db, f)
    do_import(db, f, statement(f))
    paul = f.pledge_ids[2]
    reference = payments.grouped(payments.reference_for(paul)).lower()
    done = db.write_sync(
        lambda s: collection.record_payment(s, 1, f.call_id, reference, 41_50, "cash", frozen.TODAY)
    )
    assert done and states(db, [paul]) == [PledgeState.FULFILLED]
    assert db.read_sync(lambda s: s.get(Pledge, paul).channel) == "cash"


def test_accept_partial_payment_lowers_the_pledge(db: Database, settings: Settings) -> None:
    f = two_campaigns(db, settings)
    close(db, f)
    do_import(db, f, statement(f))
    paul = f.pledge_ids[2]
    db.write_sync(lambda s: collection.accept_partial(s, 1, f.call_id, paul))

    def check(s: Any) -> None:
        pledge = s.get(Pledge, paul)
        assert (pledge.state, pledge.amount) == (PledgeState.FULFILLED, 8_50)
        assert s.get(CampaignTotals, f.campaign_ids[0]).raised == 25_00 + 40_00 + 8_50

    db.read_sync(check)
    assert totals_off(db, f.call_id) == []  # the sum of square roots moved too
    with pytest.raises(ValidationError):
        db.write_sync(lambda s: collection.accept_partial(s, 1, f.call_id, f.pledge_ids[0]))


def test_accepting_an_eligible_partial_payment_moves_every_total(
    db: Database, settings: Settings
) -> None:
    """The square roots too: a quadratic call's estimate reads them."""
    f = make_funding(
        db,
        settings,
        campaigns_spec=[("Jardin partagé", 100_00, 200_00)],
        pledges_spec=[
            ("marie", 0, 25_00, True),
            ("jean", 0, 40_00, True),
            ("paul", 0, 50_00, True),
        ],
        rule=MatchingRule("quadratic"),
    )
    close(db, f)
    do_import(db, f, statement(f))  # paul sends 8.50 € of his 50 €
    db.write_sync(lambda s: collection.accept_partial(s, 1, f.call_id, f.pledge_ids[2]))
    assert totals_off(db, f.call_id) == []


def test_manual_match_and_ignore(db: Database, settings: Settings) -> None:
    f = two_campaigns(db, settings)
    close(db, f)
    do_import(db, f, statement(f))
    line_id = db.read_sync(
        lambda s: s.scalar(select(BankLine.id).where(BankLine.status == "unmatched"))
    )
    # 50 € from the association: staff know it is paul's pledge (with his 8.50 €: 58.50 €).
    with pytest.raises(ValidationError) as caught:
        db.write_sync(lambda s: collection.match_line(s, 1, f.call_id, line_id, "RF00 1234"))
    assert caught.value.errors["pledge"] == "No pledge of this call has this reference."
    with pytest.raises(ValidationError) as caught:
        db.write_sync(
            lambda s: collection.match_line(s, 1, f.call_id, line_id, str(f.pledge_ids[0]))
        )
    assert caught.value.errors["pledge"] == "This pledge is not waiting for a payment."
    assert db.write_sync(
        lambda s: collection.match_line(s, 1, f.call_id, line_id, str(f.pledge_ids[2]))
    )
    assert states(db, [f.pledge_ids[2]]) == [PledgeState.FULFILLED]
    with pytest.raises(ValidationError) as caught:
        db.write_sync(lambda s: collection.ignore_line(s, 1, f.call_id, line_id))
    assert caught.value.errors[""] == "This line was already dealt with."
    actions = db.read_sync(lambda s: s.scalars(select(AuditEvent.action)).all())
    assert "bank_line.match" in actions


def test_import_before_closing_or_of_another_account_is_refused(
    db: Database, settings: Settings
) -> None:
    f = two_campaigns(db, settings)
    with pytest.raises(ValidationError) as caught:
        do_import(db, f, statement(f))
    assert "Close pledging first" in caught.value.errors[""]
    close(db, f)
    other = statement(f).__class__(
        kind="camt.053", account="DE89370400440532013000", lines=[], skipped=0
    )
    with pytest.raises(ValidationError) as caught:
        do_import(db, f, other)
    assert "DE89 3704 0044 0532 0130 00" in caught.value.errors["file"]
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(StatementImport))) == 0


def test_payment_booked_after_the_deadline_waits_for_staff(
    db: Database, settings: Settings
) -> None:
    f = two_campaigns(db, settings, collection_until=frozen.days(-9))
    close(db, f)
    reference = payments.reference_for(f.pledge_ids[0])
    late, in_time = (
        bank_statements.StatementLine(
            line_id=f"FR76:{n}",
            amount=25_00,
            currency="EUR",
            booked=day,
            debtor="Marie Dupont",
            reference=reference,
            text="",
        )
        for n, day in ((1, frozen.days(-8)), (2, frozen.days(-9)))
    )
    st = bank_statements.Statement(kind="camt.053", account=None, lines=[late], skipped=0)
    summary = do_import(db, f, st)
    assert (summary.fulfilled, summary.unmatched) == (0, 1)
    reason = db.read_sync(
        lambda s: collection.collection_state(s, s.get(FundingCall, f.call_id)).unmatched[0].reason
    )
    assert reason == "Booked after the collection deadline."
    st = bank_statements.Statement(kind="camt.053", account=None, lines=[in_time], skipped=0)
    assert do_import(db, f, st).fulfilled == 1
