"""Round configuration: validation, phases, duplication and the lock when voting opens."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from pb.audit.config import check_config
from pb.config import Settings
from pb.db import Database
from pb.errors import ValidationError
from pb.models import (
    AuditEvent,
    Phase,
    ProposalStatus,
    Role,
    Round,
    VotingMethod,
    VotingScope,
)
from pb.services import rounds
from tests import frozen
from tests.builders import make_districts, make_proposal, make_round, round_input
from tests.conftest import make_user

IDS = [1, 2]


def errors_of(**overrides: object) -> dict[str, str]:
    return rounds.validate(round_input(IDS, **overrides), set(IDS))


def test_a_coherent_round_has_no_errors() -> None:
    assert errors_of() == {}


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"title": " "}, "title", "Give the round a title."),
        ({"review_from": dt.date(2000, 1, 1)}, "review_from", "after proposals open"),
        ({"voting_until": dt.date(2000, 1, 1)}, "voting_until", "on or after"),
        ({"total_budget": 1}, "total_budget", "add up"),
        ({"min_choices": 4, "max_choices": 2}, "max_choices", "cannot be fewer"),
        ({"max_choices": 0}, "max_choices", "at least one"),
        ({"method": VotingMethod.QUADRATIC, "credits": 0}, "credits", "more than 0"),
        ({"method": VotingMethod.CUMULATIVE, "points": None}, "points", "more than 0"),
        (
            {"method": VotingMethod.CUMULATIVE, "points": 10, "max_per_project": 11},
            "max_per_project",
            "between 1",
        ),
        (
            {
                "method": VotingMethod.QUADRATIC,
                "credits": 100,
                "rule": "equalshares/add1-comparison",
            },
            "rule",
            "approval ballots",
        ),
        ({"rule": "greedy-threshold"}, "min_score_threshold", "lowest score"),
        ({"rule": "dictator"}, "rule", "Choose a tally rule"),
        ({"currency": "euro"}, "currency", "three-letter"),
        ({"categories": ["Parks", "parks"]}, "categories", "once"),
        ({"scope": VotingScope.CITYWIDE}, "district_budgets", "only used"),
        (
            {"scope": VotingScope.DISTRICT, "total_budget": 200_000_00},
            "citywide_budget",
            "district-only",
        ),
    ],
)
def test_incoherent_settings_are_caught(
    overrides: dict[str, object], field: str, message: str
) -> None:
    errors = errors_of(**overrides)
    assert field in errors, errors
    assert message in errors[field]


def test_phase_follows_dates_and_moves_only_forward() -> None:
    data = round_input(IDS, "review")
    rnd = Round(
        proposals_from=data.proposals_from,
        review_from=data.review_from,
        voting_from=data.voting_from,
        voting_until=data.voting_until,
    )
    today = frozen.TODAY
    assert rounds.effective_phase(rnd, today) is Phase.REVIEW
    assert rounds.effective_phase(rnd, data.voting_from) is Phase.VOTING
    assert rounds.effective_phase(rnd, data.voting_until) is Phase.VOTING
    assert rounds.effective_phase(rnd, data.voting_until + dt.timedelta(days=1)) is Phase.CLOSED
    rnd.phase_override = Phase.PROPOSALS  # behind the dates: ignored
    assert rounds.effective_phase(rnd, today) is Phase.REVIEW
    rnd.phase_override = Phase.VOTING
    assert rounds.effective_phase(rnd, today) is Phase.VOTING


@pytest.fixture
def staff(db: Database, settings: Settings) -> int:
    return make_user(db, settings, "staff@example.org", role=Role.STAFF)


def test_opening_voting_early_locks_the_configuration(db: Database, staff: int) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, staff, "review")
    today = frozen.TODAY
    with pytest.raises(ValidationError, match="Accept at least one proposal"):
        db.write_sync(rounds.advance_phase, staff, round_id, today)
    make_proposal(db, round_id, staff, status=ProposalStatus.ACCEPTED, feasible_cost=5_000_00)
    # North and South have budgets but no project: their ballots would be empty.
    with pytest.raises(
        ValidationError, match="These ballots have no accepted project: North, South"
    ):
        db.write_sync(rounds.advance_phase, staff, round_id, today)
    for n, district in enumerate(districts):
        make_proposal(
            db,
            round_id,
            staff,
            f"Bench {n}",
            district_id=district,
            status=ProposalStatus.ACCEPTED,
            feasible_cost=1_000_00,
        )
    assert db.write_sync(rounds.advance_phase, staff, round_id, today) is Phase.VOTING
    rnd = db.read_sync(rounds.get_round, round_id)
    assert rnd.locked_at is not None and rnd.locked_config is not None
    assert rnd.config_sha256 == hashlib.sha256(rnd.locked_config.encode()).hexdigest()
    config = db.read_sync(rounds.canonical_config, rnd)
    assert [d["key"] for d in config["districts"]] == ["citywide", "north", "south"]
    assert [len(d["projects"]) for d in config["districts"]] == [1, 1, 1]
    assert config["districts"][0]["projects"] == [
        {"id": "1", "title": "Shade trees", "cost": 5_000_00}
    ]
    with pytest.raises(rounds.RoundLocked):
        db.write_sync(
            rounds.update_round,
            staff,
            round_id,
            round_input(districts, "review", title="Changed"),
            today,
        )
    assert db.read_sync(rounds.get_round, round_id).title == "Budget 2027"
    actions = db.read_sync(lambda s: list(s.scalars(select(AuditEvent.action))))
    assert actions == ["round.create", "round.phase", "round.lock"]


def test_config_fingerprint_is_stable(db: Database, staff: int) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, staff, "voting")
    make_proposal(
        db,
        round_id,
        staff,
        status=ProposalStatus.ACCEPTED,
        feasible_cost=1_00,
        district_id=districts[0],
    )
    today = frozen.TODAY
    first = db.read_sync(
        lambda s: rounds.config_fingerprint(s, rounds.get_round(s, round_id), today)
    )
    stored = db.write_sync(lambda s: rounds.lock(s, rounds.get_round(s, round_id)))
    assert first == stored and first is not None


def test_duplicate_moves_dates_into_the_future(db: Database, staff: int) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, staff, "closed", title="Budget 2025")
    make_proposal(db, round_id, staff)
    today = frozen.TODAY
    copy_id = db.write_sync(lambda s: rounds.duplicate_round(s, staff, round_id, today).id)

    def load(session: object) -> tuple[rounds.RoundInput, rounds.RoundInput]:
        return (
            rounds.round_input(session, rounds.get_round(session, round_id)),  # type: ignore[arg-type]
            rounds.round_input(session, rounds.get_round(session, copy_id)),
        )  # type: ignore[arg-type]

    source, copy = db.read_sync(load)
    assert copy.title == "Budget 2025 (copy)"
    assert copy.proposals_from > today
    assert (copy.voting_until - copy.proposals_from) == (
        source.voting_until - source.proposals_from
    )
    assert copy.district_budgets == source.district_budgets
    assert copy.categories == source.categories
    assert (
        dataclasses.replace(
            copy,
            title=source.title,
            proposals_from=source.proposals_from,
            review_from=source.review_from,
            voting_from=source.voting_from,
            voting_until=source.voting_until,
        )
        == source
    )


def test_staff_are_warned_of_ballots_that_cannot_work(db: Database, staff: int) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, staff, "review")
    make_proposal(db, round_id, staff, status=ProposalStatus.ACCEPTED, feasible_cost=5_000_00)
    make_proposal(
        db,
        round_id,
        staff,
        "Swimming pool",
        district_id=districts[0],
        status=ProposalStatus.ACCEPTED,
        feasible_cost=100_000_01,  # one cent more than North's whole budget
    )
    warnings = db.read_sync(lambda s: rounds.ballot_warnings(s, rounds.get_round(s, round_id)))
    assert warnings == [
        "These ballots have no accepted project yet: South. Voting cannot open until each has one.",
        "“Swimming pool” costs more than the whole budget of North: it can never be funded.",
    ]


def test_districts_named_in_greek_letters_get_unique_keys(db: Database, staff: int) -> None:
    """A slug keeps ASCII only, so Greek names all give "district": the second and later ones
    add their id, and the round locks with a configuration the auditor's check accepts."""
    districts = make_districts(db, ("Βόρειο διαμέρισμα", "Νότιο διαμέρισμα", "Nörd", "Nord"))
    round_id = make_round(db, districts, staff, "review")
    for n, district in enumerate([None, *districts]):
        make_proposal(
            db,
            round_id,
            staff,
            f"Bench {n}",
            district_id=district,
            status=ProposalStatus.ACCEPTED,
            feasible_cost=1_000_00,
        )
    assert db.write_sync(rounds.advance_phase, staff, round_id, frozen.TODAY) is Phase.VOTING
    config = db.read_sync(rounds.canonical_config, db.read_sync(rounds.get_round, round_id))
    check_config(config)
    _greek, other_greek, _nord, later_nord = districts
    assert [d["key"] for d in config["districts"]] == [
        "citywide",
        "district",
        f"district-{other_greek}",
        "nord",
        f"nord-{later_nord}",
    ]
