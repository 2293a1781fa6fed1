"""Honest health and outages (issue 16, items 3 and 4): ``/health`` is liveness,
``/health/ready`` says whether the database takes a write; a cast that cannot be written (a
read-only database, a full disk, an unreachable server) gets 503 with ``Retry-After`` and a page
saying the ballot was NOT recorded, with one log line per outage and no traceback; opening a
PostgreSQL connection is retried through a brief outage."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from pb import db as pb_db
from pb.config import Settings
from pb.db import Database, make_engine
from pb.models import Role
from pb.web.app import create_app
from tests.builders import ballot_counts, make_voting_round
from tests.conftest import AuthActions
from tests.web.test_cast_idempotent import post, review, shown_receipt


@pytest.fixture(autouse=True)
def _fresh_outage_log() -> None:
    pb_db.outages._last.clear()  # the rate limit must not carry over from another test


def read_only_engine(url: str) -> Engine:
    """An engine on the same database that can read but not write: SQLite's ``query_only``,
    PostgreSQL's ``default_transaction_read_only`` (as a read-only replica or a database put
    into read-only mode would behave)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = make_engine(url)

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only=ON")

        return engine
    options = parsed.query.get("options", "")
    assert isinstance(options, str)
    options += " -cdefault_transaction_read_only=on"
    return make_engine(
        parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    )


@pytest.fixture
def faulty(settings: Settings) -> Iterator[Callable[[Engine], TestClient]]:
    """Clients of an app like ``client``'s (same settings, same data) on another engine."""
    made: list[tuple[TestClient, Database]] = []

    def make(engine: Engine) -> TestClient:
        database = Database(engine)
        client = TestClient(create_app(settings, database))
        client.__enter__()
        made.append((client, database))
        return client

    yield make
    for client, database in made:
        client.__exit__(None, None, None)
        database.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pb.db.outage"]


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_read_only_database_503_not_recorded_and_not_ready(
    client: TestClient,
    auth: AuthActions,
    db: Database,
    settings: Settings,
    faulty: Callable[[Engine], TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0]]})
    broken = faulty(read_only_engine(settings.database_url))
    broken.cookies = client.cookies
    assert client.get("/health/ready").status_code == 200
    for _ in range(3):
        cast = post(broken, rid, "citywide", fields)
        assert cast.status_code == 503, cast.text
        assert cast.headers["retry-after"] == "5"
        assert "Your ballot was NOT recorded." in cast.text and "<html" in cast.text
    fragment = broken.post(
        f"/rounds/{rid}/vote/citywide",
        data=dict(fields),
        headers={"hx-request": "true"},
    )
    assert fragment.status_code == 503 and "NOT recorded" in fragment.text
    assert "<html" not in fragment.text
    assert ballot_counts(db) == (0, 0)
    ready = broken.get("/health/ready")
    assert ready.status_code == 503 and ready.text == "not ready: read-only"
    assert ready.headers["retry-after"] == "5"
    assert broken.get("/health").status_code == 200  # alive: it can still read
    assert broken.get(f"/rounds/{rid}").status_code == 200  # and show pages
    # One line for the outage (the rest counted, not logged), no traceback.
    lines = outage_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "read-only" in lines[0].getMessage() and not lines[0].exc_info
    assert "INSERT INTO" not in lines[0].getMessage()  # never the statement, nor its values
    assert_no_traceback(caplog)
    # The ballot was not recorded: the same form, once the database is back, casts it.
    assert shown_receipt(client, post(client, rid, "citywide", fields))
    assert ballot_counts(db) == (1, 1)


def test_outage_log_is_rate_limited() -> None:
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("pb.test.outage")
    logger.addHandler(Capture())
    now = [100.0]
    outage_log = pb_db.OutageLog(logger, interval=10.0, clock=lambda: now[0])
    error = psycopg.errors.ReadOnlySqlTransaction(
        "cannot execute INSERT in a read-only transaction"
    )
    assert outage_log.report("read-only", "POST /x", error)
    for _ in range(41):
        now[0] += 0.1
        assert not outage_log.report("read-only", "POST /x", error)
    assert outage_log.report("disk-full", "POST /x", OSError(28, "No space left on device"))
    now[0] += 10
    assert outage_log.report("read-only", "POST /x", error)
    assert len(records) == 3 and "(41 more since the last line)" in records[2]


def test_outage_kinds() -> None:
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def sqlite_error(setup: str, statement: str) -> BaseException:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (x)")
        conn.execute(setup)
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            return OperationalError(statement, {}, exc)
        finally:
            conn.close()
        raise AssertionError("no error")

    read_only = sqlite_error("PRAGMA query_only=ON", "INSERT INTO t VALUES (1)")
    assert pb_db.outage_kind(read_only) == pb_db.READ_ONLY
    assert pb_db.outage_kind(OSError(errno.ENOSPC, "full")) == pb_db.DISK_FULL
    assert pb_db.outage_kind(psycopg.errors.DiskFull("could not extend file")) == pb_db.DISK_FULL
    assert pb_db.outage_kind(psycopg.errors.AdminShutdown("terminating")) == pb_db.UNREACHABLE
    assert pb_db.outage_kind(psycopg.OperationalError("connection refused")) == pb_db.UNREACHABLE
    assert pb_db.outage_kind(psycopg.errors.UniqueViolation("duplicate")) is None
    assert pb_db.outage_kind(ValueError("x")) is None
    assert pb_db.outage_kind(sqlite_error("SELECT 1", "SELECT * FROM missing")) is None


