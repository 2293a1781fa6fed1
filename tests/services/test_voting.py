"""Casting ballots: validation, one ballot per voter, and a chain auditors can recompute."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from pb.audit import ballot_problems, verify_chain
from pb.audit.config import check_config
from pb.db import Database
from pb.errors import ValidationError
from pb.models import BallotRecord, Participation, Round, VotingMethod
from pb.services import ballot_log, rounds, voting
from tests import frozen
from tests.builders import ballot_counts, chain_of, make_voting_round

TODAY = frozen.TODAY


def cast(
    db: Database,
    r: dict[str, Any],
    voter: str,
    choices: dict[str, int],
    slot: str = "citywide",
    district: str = "citywide",
    channel: str = "online",
) -> voting.Receipt:
    return db.write_sync(voting.cast, r["round_id"], slot, district, voter, choices, channel, TODAY)


def test_cast_chains_a_ballot_that_audits(db: Database) -> None:
    r = make_voting_round(db)
    p = r["projects"]["citywide"]
    first = cast(db, r, "voter-1", {p[0]: 1, p[2]: 1})
    second = cast(db, r, "voter-2", {p[1]: 1})
    assert (first.seq, second.seq) == (1, 2)
    recs, hashes = chain_of(db, r["round_id"])
    assert verify_chain(recs, hashes) == []
    rnd = db.read_sync(lambda s: s.get(Round, r["round_id"]))
    assert recs[0] == {
        "kind": "genesis",
        "seq": 0,
        "round": str(rnd.id),
        "config_sha256": rnd.config_sha256,
    }
    check_config(json.loads(rnd.locked_config))
    assert recs[1]["choices"] == {p[0]: 1, p[2]: 1}
    assert recs[1]["day"] == TODAY.isoformat() and recs[1]["receipt"] == first.code
    assert hashes[-1] == db.read_sync(ballot_log.log_head, r["round_id"]).hash


def test_participation_and_ballot_share_nothing(db: Database) -> None:
    participation = {c.name for c in inspect(Participation).columns}
    ballot = {c.name for c in inspect(BallotRecord).columns}
    assert participation == {"round_id", "slot", "voter_key"}
    assert participation & ballot == {"round_id"}
    assert not any("time" in c or c.endswith("_at") for c in ballot)


def test_second_ballot_is_refused_and_nothing_changes(db: Database) -> None:
    r = make_voting_round(db)
    p = r["projects"]["citywide"]
    cast(db, r, "voter-1", {p[0]: 1})
    with pytest.raises(voting.AlreadyVoted):
        cast(db, r, "voter-1", {p[1]: 1})
    assert ballot_counts(db) == (1, 1)
    # The district ballot is another slot: one each.
    cast(db, r, "voter-1", {r["projects"]["north"][0]: 1}, "district", "north")
    with pytest.raises(voting.AlreadyVoted):
        cast(db, r, "voter-1", {r["projects"]["south"][0]: 1}, "district", "south")
    assert ballot_counts(db) == (2, 2)


@pytest.mark.parametrize(
    "method, choices, message",
    [
        (VotingMethod.APPROVAL, {}, "at least 1"),
        (VotingMethod.APPROVAL, {0: 1, 1: 1, 2: 1}, "at most 2"),
        (VotingMethod.APPROVAL, {0: 2}, "Choose a project or leave it"),
        (VotingMethod.APPROVAL, {"999": 1}, "not on it"),
        (VotingMethod.KNAPSACK, {0: 1, 1: 1, 2: 1}, "more than the budget"),
        (VotingMethod.QUADRATIC, {0: 4, 1: 4}, "more voice credits"),
        (VotingMethod.QUADRATIC, {0: -1}, "0 or more"),
        (VotingMethod.CUMULATIVE, {0: 6, 1: 5}, "more points"),
        (VotingMethod.CUMULATIVE, {0: 7}, "At most 6"),
    ],
)
def test_invalid_ballots_are_refused_and_nothing_is_stored(
    db: Database, method: VotingMethod, choices: dict[Any, int], message: str
) -> None:
    r = make_voting_round(db, method=method)
    p = r["projects"]["citywide"]
    ballot = {(p[k] if isinstance(k, int) else k): v for k, v in choices.items()}
    with pytest.raises(ValidationError) as exc:
        cast(db, r, "voter-1", ballot)
    assert message in " ".join(exc.value.errors.values())
    assert ballot_counts(db) == (0, 0)


def test_another_districts_project_is_refused(db: Database) -> None:
    r = make_voting_round(db)
    with pytest.raises(ValidationError):
        cast(db, r, "v", {r["projects"]["south"][0]: 1}, "district", "north")
    assert ballot_counts(db) == (0, 0)


def test_voting_closed(db: Database) -> None:
    r = make_voting_round(db)
    later = TODAY + dt.timedelta(days=365)
    with pytest.raises(voting.VotingClosed):
        db.write_sync(
            voting.cast,
            r["round_id"],
            "citywide",
            "citywide",
            "v",
            {r["projects"]["citywide"][0]: 1},
            "online",
            later,
        )
    # Paper ballots may still be entered after the last day, until results are published.
    db.write_sync(
        voting.cast,
        r["round_id"],
        "citywide",
        "citywide",
        "v",
        {r["projects"]["citywide"][0]: 1},
        "paper",
        later,
    )


CONFIG = {
    "method": {
        "kind": "quadratic",
        "credits": 25,
        "max_per_project": None,
        "min_choices": None,
        "max_choices": None,
        "points": None,
    }
}
DISTRICT = {
    "key": "citywide",
    "budget": 100,
    "projects": [{"id": "1", "cost": 40}, {"id": "2", "cost": 30}, {"id": "3", "cost": 50}],
}


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["approval", "knapsack", "quadratic", "cumulative"]),
    values=st.dictionaries(st.sampled_from(["1", "2", "3"]), st.integers(1, 7)),
    low=st.none() | st.integers(0, 3),
    high=st.none() | st.integers(1, 3),
    cap=st.none() | st.integers(1, 6),
)
def test_web_validation_agrees_with_the_audit(
    kind: str, values: dict[str, int], low: int | None, high: int | None, cap: int | None
) -> None:
    config = {
        "method": {
            "kind": kind,
            "credits": 25,
            "points": 10,
            "min_choices": low,
            "max_choices": high,
            "max_per_project": cap,
        }
    }
    ours = voting.validate_choices(config, DISTRICT, values)
    theirs = ballot_problems(config, DISTRICT, values)
    assert (ours == {}) == (theirs == []), (ours, theirs)


@pytest.mark.parametrize("same_voter", [True, False], ids=["one-voter", "many-voters"])
def test_200_simultaneous_casts(db: Database, same_voter: bool) -> None:
    r = make_voting_round(db)
    p = r["projects"]["citywide"]
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        voter = "same" if same_voter else f"voter-{n}"
        try:
            cast(db, r, voter, {p[n % 3]: 1})
            result = "ok"
        except voting.AlreadyVoted:
            result = "already"
        except Exception as exc:
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [o for o in outcomes if o.startswith("error")]
    expected = 1 if same_voter else 200
    assert outcomes.count("ok") == expected
    assert ballot_counts(db) == (expected, expected)
    recs, hashes = chain_of(db, r["round_id"])
    assert verify_chain(recs, hashes) == []
    assert [rec["seq"] for rec in recs] == list(range(expected + 1))


def test_a_batch_of_casts_answers_each_and_keeps_only_the_good_ones(db: Database) -> None:
    """append_many (the group commit): ballots of two rounds, the same voter twice in one
    batch, a voter who had already voted, and a round that closed after its ballots were
    checked. Each gets its own answer; only accepted ballots are stored, each with its
    participation row, and both chains verify."""
    open_round, closing = make_voting_round(db), make_voting_round(db)
    p, q = open_round["projects"]["citywide"], closing["projects"]["citywide"]
    cast(db, open_round, "early", {p[0]: 1})

    def check(r: dict[str, Any], choices: dict[str, int]) -> voting.Ballot:
        return db.read_sync(
            voting.prepare, r["round_id"], "citywide", "citywide", choices, "online", TODAY
        )

    batch = [
        (check(open_round, {p[1]: 1}), "ana"),
        (check(closing, {q[0]: 1}), "ben"),
        (check(open_round, {p[2]: 1}), "ana"),  # a double tap: the first one counts
        (check(open_round, {p[0]: 1}), "early"),  # voted before
        (check(open_round, {p[0]: 1, p[1]: 1}), "cleo"),
    ]
    db.write_sync(rounds.advance_phase, None, closing["round_id"], TODAY)  # closes voting
    outcomes = db.write_sync(voting.append_many, batch)
    assert [type(o).__name__ for o in outcomes] == [
        "Receipt", "VotingClosed", "AlreadyVoted", "AlreadyVoted", "Receipt",
    ]  # fmt: skip
    ana, cleo = outcomes[0], outcomes[4]
    assert isinstance(ana, voting.Receipt) and isinstance(cleo, voting.Receipt)
    assert (ana.seq, cleo.seq) == (2, 3)
    assert ballot_counts(db) == (3, 3)
    recs, hashes = chain_of(db, open_round["round_id"])
    assert verify_chain(recs, hashes) == [] and hashes[-1] == cleo.hash
    assert [rec["receipt"] for rec in recs[2:]] == [ana.code, cleo.code]
    assert recs[2]["choices"] == {p[1]: 1}
    assert chain_of(db, closing["round_id"]) == ([], [])
