"""SQLite is set up for safe concurrent writes; PostgreSQL through psycopg with pre-ping."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from pb.db import Database, make_engine
from pb.models import Town


def test_sqlite_pragmas(sqlite_template: Path) -> None:
    db = Database(make_engine(f"sqlite:///{sqlite_template}"))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.engine.dispose()


def test_postgres_uses_psycopg_with_pre_ping(postgres_schema_url: str) -> None:
    engine = make_engine(postgres_schema_url.replace("+psycopg", ""))
    assert engine.dialect.driver == "psycopg"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    engine.dispose()


def test_concurrent_read_modify_write_loses_nothing(db: Database) -> None:
    """Write transactions serialize (BEGIN IMMEDIATE on SQLite), so no increment is lost."""
    db.write_sync(lambda s: s.add(Town(name="0", currency="EUR")))

    def bump(session: Session) -> None:
        town = session.scalars(select(Town).with_for_update()).one()
        session.execute(update(Town).where(Town.id == town.id).values(name=str(int(town.name) + 1)))

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                db.write_sync(bump)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.read_sync(lambda s: s.scalar(select(Town.name))) == "80"


def test_write_failure_leaves_nothing(db: Database) -> None:
    def half(session: Session) -> None:
        session.add(Town(name="half", currency="EUR"))
        session.flush()
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        db.write_sync(half)
    assert db.read_sync(lambda s: s.execute(text("SELECT count(*) FROM town")).scalar()) == 0
