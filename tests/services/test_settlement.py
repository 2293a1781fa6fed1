"""The match after collection: draft, publication (final) and the funding bundle that
``pb audit`` verifies, on both databases."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pb.audit.cli import main as audit_main
from pb.audit.funding_verify import audit_funding_bundle
from pb.config import Settings
from pb.db import Database
from pb.errors import ValidationError
from pb.models import (
    AuditEvent,
    Campaign,
    CampaignState,
    CampaignTotals,
    FundingBundle,
    FundingCall,
    Pledge,
    PledgeState,
)
from pb.services.funding import collection, settlement
from pb.tally.funding import MatchingRule
from tests import frozen
from tests.collection_builders import (
    SECRET,
    Funding,
    close,
    collected,
    draft,
    make_funding,
    publish,
    totals_off,
)


def view(db: Database, f: Funding) -> settlement.MatchView:
    result = db.read_sync(lambda s: settlement.match_view(s, s.get(FundingCall, f.call_id)))
    assert result is not None
    return result


def test_draft_counts_fulfilled_pledges_of_eligible_residents(
    db: Database, settings: Settings
) -> None:
    f = collected(db, settings)
    draft(db, f)
    match = view(db, f)
    assert not match.published
    [garden] = match.projects
    # Raised: every fulfilled pledge (125 €); matched 1:1: the eligible ones (65 €), within
    # the garden's remaining need (200 - 125 = 75 €).
    assert (garden.title, garden.goal, garden.raised, garden.eligible_raised) == (
        "Jardin partagé",
        200_00,
        125_00,
        65_00,
    )
    assert (garden.backers, garden.match, garden.total) == (2, 65_00, 190_00)
    assert (match.pool, match.matched, match.unmatched) == (500_00, 65_00, 435_00)


def test_quadratic_draft_is_capped_at_the_need(db: Database, settings: Settings) -> None:
    f = collected(db, settings, rule=MatchingRule("quadratic"))
    draft(db, f)
    [garden] = view(db, f).projects
    # (√2500 + √4000)² − 6500 = 2·√(2500·4000) = 6324.55… minor units, under the need
    # (200 − 125 = 75 €) and the pool: it stands, rounded down.
    assert garden.match == 6324


def test_publish_is_final_funds_campaigns_and_cancels_unpaid_pledges(
    db: Database, settings: Settings
) -> None:
    f = collected(db, settings)
    with pytest.raises(ValidationError) as caught:
        publish(db, f)
    assert caught.value.errors[""] == "Compute the match before publishing it."
    draft(db, f)
    publish(db, f)

    def check(s: Any) -> None:
        garden, bench = (s.get(Campaign, c) for c in f.campaign_ids)
        assert (garden.state, bench.state) == (CampaignState.FUNDED, CampaignState.FAILED)
        assert [s.get(Pledge, i).state for i in f.pledge_ids] == [
            PledgeState.FULFILLED,
            PledgeState.FULFILLED,
            PledgeState.CANCELLED,  # paul never paid
            PledgeState.FULFILLED,
            PledgeState.RELEASED,
        ]
        actions = s.scalars(select(AuditEvent.action)).all()
        assert "call.publish_matches" in actions and "pledge.cancel" in actions
        # The unpaid pledge leaves the garden's running totals, as shown on its page.
        totals = s.get(CampaignTotals, garden.id)
        assert (totals.backers, totals.raised) == (3, 25_00 + 40_00 + 60_00)

    db.read_sync(check)
    assert totals_off(db, f.call_id) == []
    assert view(db, f).published
    for attempt in (
        lambda: draft(db, f),
        lambda: publish(db, f),
        lambda: db.write_sync(
            lambda s: collection.record_payment(
                s, 1, f.call_id, str(f.pledge_ids[2]), 50_00, "cash", frozen.TODAY
            )
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert caught.value.errors[""] == "The match is published and final."


def test_publish_refuses_a_stale_draft(db: Database, settings: Settings) -> None:
    f = collected(db, settings)
    draft(db, f)
    db.write_sync(
        lambda s: collection.record_payment(
            s, 1, f.call_id, str(f.pledge_ids[2]), 50_00, "card", frozen.TODAY
        )
    )
    with pytest.raises(ValidationError) as caught:
        publish(db, f)
    assert "Payments changed after the draft" in caught.value.errors[""]
    draft(db, f)
    publish(db, f)
    [garden] = view(db, f).projects
    assert (garden.raised, garden.match) == (175_00, 25_00)  # need 200 - 175


def test_draft_waits_for_the_collection_deadline(db: Database, settings: Settings) -> None:
    f = make_funding(
        db,
        settings,
        campaigns_spec=[("Jardin partagé", 10_00, None)],
        pledges_spec=[("marie", 0, 25_00, True)],
        collection_until=frozen.days(3),
    )
    with pytest.raises(ValidationError) as caught:
        draft(db, f)
    assert "Close pledging first" in caught.value.errors[""]
    close(db, f)
    with pytest.raises(ValidationError) as caught:
        draft(db, f)
    assert "Payments are counted until" in caught.value.errors[""]


def test_bundle_audits_and_a_changed_byte_is_named(
    db: Database, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = collected(db, settings)
    with pytest.raises(Exception) as missing:
        db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET))
    assert type(missing.value).__name__ == "NotFound"
    draft(db, f)
    publish(db, f)
    data = db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET))
    assert data == db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET))
    stored = db.read_sync(lambda s: view(db, f).bundle_sha256)
    assert hashlib.sha256(data).hexdigest() == stored
    assert audit_funding_bundle(io.BytesIO(data)).ok
    path = tmp_path / "funding.zip"
    path.write_bytes(data)
    assert audit_main([str(path)]) == 0
    # The ledger names no one: pseudonyms only, the same backer the same in this call.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        ledger = archive.read("ledger.csv").decode()
        members = {n: archive.read(n) for n in archive.namelist()}
    assert "marie" not in ledger and "@" not in ledger
    assert len(ledger.splitlines()) == 1 + 3
    # One changed byte in the ledger: the audit fails and names the file.
    tampered = members["ledger.csv"].replace(b",2500,", b",2600,")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, tampered if name == "ledger.csv" else content)
    path.write_bytes(out.getvalue())
    capsys.readouterr()
    assert audit_main([str(path)]) != 0
    assert "ledger.csv" in capsys.readouterr().out


# The same call and payments give the same ledger and matches on SQLite and PostgreSQL: both
# parametrizations of this test compare with these digests.
LEDGER_SHA256 = "3de37db8b78ec80048e99d9c0737539b2ccc3c01a86c464c6589891422e91bcb"
MATCHES_SHA256 = "54355caded1038e67e1dc21efdcbeb77aaadb018f410ae9bb93b8fc6b84b9c50"


def test_bundle_bytes_are_the_same_on_both_databases(db: Database, settings: Settings) -> None:
    f = collected(db, settings)
    draft(db, f)
    publish(db, f)
    data = db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        ledger = archive.read("ledger.csv")
        matches = archive.read("matches.json")
    assert hashlib.sha256(ledger).hexdigest() == LEDGER_SHA256
    assert hashlib.sha256(matches).hexdigest() == MATCHES_SHA256


def test_the_published_bundle_is_served_as_published(db: Database, settings: Settings) -> None:
    """The bytes stored at publication are served: a rotated secret key (which changes the
    backers' pseudonyms) or a later change to the database does not change the bundle."""
    f = collected(db, settings)
    draft(db, f)
    publish(db, f)
    published = db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET))
    rotated = db.read_sync(lambda s: settlement.bundle(s, f.call_id, "another-secret-key-" * 3))
    assert rotated == published
    stored = db.read_sync(lambda s: s.get(FundingBundle, f.call_id))
    assert stored is not None and stored.sha256 == hashlib.sha256(published).hexdigest()
    assert stored.sha256 == db.read_sync(lambda s: view(db, f).bundle_sha256)
    # A call published before bundles were stored is still served, built again.
    db.write_sync(lambda s: s.delete(s.get(FundingBundle, f.call_id)))
    assert db.read_sync(lambda s: settlement.bundle(s, f.call_id, SECRET)) == published
