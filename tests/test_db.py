"""SQLite is set up for safe concurrent writes; PostgreSQL through psycopg with pre-ping; writes
that arrive together are written together."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from pb.db import Database, WriteBatcher, make_engine
from pb.models import Town

T = TypeVar("T")


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


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` in a thread of its own: the browser tests' Playwright keeps an
    event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def _towns(db: Database) -> list[str]:
    return sorted(db.read_sync(lambda s: list(s.scalars(select(Town.name)))))


def test_batcher_writes_what_waits_together_and_answers_each_caller(db: Database) -> None:
    """The first write holds the thread; everything submitted meanwhile goes in one batch, in
    order, and each caller gets its own outcome: a value or its own exception."""
    release = threading.Event()
    batches: list[list[str]] = []

    def write(session: Session, names: list[str]) -> list[str | Exception]:
        batches.append(list(names))
        if len(batches) == 1:
            release.wait(10)
        outcomes: list[str | Exception] = []
        for name in names:
            if name.startswith("refused"):
                outcomes.append(ValueError(name))
            else:
                session.add(Town(name=name, currency="EUR"))
                outcomes.append(name.upper())
        return outcomes

    batcher: WriteBatcher[str, str] = WriteBatcher(db, write)

    async def main() -> list[str | BaseException]:
        first = asyncio.ensure_future(batcher.submit("first"))
        while not batches:
            await asyncio.sleep(0.01)
        names = [f"town-{n}" if n % 10 else f"refused-{n}" for n in range(40)]
        rest = [asyncio.ensure_future(batcher.submit(name)) for name in names]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    outcomes = run(main)
    assert [len(b) for b in batches] == [1, 40]
    assert outcomes[0] == "FIRST"
    for n, outcome in enumerate(outcomes[1:]):
        if n % 10:
            assert outcome == f"TOWN-{n}"
        else:
            assert isinstance(outcome, ValueError) and str(outcome) == f"refused-{n}"
    assert len(_towns(db)) == 1 + 36


def test_a_failed_batch_keeps_nothing_and_is_retried_item_by_item(db: Database) -> None:
    """One item that breaks the transaction must not take the others down with it."""
    release = threading.Event()
    calls = []

    def write(session: Session, names: list[str]) -> list[str]:
        calls.append(len(names))
        if len(calls) == 1:
            release.wait(10)
        for name in names:
            session.add(Town(name=name, currency="EUR"))
            session.flush()
            if name == "poison":
                raise RuntimeError("the database refused")
        return names

    batcher: WriteBatcher[str, str] = WriteBatcher(db, write)

    async def main() -> list[str | BaseException]:
        first = asyncio.ensure_future(batcher.submit("first"))
        while not calls:
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(batcher.submit(n)) for n in ("a", "poison", "b")]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, a, poison, b = run(main)
    assert calls == [1, 3, 1, 1, 1]
    assert (first, a, b) == ("first", "a", "b")
    assert isinstance(poison, RuntimeError)
    assert _towns(db) == ["a", "b", "first"]


def test_batcher_thread_stops_when_idle_and_starts_again(db: Database) -> None:
    threads: list[threading.Thread] = []

    def write(session: Session, names: list[str]) -> list[str]:
        threads.append(threading.current_thread())
        return [name.upper() for name in names]

    batcher: WriteBatcher[str, str] = WriteBatcher(db, write, idle=0.05)
    assert run(lambda: batcher.submit("one")) == "ONE"
    threads[0].join(5)
    assert not threads[0].is_alive(), "the idle writer thread did not stop"
    assert run(lambda: batcher.submit("two")) == "TWO"
    assert threads[1] is not threads[0]


def test_var_folder_and_sqlite_files_are_private(tmp_path: Path) -> None:
    import os
    import stat

    from pb import migrations
    from pb.config import load_settings

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    previous = os.umask(0o022)  # the usual umask: files 0644, folders 0755
    try:
        var = tmp_path / "var"
        settings = load_settings({"PB_VAR_DIR": str(var)})  # a first local run
        migrations.upgrade(settings.database_url)
        db = Database(make_engine(settings.database_url))
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            names = {p.name for p in var.iterdir()}
            assert {"pb.sqlite3", "pb.sqlite3-wal", "pb.sqlite3-shm", "secret_key"} <= names
            assert mode(var) == 0o700
            for name in names:
                assert mode(var / name) == 0o600, name
        db.engine.dispose()
        # A folder and database left readable by an earlier version are tightened.
        var.chmod(0o755)
        (var / "pb.sqlite3").chmod(0o644)
        settings = load_settings({"PB_VAR_DIR": str(var)})
        make_engine(settings.database_url).dispose()
        assert (mode(var), mode(var / "pb.sqlite3")) == (0o700, 0o600)
        # Someone else's folder (no pb files in it) is left alone.
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        load_settings({"PB_VAR_DIR": str(shared), "PB_DATABASE_URL": "sqlite:///:memory:"})
        assert mode(shared) == 0o755
    finally:
        os.umask(previous)
