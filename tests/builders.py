"""Small builders for test data (no framework): districts, rounds, proposals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select

from pb import clock
from pb.db import Database
from pb.models import (
    District,
    Eligibility,
    Proposal,
    ProposalStatus,
    Town,
    VotingMethod,
    VotingScope,
)
from pb.services import rounds
from pb.services.rounds import RoundInput
from tests import frozen


def make_districts(db: Database, names: tuple[str, ...] = ("North", "South")) -> list[int]:
    def build(session: Any) -> list[int]:
        town = session.scalar(select(Town)) or Town(name="Testville", currency="EUR")
        session.add(town)
        session.flush()
        ids = []
        for name in names:  # the town's districts, made once (a test may build two rounds)
            district = session.scalar(select(District).where(District.name == name))
            if district is None:
                district = District(town_id=town.id, name=name)
                session.add(district)
                session.flush()
            ids.append(district.id)
        return ids

    return db.write_sync(build)


def round_input(district_ids: list[int], phase: str = "proposals", **overrides: Any) -> RoundInput:
    """A coherent configuration whose dates put the round in ``phase`` today."""
    today = frozen.TODAY
    offsets = {
        "draft": (5, 10, 20, 30),
        "proposals": (-5, 10, 20, 30),
        "review": (-20, -5, 10, 20),
        "voting": (-30, -20, -2, 10),
        "closed": (-40, -30, -20, -10),
    }[phase]
    days = [today + dt.timedelta(days=o) for o in offsets]
    data = RoundInput(
        title="Budget 2027",
        description="Ideas for the town.",
        currency="EUR",
        total_budget=300_000_00,
        citywide_budget=100_000_00,
        district_budgets={d: 100_000_00 for d in district_ids},
        proposals_from=days[0],
        review_from=days[1],
        voting_from=days[2],
        voting_until=days[3],
        method=VotingMethod.APPROVAL,
        rule="greedy",
        eligibility=Eligibility.ACCOUNT,
        scope=VotingScope.BOTH,
        min_choices=1,
        max_choices=3,
        categories=["Green spaces", "Mobility"],
    )
    if len(district_ids) != 2:
        data.total_budget = data.citywide_budget + 100_000_00 * len(district_ids)
    return dataclasses.replace(data, **overrides)


def make_round(
    db: Database, district_ids: list[int], actor_id: int, phase: str = "proposals", **overrides: Any
) -> int:
    data = round_input(district_ids, phase, **overrides)
    return db.write_sync(lambda s: rounds.create_round(s, actor_id, data).id)


def make_proposal(
    db: Database,
    round_id: int,
    author_id: int,
    title: str = "Shade trees",
    district_id: int | None = None,
    status: ProposalStatus = ProposalStatus.SUBMITTED,
    feasible_cost: int | None = None,
    **fields: Any,
) -> int:
    def build(session: Any) -> int:
        now = clock.now()
        values: dict[str, Any] = {
            "summary": "Plant trees.",
            "description": "Twelve trees on the square.",
            "need": "Heat in summer.",
            "beneficiaries": "",
            "partners": "",
            "place": "",
            "estimated_cost": 10_000_00,
            **fields,
        }
        p = Proposal(
            round_id=round_id,
            author_id=author_id,
            title=title,
            district_id=district_id,
            status=status,
            feasible_cost=feasible_cost,
            created_at=now,
            updated_at=now,
            **values,
        )
        session.add(p)
        session.flush()
        return int(p.id)

    return db.write_sync(build)


def make_voting_round(
    db: Database,
    method: VotingMethod = VotingMethod.APPROVAL,
    eligibility: Eligibility = Eligibility.ACCOUNT,
    scope: VotingScope = VotingScope.BOTH,
    costs: tuple[int, ...] = (60_000_00, 30_000_00, 20_000_00),
    **overrides: Any,
) -> dict[str, Any]:
    """A round in its voting phase with projects on every ballot; returns ids and keys."""
    districts = make_districts(db)
    limits: dict[str, Any] = {
        VotingMethod.APPROVAL: {"min_choices": 1, "max_choices": 2},
        VotingMethod.KNAPSACK: {"min_choices": None, "max_choices": None},
        VotingMethod.QUADRATIC: {"min_choices": None, "max_choices": None, "credits": 25},
        VotingMethod.CUMULATIVE: {
            "min_choices": None,
            "max_choices": None,
            "points": 10,
            "max_per_project": 6,
        },
    }[method]
    citywide = 100_000_00 if scope is not VotingScope.DISTRICT else 0
    per_district = 100_000_00 if scope is not VotingScope.CITYWIDE else 0
    data = round_input(
        districts,
        "voting",
        method=method,
        eligibility=eligibility,
        scope=scope,
        citywide_budget=citywide,
        district_budgets={d: per_district for d in districts},
        total_budget=citywide + 2 * per_district,
        **{**limits, **overrides},
    )
    round_id = db.write_sync(lambda s: rounds.create_round(s, None, data).id)  # type: ignore[arg-type]
    projects: dict[str, list[str]] = {"citywide": [], "north": [], "south": []}
    for key, district_id in (("citywide", None), ("north", districts[0]), ("south", districts[1])):
        if (key == "citywide") == (citywide == 0) and key == "citywide":
            continue
        if key != "citywide" and per_district == 0:
            continue
        for n, cost in enumerate(costs):
            pid = make_proposal(
                db,
                round_id,
                None,
                f"{key} project {n}",  # type: ignore[arg-type]
                district_id=district_id,
                status=ProposalStatus.ACCEPTED,
                feasible_cost=cost,
            )
            projects[key].append(str(pid))
    return {"round_id": round_id, "districts": districts, "projects": projects}


def ballot_counts(db: Database) -> tuple[int, int]:
    """(participation rows, ballot records): they must always move together."""
    from sqlalchemy import func

    from pb.models import BallotRecord, Participation

    return db.read_sync(
        lambda s: (
            s.scalar(select(func.count()).select_from(Participation)),
            s.scalar(
                select(func.count()).select_from(BallotRecord).where(BallotRecord.kind == "ballot")
            ),
        )
    )


def chain_of(db: Database, round_id: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A round's ballot log as stored: the hashed records and their hashes."""
    from pb.services import results

    return db.read_sync(results.chain, round_id)
