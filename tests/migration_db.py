"""An empty database for a migration test, on SQLite or in a throw-away PostgreSQL schema."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from pb.db import make_engine


def empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database; a PostgreSQL schema is dropped after the test (skips when
    PostgreSQL is not configured)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    from tests.conftest import POSTGRES_URL, unavailable

    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set PB_TEST_POSTGRES_URL")
    schema = f"pb_mig_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    request.addfinalizer(lambda: _drop(admin, schema))
    return (
        make_url(POSTGRES_URL)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _drop(admin: Engine, schema: str) -> None:
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
