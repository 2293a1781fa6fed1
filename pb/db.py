"""Engines and transactions.

SQLite is set up for safe concurrent writes: WAL, ``synchronous=FULL``, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions (so two writers queue on the lock instead of failing
on upgrade), with the writers of every worker process queued in the kernel in front of that lock
(:class:`WriterQueue`). PostgreSQL goes through psycopg 3 with ``pool_pre_ping``.

Every unit of database work is one function run in one transaction, off the event loop
(:meth:`Database.write` / :meth:`Database.read`), as Datasette's ``execute_write_fn`` does.

Outages: :func:`outage_kind` names the failures that mean "the database cannot take writes now"
(disk full, read-only, I/O error, unreachable), which the web answers with 503 and
``Retry-After`` rather than 500, logged one line at a time by :data:`outages`
(rate-limited). Opening a PostgreSQL connection is retried with a short back-off when the
server refuses it or is shutting down or starting up (:func:`connect_with_retry`): nothing had
been sent, so nothing can be done twice. A statement whose outcome is unknown (the connection
was lost after it was sent) is never retried here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

if sys.platform != "win32":
    import fcntl

try:
    import psycopg
except ImportError:  # pragma: no cover - a dependency, but SQLite needs none of it
    psycopg = None  # type: ignore[assignment]

T = TypeVar("T")
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

log = logging.getLogger(__name__)

_READ_ONLY = "pb_read_only"

# The kinds of outage (:func:`outage_kind`).
DISK_FULL = "disk-full"
READ_ONLY = "read-only"
IO_ERROR = "io-error"
UNREACHABLE = "unreachable"

# SQLite's primary result codes (an extended code's low byte).
_SQLITE_KINDS = {13: DISK_FULL, 8: READ_ONLY, 10: IO_ERROR, 14: UNREACHABLE}
_SQLITE_MESSAGES = (
    ("database or disk is full", DISK_FULL),
    ("readonly database", READ_ONLY),
    ("disk i/o error", IO_ERROR),
    ("unable to open database file", UNREACHABLE),
)
# PostgreSQL's SQLSTATEs: read-only transaction, disk full, out of memory, too many
# connections, and the server shutting down or starting up (class 08 is connection exceptions).
_POSTGRES_KINDS = {
    "25006": READ_ONLY,
    "53100": DISK_FULL,
    "53200": UNREACHABLE,
    "53300": UNREACHABLE,
    "57P01": UNREACHABLE,
    "57P02": UNREACHABLE,
    "57P03": UNREACHABLE,
}
_OS_KINDS = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EROFS: READ_ONLY}
_OS_KINDS[errno.EIO] = IO_ERROR


def _own_kind(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_KINDS:
            return _SQLITE_KINDS[code & 0xFF]
        message = str(exc).lower()
        return next((kind for text, kind in _SQLITE_MESSAGES if text in message), None)
    if psycopg is not None and isinstance(exc, psycopg.Error):
        sqlstate = exc.sqlstate
        if sqlstate is not None:
            if sqlstate.startswith("08"):
                return UNREACHABLE
            return _POSTGRES_KINDS.get(sqlstate)
        # No SQLSTATE: the server never answered (refused, lost, timed out).
        return UNREACHABLE if isinstance(exc, psycopg.OperationalError) else None
    if isinstance(exc, OSError) and exc.errno in _OS_KINDS:
        return _OS_KINDS[exc.errno]
    return None


def outage_kind(exc: BaseException) -> str | None:
    """The kind of outage ``exc`` reports (:data:`DISK_FULL`, :data:`READ_ONLY`,
    :data:`IO_ERROR`, :data:`UNREACHABLE`), or None for any other error: the database cannot
    take writes now, through no fault of the request, and trying again later may work."""
    if isinstance(exc, DBAPIError):
        kind = _own_kind(exc.orig) if exc.orig is not None else None
        if kind is None and exc.connection_invalidated:
            return UNREACHABLE
        return kind
    return _own_kind(exc)


def outage_text(exc: BaseException) -> str:
    """One short line about ``exc``, without the statement or its parameters (a ballot's
    choices must never reach a log)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"{type(cause).__name__}: {first[:200]}"


class OutageLog:
    """One log line per outage, at most one per kind every ``interval`` seconds: the next
    line says how many were left out. A full disk must not be filled further by its own
    error messages, nor the log drowned in a traceback per request."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}

    def report(self, kind: str, where: str, exc: BaseException) -> bool:
        """Log ``exc`` (an outage of ``kind`` while doing ``where``) unless a line of this kind
        was logged less than ``interval`` seconds ago; return whether it was logged."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last[0] < self.interval:
                self._last[kind] = (last[0], last[1] + 1)
                return False
            suppressed = last[1] if last is not None else 0
            self._last[kind] = (now, 0)
        more = f" ({suppressed} more since the last line)" if suppressed else ""
        self.logger.error("database %s on %s: %s%s", kind, where, outage_text(exc), more)
        return True


outages = OutageLog(logging.getLogger("pb.db.outage"))

