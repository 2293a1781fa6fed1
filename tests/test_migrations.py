"""Upgrading an empty database gives exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pb.db import Database
from pb.models import Base


def test_migrated_schema_matches_models(db: Database) -> None:
    # The `database_url` fixture builds every test database by running the migrations.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
