"""Migration 0006 keeps every participation row while re-keying the table by the voter hash."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pb import migrations
from pb.db import Database, make_engine
from pb.services import rounds
from tests.builders import round_input
from tests.migration_db import empty_database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_keeps_participation_in_key_order(
    backend: str, tmp_path, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    url = empty_database(backend, tmp_path, request)
    migrations.upgrade(url, "0004")
    db = Database(make_engine(url))
    round_id = db.write_sync(lambda s: rounds.create_round(s, None, _citywide()).id)  # type: ignore[arg-type]
    keys = [f"{n:064x}"[::-1] for n in range(1, 30)]  # cast order is not key order
    with db.engine.begin() as conn:
        for key in keys:
            conn.execute(
                text("INSERT INTO participation (round_id, slot, voter_key) VALUES (:r, 'c', :k)"),
                {"r": round_id, "k": key},
            )
    engine = db.engine
    engine.dispose()
    migrations.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        order = "" if backend == "sqlite" else " ORDER BY ctid"
        stored = [r[0] for r in conn.execute(text(f"SELECT voter_key FROM participation{order}"))]
    engine.dispose()
    assert stored == sorted(keys)


def _citywide() -> rounds.RoundInput:
    from pb.models import VotingScope

    return round_input(
        [], scope=VotingScope.CITYWIDE, total_budget=100_000_00, citywide_budget=100_000_00
    )