def test_connect_retry_backs_off_then_gives_up() -> None:
    waits: list[float] = []
    attempts = [0]

    def connect() -> str:
        attempts[0] += 1
        if attempts[0] <= 3:
            raise psycopg.errors.CannotConnectNow("the database system is starting up")
        return "connection"

    assert pb_db.connect_with_retry(connect, sleep=waits.append) == "connection"
    assert waits == [0.05, 0.1, 0.2] and sum(pb_db.CONNECT_DELAYS) < 1.5
    waits.clear()

    def refused() -> str:
        raise psycopg.OperationalError("connection refused")

    with pytest.raises(psycopg.OperationalError):
        pb_db.connect_with_retry(refused, sleep=waits.append)
    assert waits == list(pb_db.CONNECT_DELAYS)
    waits.clear()

    def wrong_password() -> str:
        raise psycopg.errors.InvalidPassword("password authentication failed")

    with pytest.raises(psycopg.OperationalError):
        pb_db.connect_with_retry(wrong_password, sleep=waits.append)
    assert waits == []  # not retried


def postgres_only(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL connections")


def flaky_connect(engine: Engine, failures: int | None) -> list[int]:
    """Make opening a connection fail ``failures`` times (None: always), as a PostgreSQL
    restart does: refused, then "starting up"."""
    real = engine.dialect.connect
    count = [0]

    def connect(*cargs: Any, **cparams: Any) -> Any:
        count[0] += 1
        if failures is None or count[0] <= failures:
            if count[0] % 2:
                raise psycopg.OperationalError("connection refused")
            raise psycopg.errors.CannotConnectNow("the database system is starting up")
        return real(*cargs, **cparams)

    engine.dialect.connect = connect  # type: ignore[method-assign]
    return count


def test_a_brief_outage_at_connect_is_retried(
    client: TestClient,
    auth: AuthActions,
    db: Database,
    settings: Settings,
    faulty: Callable[[Engine], TestClient],
) -> None:
    postgres_only(settings)
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0]]})
    engine = make_engine(settings.database_url)
    count = flaky_connect(engine, 3)
    restarting = faulty(engine)
    restarting.cookies = client.cookies
    shown_receipt(restarting, post(restarting, rid, "citywide", fields))
    assert count[0] >= 4 and ballot_counts(db) == (1, 1)


def test_a_long_outage_at_connect_is_503(
    client: TestClient,
    auth: AuthActions,
    db: Database,
    settings: Settings,
    faulty: Callable[[Engine], TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    postgres_only(settings)
    caplog.set_level(logging.INFO)
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0]]})
    engine = make_engine(settings.database_url)
    flaky_connect(engine, None)
    down = faulty(engine)
    down.cookies = client.cookies
    started = time.monotonic()
    cast = post(down, rid, "citywide", fields)
    assert cast.status_code == 503 and "NOT recorded" in cast.text
    assert cast.headers["retry-after"] == "5"
    ready = TestClient(down.app).get("/health/ready")  # a probe sends no cookie
    assert ready.status_code == 503 and ready.text == "not ready: unreachable"
    assert time.monotonic() - started < 15
    assert ballot_counts(db) == (0, 0)
    assert outage_lines(caplog) and not any(r.exc_info for r in caplog.records)


def test_terminated_pooled_connections_are_replaced(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    """``pg_terminate_backend`` on every pooled connection of the app between requests."""
    postgres_only(settings)
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0]]})
    # The pool's own connections only (other test runs share this PostgreSQL).
    held = [db.engine.connect() for _ in range(3)]
    pids = [conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in held]
    for conn in held:
        conn.close()  # back to the pool, where they are killed
    admin = make_engine(settings.database_url)
    with admin.connect() as conn:
        killed = sum(
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            for pid in pids
        )
    admin.dispose()
    assert killed == 3
    shown_receipt(client, post(client, rid, "citywide", fields))
    assert client.get("/health/ready").status_code == 200


def can_mount_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_disk_full_503_and_not_ready(
    tmp_path: Path,
    settings: Settings,
    faulty: Callable[[Engine], TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database on a small tmpfs, filled up: casts get 503, readiness is red."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("a file on a full disk: SQLite")
    small = tmp_path / "small"
    small.mkdir()
    if not can_mount_tmpfs(small):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        source = make_url(settings.database_url).database
        assert source
        shutil.copyfile(source, small / "pb.sqlite3")
        url = f"sqlite:///{small / 'pb.sqlite3'}"
        setup = Database(make_engine(url))
        r = make_voting_round(setup)
        setup.close()
        rid, p = r["round_id"], r["projects"]["citywide"]
        full = faulty(make_engine(url))
        AuthActions(full, full.app.state.pb.db, full.app.state.pb.settings).login_as(  # type: ignore[attr-defined]
            Role.RESIDENT
        )
        fields = review(full, rid, "citywide", {"p": [p[0]]})
        assert full.get("/health/ready").status_code == 200
        with open(small / "filler", "wb") as filler, pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        time.sleep(pb_db.HEARTBEAT_TTL)
        ready = full.get("/health/ready")
        assert ready.status_code == 503 and ready.text == "not ready: disk-full"
        cast = post(full, rid, "citywide", fields)
        assert cast.status_code == 503 and "NOT recorded" in cast.text
        assert full.get("/health").status_code == 200
        assert not any(r.exc_info for r in caplog.records)
        (small / "filler").unlink()
        time.sleep(pb_db.HEARTBEAT_TTL)
        assert full.get("/health/ready").status_code == 200
        shown_receipt(full, post(full, rid, "citywide", fields))
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
