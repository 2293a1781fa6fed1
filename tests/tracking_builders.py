"""Builders for tracking tests: a round whose results are published, with funded projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pb.db import Database
from pb.models import TrackedProject
from pb.services import results, rounds, voting
from pb.services.tracking.projects import Editor, Mailing
from tests import frozen
from tests.builders import make_voting_round

STAFF = Editor(user_id=0, staff=True)  # replaced by a real id where the audit log needs one


def mailing(secret: str = "s" * 48) -> Mailing:
    return Mailing("https://pb.example", "en", secret)


def counted_round(db: Database) -> dict[str, Any]:
    """A round with ballots, voting closed: citywide projects 0 and 1 win, 2 does not;
    north project 0 wins. ``receipts``: the receipt codes, the first one choosing 0 and 1."""
    r = make_voting_round(db)
    p = r["projects"]
    rid = r["round_id"]
    receipts = []
    for n in range(4):
        picks = {p["citywide"][0]: 1, p["citywide"][1]: 1}
        receipt = db.write_sync(
            voting.cast, rid, "citywide", "citywide", f"v{n}", picks, "online", frozen.TODAY
        )
        receipts.append(receipt.code)
    loser = db.write_sync(
        voting.cast,
        rid,
        "citywide",
        "citywide",
        "v9",
        {p["citywide"][2]: 1, p["citywide"][0]: 1},
        "online",
        frozen.TODAY,
    )
    receipts.append(loser.code)
    db.write_sync(
        voting.cast, rid, "district", "north", "v0", {p["north"][0]: 1}, "online", frozen.TODAY
    )
    db.write_sync(rounds.advance_phase, None, rid, frozen.TODAY)  # close voting early
    db.write_sync(lambda s: results.tally_round(s, None, rid, frozen.TODAY))
    return {**r, "receipts": receipts}


def published_round(db: Database) -> dict[str, Any]:
    """:func:`counted_round`, published; ``cards`` maps proposal id → tracked project id."""
    r = counted_round(db)
    db.write_sync(results.publish, None, r["round_id"], frozen.TODAY)
    cards = db.read_sync(
        lambda s: {
            str(pid): card
            for pid, card in s.execute(select(TrackedProject.proposal_id, TrackedProject.id))
        }
    )
    return {**r, "cards": cards}