# Back-off between attempts to open a connection (seconds): 0.75 s of waiting in all.
CONNECT_DELAYS = (0.05, 0.1, 0.2, 0.4)
_CONNECT_RETRY_STATES = frozenset({"53300", "57P01", "57P02", "57P03"})


def transient_connect_error(exc: BaseException) -> bool:
    """Whether a failure to open a connection may pass by itself: refused or lost (no
    SQLSTATE), too many connections, the server shutting down or starting up. A wrong password
    or database name is not retried."""
    if psycopg is None or not isinstance(exc, psycopg.OperationalError):
        return False
    sqlstate = exc.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _CONNECT_RETRY_STATES


def connect_with_retry(
    connect: Callable[[], T],
    delays: Sequence[float] = CONNECT_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``connect()``, tried again after each of ``delays`` while it fails transiently
    (:func:`transient_connect_error`). Only opening a connection is retried: no statement has
    been sent on it, so nothing can happen twice."""
    for delay in delays:
        try:
            return connect()
        except Exception as exc:
            if not transient_connect_error(exc):
                raise
        sleep(delay)
    return connect()


def _setup_postgresql(engine: Engine, delays: Sequence[float]) -> None:
    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connect_with_retry(lambda: dialect.connect(*cargs, **cparams), delays)


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten, not left in free pages (see Database.scrub).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriterQueue:
    """The writers to one SQLite file, queued in the kernel in front of SQLite's write lock.

    A writer that finds an SQLite database locked sleeps and retries (SQLite's busy handler: 1,
    2, 5, ... up to 100 ms between tries), so under many concurrent writers the lock sits idle
    while they sleep and who gets it next is luck: a few writes wait seconds. Taking an exclusive
    ``flock`` on a file beside the database before ``BEGIN IMMEDIATE`` makes the writers of every
    worker process wait in the kernel instead, which wakes the next one as soon as the lock is
    released. SQLite's own lock still guarantees everything (and serializes writers that do not
    queue here, such as migrations); this only orders the waiting."""

    def __init__(self, path: str) -> None:
        self.path = path

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        # One open file per turn: flock excludes other open files, also in this process.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue for an SQLite database file (none for PostgreSQL, memory or Windows)."""
    database = engine.url.database
    if (
        sys.platform == "win32"
        or engine.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return WriterQueue(database + "-writers")


def private_sqlite_file(path: str) -> None:
    """Create the database file readable by its owner only (0600), or make it so. SQLite gives
    the files it creates beside it (``-wal``, ``-shm``) the database file's permissions."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError):  # no folder: SQLite says so
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(name).st_mode & 0o777 != 0o600:
                os.chmod(name, 0o600)


def make_engine(
    url: str, pool_size: int = 20, connect_delays: Sequence[float] = CONNECT_DELAYS
) -> Engine:
    """Create the engine for ``url`` with pb's settings for SQLite or PostgreSQL.

    A PostgreSQL engine keeps up to ``pool_size`` connections and opens no more: when all are
    busy, a request waits for one (first come, first served) rather than opening a connection
    it closes right after, which costs PostgreSQL a new backend process each time (under load,
    that churn took more CPU than the queries). Opening a PostgreSQL connection is retried
    after each of ``connect_delays`` (:func:`connect_with_retry`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        pool: dict[str, Any] = {}
        if (
            parsed.database
            and parsed.database != ":memory:"
            and not parsed.database.startswith("file:")
        ):
            private_sqlite_file(parsed.database)
            # Keep as many connections as PostgreSQL's: each new one costs its PRAGMAs.
            pool["pool_size"] = pool_size
        engine = create_engine(
            url, connect_args={"timeout": 15, "check_same_thread": False}, **pool
        )
        _setup_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=0)
        _setup_postgresql(engine, connect_delays)
        return engine
    raise ValueError(
        f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
    )


# Readiness: a write to one row, at most once per this many seconds per process.
HEARTBEAT_TTL = 1.5
_HEARTBEAT = text(
    "INSERT INTO heartbeat (id, beats) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET beats = heartbeat.beats + 1"
)


def _beat(session: Session) -> None:
    session.execute(_HEARTBEAT)


class Database:
    """An engine plus two ways to run a unit of work in one transaction off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready_lock = threading.Lock()
        self._ready: tuple[float, str | None] | None = None
        self._queue = writer_queue(engine)
        self._write = sessionmaker(engine, expire_on_commit=False)
        # On PostgreSQL reads run in autocommit: at READ COMMITTED every statement takes its own
        # snapshot inside a transaction too, so a read transaction would only add two round
        # trips (BEGIN, COMMIT). SQLite reads keep their transaction: one snapshot for all.
        reader = engine.execution_options(**{_READ_ONLY: True})
        if engine.dialect.name == "postgresql":
            reader = reader.execution_options(isolation_level="AUTOCOMMIT")
        self._read = sessionmaker(reader, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def write_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args)`` in a write transaction; commit on success."""
        with (
            self._queue.turn() if self._queue else contextlib.nullcontext(),
            self._write.begin() as session,
        ):
            return fn(session, *args, **kwargs)

    def read_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args)`` in a read transaction (rolled back at the end)."""
        with self._read() as session, session.begin():
            return fn(session, *args, **kwargs)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(self.write_sync, fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(self.read_sync, fn, *args, **kwargs)

    def ready_sync(self) -> str | None:
        """None if the database takes a write now (a tiny transaction on the heartbeat row,
        written the way casts write), else the kind of outage (:func:`outage_kind`, or
        ``"error"``). The answer is kept :data:`HEARTBEAT_TTL` seconds, so probes cannot load
        the database; a failure is logged through :data:`outages`."""
        with self._ready_lock:
            if self._ready is not None and time.monotonic() - self._ready[0] < HEARTBEAT_TTL:
                return self._ready[1]
            result: str | None = None
            try:
                self.write_sync(_beat)
            except Exception as exc:
                result = outage_kind(exc) or "error"
                outages.report(result, "the readiness check", exc)
            self._ready = (time.monotonic(), result)
            return result

    async def ready(self) -> str | None:
        return await run_in_threadpool(self.ready_sync)

    def scrub_sync(self) -> None:
        """Remove what deleted and rewritten rows left in the database files, after a commit.

        Run after :func:`pb.services.ballot_log.seal_participation`: on PostgreSQL,
        ``VACUUM FULL participation`` writes the table and its index anew (without the old row
        versions, which kept the order and transaction ids of casting); on SQLite, ``VACUUM``
        rebuilds the file in key order, and the write-ahead log, which held each cast's pages
        in turn, is emptied and truncated."""
        # What it cleans up is committed already: a failure is logged, not the caller's.
        try:
            if self.is_sqlite:
                with self._queue.turn() if self._queue else contextlib.nullcontext():
                    raw = self.engine.raw_connection()
                    try:
                        cursor = raw.cursor()
                        cursor.execute("VACUUM")
                        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                        cursor.close()
                    finally:
                        raw.close()
                return
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM FULL participation")
        except (DBAPIError, sqlite3.Error):
            log.exception("could not vacuum the database after sealing participation")

    async def scrub(self) -> None:
        await run_in_threadpool(self.scrub_sync)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self) -> Session:
        """A plain session for scripts and tests (caller frames the transaction)."""
        return self._write()


class WriteBatcher(Generic[Item, Outcome]):
    """Writes that arrive together, done together: a group commit.

    Where every write must take one lock in turn (the appends to a round's ballot log), the
    time each holds it bounds throughput, and most of that time is fixed cost: the queue, the
    round trips and the commit. So one thread per process takes every item waiting and writes
    them with ``write(session, items)`` in one transaction, which returns one outcome per item
    (a value, or an exception that belongs to that item alone); each caller awaits its own.
    Items wait in order (first come, first written), so this also queues the process's writers
    fairly, and only one per process contends for the database's lock.

    If a batch's transaction fails, nothing of it is kept, and each of its items is tried again
    alone, so that one item's failure stays its own. The thread stops after ``idle`` seconds
    without work and starts again with the next item."""

    def __init__(
        self,
        db: Database,
        write: Callable[[Session, list[Item]], Sequence[Outcome | Exception]],
        max_batch: int = 64,
        idle: float = 5.0,
    ) -> None:
        self.db = db
        self.write = write
        self.max_batch = max_batch
        self.idle = idle
        self._waiting: collections.deque[
            tuple[Item, asyncio.AbstractEventLoop, asyncio.Future[Outcome]]
        ] = collections.deque()
        self._wake = threading.Condition()
        self._running = False

    async def submit(self, item: Item) -> Outcome:
        """Write ``item`` with the next batch; return its outcome or raise its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        with self._wake:
            self._waiting.append((item, loop, future))
            if self._running:
                self._wake.notify()
            else:
                self._running = True
                threading.Thread(target=self._run, name="pb-write-batcher", daemon=True).start()
        return await future

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._waiting:
                    self._wake.wait(self.idle)
                if not self._waiting:
                    self._running = False
                    return
                batch = [
                    self._waiting.popleft() for _ in range(min(self.max_batch, len(self._waiting)))
                ]
            self._write(batch)

    def _write(
        self, batch: list[tuple[Item, asyncio.AbstractEventLoop, asyncio.Future[Outcome]]]
    ) -> None:
        try:
            outcomes = list(self.db.write_sync(self.write, [item for item, _l, _f in batch]))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} writes")
        except Exception as exc:
            # An outage fails every write alike: trying each alone would only wait longer.
            if len(batch) > 1 and outage_kind(exc) is None:
                log.warning("a batch of %d writes failed; writing each alone", len(batch))
                for job in batch:
                    self._write([job])
                return
            outcomes = [exc] * len(batch)
        for (_item, loop, future), outcome in zip(batch, outcomes, strict=True):
            with contextlib.suppress(RuntimeError):  # the caller's event loop is closed
                loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[Outcome], outcome: Outcome | Exception) -> None:
    if future.done():  # the caller went away (cancelled): the write stands regardless
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
