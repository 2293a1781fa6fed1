"""Migration 0005 takes the accounts that already exist as verified (made by administrators or
before pb could verify addresses), so nobody who could vote yesterday is turned away today."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pb import migrations
from pb.db import make_engine
from tests.conftest import POSTGRES_URL, unavailable


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set PB_TEST_POSTGRES_URL to run these on it")
    schema = f"pb_mig_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


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
