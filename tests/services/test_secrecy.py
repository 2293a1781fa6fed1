"""Ballot secrecy against someone holding the database and the secret key: the pairing attack
of the security review (row N of participation is ballot N) finds nothing once voting closes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import exc, text

from pb.config import Settings
from pb.db import Database
from pb.models import Role
from pb.services import results, rounds, voting
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import make_user

SECRET = "k" * 48  # fixed: the permutation the test sees is the same on every run
VOTERS = 40


def _cast_one_by_one(db: Database, r: dict[str, Any], channel: str = "online") -> dict[str, int]:
    """Cast a ballot per voter, each in its own transaction as the review did; return each
    voter key's ballot seq (what the attacker wants to learn)."""
    p = r["projects"]["citywide"]
    seq_of = {}
    for n in range(VOTERS):
        key = voting.voter_key(SECRET, r["round_id"], f"account:{1000 + n}")
        receipt = db.write_sync(
            voting.cast,
            r["round_id"],
            "citywide",
            "citywide",
            key,
            {p[n % 3]: 1},
            channel,
            frozen.TODAY,
        )
        seq_of[key] = receipt.seq
    return seq_of


def _stored_order(db: Database, round_id: int) -> list[str]:
    """The participation rows in the order the database stores them (what a reader of the
    files sees): SQLite's table order (its rowid, if it had one), PostgreSQL's ``ctid``."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            with pytest.raises(exc.OperationalError, match="rowid"):
                conn.execute(text("SELECT rowid FROM participation")).all()
            rows = conn.execute(
                text("SELECT voter_key FROM participation WHERE round_id = :r"), {"r": round_id}
            )
        else:
            rows = conn.execute(
                text("SELECT voter_key FROM participation WHERE round_id = :r ORDER BY ctid"),
                {"r": round_id},
            )
        return [row[0] for row in rows]


def _spearman(xs: list[int], ys: list[int]) -> float:
    n = len(xs)
    rank_x = {x: i for i, x in enumerate(sorted(xs))}
    rank_y = {y: i for i, y in enumerate(sorted(ys))}
    d2 = sum((rank_x[x] - rank_y[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def _assert_no_pairing(db: Database, round_id: int, seq_of: dict[str, int]) -> None:
    order = _stored_order(db, round_id)
    assert sorted(order) == sorted(seq_of)
    # The stored order is the keyed hash's order: it follows no clock and no counter.
    assert order == sorted(order)
    guessed = [seq_of[key] for key in order]  # "row N is ballot N"
    hits = sum(1 for n, seq in enumerate(guessed, start=1) if seq == n)
    assert hits <= 3, f"{hits} of {VOTERS} voters paired by position"  # chance: about 1
    assert abs(_spearman(list(range(len(guessed))), guessed)) < 0.4
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            xmins = conn.execute(
                text("SELECT count(DISTINCT xmin::text) FROM participation WHERE round_id = :r"),
                {"r": round_id},
            ).scalar_one()
        # Transaction ids numbered the casts (a group commit shares one): now one for all.
        assert xmins == 1


def test_closing_voting_leaves_no_casting_order_in_participation(
    db: Database, settings: Settings
) -> None:
    r = make_voting_round(db)
    staff = make_user(db, settings, "staff@example.org", role=Role.STAFF)
    seq_of = _cast_one_by_one(db, r)
    db.write_sync(rounds.advance_phase, staff, r["round_id"], frozen.TODAY)
    db.scrub_sync()
    _assert_no_pairing(db, r["round_id"], seq_of)


def test_paper_ballots_after_the_last_day_are_sealed_by_the_count(
    db: Database, settings: Settings
) -> None:
    r = make_voting_round(db)
    staff = make_user(db, settings, "staff@example.org", role=Role.STAFF)
    db.write_sync(rounds.advance_phase, staff, r["round_id"], frozen.TODAY)
    seq_of = _cast_one_by_one(db, r, channel="paper")  # entered while the round is closed
    db.write_sync(results.tally_round, staff, r["round_id"], frozen.TODAY)
    db.scrub_sync()
    _assert_no_pairing(db, r["round_id"], seq_of)
