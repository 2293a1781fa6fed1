"""Migration 0005 takes the accounts that already exist as verified (made by administrators or
before pb could verify addresses), so nobody who could vote yesterday is turned away today."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pb import migrations
from pb.db import make_engine
from tests.migration_db import empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_database(request.param, tmp_path, request)


def test_existing_accounts_are_taken_as_verified(empty_url: str) -> None:
    migrations.upgrade(empty_url, "0004")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO user_account (email, display_name, password_hash, role, "
                    "created_at, password_changed_at) VALUES ('old@example.org', 'Old', 'x', "
                    "'resident', '2026-01-02 03:04:05', '2026-01-02 03:04:05')"
                )
            )
        migrations.upgrade(empty_url)
        with engine.connect() as conn:
            verified = conn.execute(text("SELECT email_verified_at FROM user_account")).scalar()
            outbox = conn.execute(text("SELECT count(*) FROM mail_outbox")).scalar()
    finally:
        engine.dispose()
    assert str(verified).startswith("2026-01-02 03:04:05")
    assert outbox == 0
