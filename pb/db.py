"""Engines and transactions.

SQLite is set up for safe concurrent writes: WAL, ``synchronous=FULL``, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions (so two writers queue on the lock instead of failing
on upgrade), with the writers of every worker process queued in the kernel in front of that lock
(:class:`WriterQueue`). PostgreSQL goes through psycopg 3 with ``pool_pre_ping``.

Every unit of database work is one function run in one transaction, off the event loop
(:meth:`Database.write` / :meth:`Database.read`), as Datasette's ``execute_write_fn`` does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

if sys.platform != "win32":
    import fcntl

T = TypeVar("T")
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

log = logging.getLogger(__name__)

_READ_ONLY = "pb_read_only"


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


def make_engine(url: str, pool_size: int = 20) -> Engine:
    """Create the engine for ``url`` with pb's settings for SQLite or PostgreSQL.

    A PostgreSQL engine keeps up to ``pool_size`` connections and opens no more: when all are
    busy, a request waits for one (first come, first served) rather than opening a connection
    it closes right after, which costs PostgreSQL a new backend process each time (under load,
    that churn took more CPU than the queries)."""
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
        return create_engine(parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=0)
    raise ValueError(
        f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
    )


class Database:
    """An engine plus two ways to run a unit of work in one transaction off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
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
            if len(batch) > 1:
                log.warning("a batch of %d writes failed; writing each alone", len(batch))
                for job in batch:
                    self._write([job])
                return
            outcomes = [exc]
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
