"""Counting and publishing: the same ballots give the same bytes (on SQLite and PostgreSQL),
published results are final, and the bundle passes the offline audit."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pb.audit import audit_bundle
from pb.db import Database, make_engine
from pb.errors import NotFound, ValidationError
from pb.models import RoundResult, VotingMethod
from pb.services import results, rounds, voting
from tests import frozen
from tests.builders import make_voting_round

TODAY = frozen.TODAY


def vote_and_close(
    db: Database, monkeypatch: pytest.MonkeyPatch, method: VotingMethod, rule: str = "greedy"
) -> dict[str, Any]:
    """A round with deterministic ballots (receipts too), its voting then closed early."""
    counter = itertools.count()
    monkeypatch.setattr(
        voting, "new_receipt_code", lambda: f"{next(counter):04d}-0000-0000-0000-00000-00000"
    )
    extra = {"min_choices": None, "max_choices": 3} if method is VotingMethod.APPROVAL else {}
    r = make_voting_round(db, method=method, rule=rule, **extra)
    p = r["projects"]
    value = {VotingMethod.QUADRATIC: 2, VotingMethod.CUMULATIVE: 3}.get(method, 1)
    for n in range(30):
        picks = {p["citywide"][n % 3]: value, p["citywide"][(n * 7) % 3]: value}
        db.write_sync(
            voting.cast,
            r["round_id"],
            "citywide",
            "citywide",
            f"v{n}",
            picks,
            "paper" if n % 5 == 0 else "online",
            TODAY,
        )
        district = "north" if n % 2 else "south"
        db.write_sync(
            voting.cast,
            r["round_id"],
            "district",
            district,
            f"v{n}",
            {p[district][n % 3]: value},
            "online",
            TODAY,
        )
    db.write_sync(rounds.advance_phase, None, r["round_id"], TODAY)  # close voting early
    return r


def test_count_publish_and_bundle(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    r = vote_and_close(db, monkeypatch, VotingMethod.APPROVAL)
    rid = r["round_id"]
    first = db.write_sync(lambda s: results.tally_round(s, None, rid, TODAY).results)
    again = db.write_sync(lambda s: results.tally_round(s, None, rid, TODAY).results)
    assert first == again
    document = json.loads(first)
    assert document["districts"]["citywide"]["turnout"] == {"ballots": 30, "online": 24, "paper": 6}
    assert document["districts"]["north"]["turnout"]["ballots"] == 15
    with pytest.raises(NotFound):
        db.read_sync(results.bundle, rid)  # nothing to download before publication
    db.write_sync(results.publish, None, rid, TODAY)
    assert rounds.effective_phase(db.read_sync(rounds.get_round, rid), TODAY).value == "results"
    for action in (results.tally_round, results.publish):
        with pytest.raises(ValidationError, match="published and final"):
            db.write_sync(action, None, rid, TODAY)
    # No ballot can be added once results are published, not even on paper.
    with pytest.raises(voting.VotingClosed):
        db.write_sync(
            voting.cast,
            rid,
            "citywide",
            "citywide",
            "late",
            {r["projects"]["citywide"][0]: 1},
            "paper",
            TODAY,
        )
    bundle = db.read_sync(results.bundle, rid)
    assert bundle == db.read_sync(results.bundle, rid)  # deterministic bytes
    report = audit_bundle(io.BytesIO(bundle))
    assert report.ok, report.problems
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        assert z.read("results.json").decode() == first
        assert sorted(z.namelist()) == [
            "ballot_log.jsonl",
            "districts/citywide.pb",
            "districts/north.pb",
            "districts/south.pb",
            "manifest.json",
            "results.json",
        ]


def test_publish_refuses_a_stale_count(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    r = vote_and_close(db, monkeypatch, VotingMethod.APPROVAL)
    rid = r["round_id"]
    db.write_sync(results.tally_round, None, rid, TODAY)
    db.write_sync(
        voting.cast,
        rid,
        "citywide",
        "citywide",
        "late-paper",
        {r["projects"]["citywide"][0]: 1},
        "paper",
        TODAY,
    )
    with pytest.raises(ValidationError, match="Count again"):
        db.write_sync(results.publish, None, rid, TODAY)
    db.write_sync(results.tally_round, None, rid, TODAY)
    db.write_sync(results.publish, None, rid, TODAY)


def test_count_needs_voting_to_be_over(db: Database) -> None:
    r = make_voting_round(db)
    with pytest.raises(ValidationError, match="once voting has ended"):
        db.write_sync(results.tally_round, None, r["round_id"], TODAY)
    later = TODAY + dt.timedelta(days=60)
    result = db.write_sync(lambda s: results.tally_round(s, None, r["round_id"], later))
    assert json.loads(result.results)["districts"]["citywide"]["turnout"]["ballots"] == 0


def _results_on(
    url: str, monkeypatch: pytest.MonkeyPatch, method: VotingMethod, rule: str
) -> bytes:
    db = Database(make_engine(url))
    try:
        r = vote_and_close(db, monkeypatch, method, rule)
        db.write_sync(results.tally_round, None, r["round_id"], TODAY)
        return db.read_sync(lambda s: s.get(RoundResult, r["round_id"]).results.encode())
    finally:
        db.close()


@pytest.mark.parametrize(
    "method, rule",
    [
        (VotingMethod.APPROVAL, "equalshares/add1-comparison"),
        (VotingMethod.QUADRATIC, "equalshares/add1"),
        (VotingMethod.CUMULATIVE, "greedy"),
    ],
)
def test_results_are_byte_identical_on_sqlite_and_postgresql(
    sqlite_template: Path,
    postgres_schema_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: VotingMethod,
    rule: str,
) -> None:
    import shutil

    from sqlalchemy import text

    from pb.models import Base

    sqlite_file = tmp_path / "pb.sqlite3"
    shutil.copyfile(sqlite_template, sqlite_file)
    engine = make_engine(postgres_schema_url)
    with engine.begin() as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    on_sqlite = _results_on(f"sqlite:///{sqlite_file}", monkeypatch, method, rule)
    on_postgres = _results_on(postgres_schema_url, monkeypatch, method, rule)
    assert on_sqlite == on_postgres
    assert json.loads(on_sqlite)["rule"] == rule
