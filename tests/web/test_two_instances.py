"""Two separate ``pb serve`` instances (two process groups on two ports, as two machines behind
a load balancer) on one PostgreSQL schema: voters prove eligibility on one and cast on the
other, both at once; the round keeps one hash chain that verifies, one ballot per voter, and
every acknowledged ballot with the receipt and choices its voter got and sent."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmarks import vote_load
from pb import clock
from pb.db import Database, make_engine
from tests.conftest import POSTGRES_URL, unavailable

VOTERS = 120


@pytest.mark.slow
def test_two_instances_on_one_postgresql_cast_into_one_chain(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set PB_TEST_POSTGRES_URL to run this")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with vote_load.fresh_database("postgresql", POSTGRES_URL, tmp_path) as url:
        db = Database(make_engine(url))
        try:
            # The servers are other processes, on the real clock: the round's voting phase
            # must be open on the real date (the autouse fixture freezes it again after).
            clock.set_now(None)
            round_id, projects, codes = vote_load.make_round(db, VOTERS)
            with (
                vote_load.server(url, 2, tmp_path / "a", "pb", []) as a,
                vote_load.server(url, 2, tmp_path / "b", "pb", []) as b,
            ):
                assert a.base != b.base
                rng = random.Random(7)
                voters = [
                    vote_load.VoterState(code, rng.sample(projects, rng.choice((1, 2))))
                    for code in codes
                ]
                # In a thread of its own: the browser tests may leave an event loop running in
                # this one, where asyncio.run refuses to start.
                with ThreadPoolExecutor(1) as pool:
                    checks = pool.submit(
                        lambda: asyncio.run(drive(db, a, b, round_id, voters, rng))
                    ).result()
        finally:
            db.close()
    failed = [label for ok, label in checks if not ok]
    assert not failed, failed


async def drive(
    db: Database,
    a: vote_load.Server,
    b: vote_load.Server,
    round_id: int,
    voters: list[vote_load.VoterState],
    rng: random.Random,
) -> list[tuple[bool, str]]:
    for server in (a, b):
        await vote_load.wait_healthy(
            server.base, asyncio.get_running_loop().time() + 60, server.log_path
        )
    half = len(voters) // 2
    async with (
        vote_load.make_client(a.base, 8, 30) as client_a,
        vote_load.make_client(b.base, 8, 30) as client_b,
    ):
        # Eligibility on one instance, casting on the other: any machine takes any request.
        problems = await asyncio.gather(
            vote_load.prepare(client_a, round_id, voters[:half], 8),
            vote_load.prepare(client_b, round_id, voters[half:], 8),
        )
        assert not problems[0] and not problems[1], problems
        outcomes = await asyncio.gather(
            vote_load.cast_all(client_b, True, round_id, voters[:half], 8, 0.2, rng),
            vote_load.cast_all(client_a, True, round_id, voters[half:], 8, 0.2, rng),
        )
    acknowledged = sum(o.acknowledged for o in outcomes)
    refused = sum(o.duplicates_refused for o in outcomes)
    resent = sum(o.duplicates_sent for o in outcomes)
    errors = [o.errors for o in outcomes if o.errors]
    checks = [
        (not errors, f"no errors: {errors}"),
        (acknowledged == len(voters), f"acknowledged {acknowledged} of {len(voters)}"),
        (resent > 0 and refused == resent, f"re-sent ballots refused: {refused} of {resent}"),
    ]
    return checks + await asyncio.to_thread(vote_load.check_stored, db, round_id, voters)
