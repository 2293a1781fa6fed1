"""Migration 0016 recounts campaign totals that earlier code left wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pb import migrations
from pb.db import Database, make_engine
from pb.models import Role
from pb.services import accounts
from tests.collection_builders import totals_off
from tests.funding_builders import make_call, make_campaign, pledge
from tests.migration_db import empty_database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_recounts_campaign_totals(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = empty_database(backend, tmp_path, request)
    migrations.upgrade(url, "0015")
    db = Database(make_engine(url))
    call = make_call(db, "pledging")
    garden = make_campaign(db, call)
    bench = make_campaign(db, call, title="Bench")
    for n, (campaign, amount, eligible) in enumerate(
        [(garden, 25_00, True), (garden, 40_00, True), (garden, 9_00, False), (bench, 16_00, True)]
    ):
        user = db.write_sync(
            lambda s, n=n: (
                accounts.create_user(
                    s,
                    f"backer{n}@example.org",
                    "Backer",
                    "not-a-hash",
                    Role.RESIDENT,
                    verified=True,
                ).id
            )
        )
        pledge(db, user, campaign, amount, eligible=eligible)
        pledge(db, user, campaign, 1_00, eligible=eligible)  # a second pledge of one resident
    with db.engine.begin() as conn:  # as an unpaid pledge cancelled by the old code left them
        conn.execute(text("UPDATE pledge SET state = 'cancelled' WHERE amount = 4000"))
        conn.execute(text("UPDATE campaign_totals SET match_sum_sqrt = 1.5"))
    assert sorted(totals_off(db, call)) == sorted([garden, bench])
    db.engine.dispose()
    migrations.upgrade(url)
    db = Database(make_engine(url))
    assert totals_off(db, call) == []
    db.engine.dispose()
