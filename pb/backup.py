"""``pb db backup FILE`` and ``pb db restore FILE``: a consistent copy of the database while
the server runs, and that copy put back into an empty database.

SQLite: SQLite's online backup API (:meth:`sqlite3.Connection.backup`) copies the database in
one step inside one read transaction, so the copy is the database as of one instant even while
the server writes (in WAL mode writers go on meanwhile). The copy is written beside ``FILE``
and renamed into place when complete, readable by its owner only.

PostgreSQL: ``pg_dump -Fc`` of the database's schema (``pg_dump`` also reads one snapshot);
``pg_restore`` puts it back in one transaction. Both must be installed, of the server's major
version or newer (Debian: ``postgresql-client``).

Either way the command prints each round's ballot-log head (records and last hash), read from
the copy, and a restore also verifies every round's hash chain (:func:`pb.audit.verify_chain`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from pb.errors import PbError


class BackupError(PbError):
    """The backup or restore cannot be made (the message says why, on one line)."""


@dataclass(frozen=True)
class ChainHead:
    round_id: int
    records: int
    hash: str
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        state = "; ".join(self.problems[:3]) if self.problems else "verifies"
        records = f"{self.records} ballot-log records"
        return f"round {self.round_id}: {records}, head {self.hash} ({state})"


def chain_heads(engine: Engine, verify: bool = False) -> list[ChainHead]:
    """Each round's ballot-log head (and, with ``verify``, the problems of its chain)."""
    from pb.audit import verify_chain
    from pb.models import BallotRecord, Round

    heads = []
    with Session(engine) as session:
        for rnd in session.scalars(select(Round).order_by(Round.id)):
            rows = list(
                session.execute(
                    select(BallotRecord.record, BallotRecord.hash)
                    .where(BallotRecord.round_id == rnd.id)
                    .order_by(BallotRecord.seq)
                )
            )
            if not rows:
                continue
            problems: list[str] = []
            if verify:
                config = json.loads(rnd.locked_config) if rnd.locked_config else None
                problems = verify_chain(
                    [json.loads(r.record) for r in rows], [r.hash for r in rows], config=config
                )
            heads.append(ChainHead(int(rnd.id), len(rows), rows[-1].hash, tuple(problems)))
    return heads


def _sqlite_path(url: URL) -> str | None:
    database = url.database
    if url.get_backend_name() != "sqlite":
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("pb db backup and restore need an SQLite database file")
    return database


def _sqlite_engine(path: Path | str) -> Engine:
    from pb.db import make_engine

    return make_engine(f"sqlite:///{path}", pool_size=1)


def _new_file(path: Path) -> None:
    if path.exists():
        raise BackupError(f"{path}: the file exists; back up into a new file")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such folder")


def backup(database_url: str, target: Path) -> list[ChainHead]:
    """Copy the database into the new file ``target``; return the copy's chain heads."""
    url = make_url(database_url)
    _new_file(target)
    source = _sqlite_path(url)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if source is not None:
            if not Path(source).is_file():
                raise BackupError(f"{source}: no such database file")
            _sqlite_backup(source, partial)
            engine = _sqlite_engine(partial)
            try:
                heads = chain_heads(engine)
            finally:
                engine.dispose()
        else:
            _pg_dump(url, partial)
            heads = []
        os.replace(partial, target)
        return heads
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _sqlite_backup(source: str, target: Path) -> None:
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=15)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # every page in one step: one read transaction, one instant
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None


def restore(database_url: str, source: Path) -> list[ChainHead]:
    """Put the backup ``source`` into the empty database; return its verified chain heads."""
    from pb.db import make_engine

    url = make_url(database_url)
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    target = _sqlite_path(url)
    if target is not None:
        _sqlite_restore(source, target)
        engine = _sqlite_engine(target)
    else:
        _pg_restore(url, source)
        engine = make_engine(database_url, pool_size=1)
    try:
        return chain_heads(engine, verify=True)
    finally:
        engine.dispose()


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return [str(row[0]) for row in rows]


def _sqlite_restore(source: Path, target: str) -> None:
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if "alembic_version" not in _sqlite_tables(src):
                raise BackupError(f"{source}: not a pb database backup")
            if Path(target).exists():
                with contextlib.closing(sqlite3.connect(target)) as existing:
                    if _sqlite_tables(existing):
                        raise BackupError(
                            f"{target}: the database is not empty; restore into a new one"
                        )
            from pb.db import private_sqlite_file

            private_sqlite_file(target)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # one transaction: all or nothing
                dst.execute("PRAGMA journal_mode=WAL")
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: cannot restore: {exc}") from None


# --- PostgreSQL ------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install PostgreSQL's client tools (e.g. postgresql-client), "
            "of the server's major version or newer"
        )
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url``, and the environment (its password, options)."""
    env = dict(os.environ)
    query = dict(url.query)
    options = query.pop("options", None)
    if isinstance(options, str):
        env["PGOPTIONS"] = options
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None, query={})
    for key, value in query.items():  # sslmode and the like
        plain = plain.update_query_dict({key: value})
    return plain.render_as_string(hide_password=False), env


@contextlib.contextmanager
def _pg_engine(url: URL) -> Iterator[Engine]:
    from pb.db import make_engine

    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def _schema(engine: Engine) -> tuple[str, int]:
    """The connection's current schema (from its search_path) and the tables in it."""
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
        if schema is None:
            path = connection.execute(text("SHOW search_path")).scalar()
            return str(path).split(",")[0].strip().strip('"'), 0
        tables = connection.execute(
            text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :schema"),
            {"schema": schema},
        ).scalar()
    return str(schema), int(tables or 0)


def _run(command: list[str], env: dict[str, str]) -> str:
    # The tools are found on PATH by shutil.which; the arguments are pb's own, not a shell's.
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        raise BackupError(f"{Path(command[0]).name}: {message}")
    return done.stdout


def _pg_dump(url: URL, target: Path) -> None:
    pg_dump = _tool("pg_dump")
    with _pg_engine(url) as engine:
        schema, tables = _schema(engine)
    if not tables:
        raise BackupError(f"schema {schema} has no tables: nothing to back up")
    uri, env = _libpq(url)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    _run([pg_dump, "--format=custom", f"--schema={schema}", f"--file={target}", uri], env)


def _pg_restore(url: URL, source: Path) -> None:
    pg_restore = _tool("pg_restore")
    uri, env = _libpq(url)
    listing = _run([pg_restore, "--list", str(source)], env)
    # Lines such as "215; 1259 16390 TABLE myschema ballot_record postgres".
    schemas = {
        parts[4]
        for line in listing.splitlines()
        if not line.startswith(";") and len(parts := line.split()) > 5
        if parts[3] == "TABLE" and parts[4] != "DATA"
    }
    with _pg_engine(url) as engine:
        schema, tables = _schema(engine)
    if "alembic_version" not in listing:
        raise BackupError(f"{source}: not a pb database backup")
    if schemas != {schema}:
        raise BackupError(
            f"{source} holds schema {', '.join(sorted(schemas))}; restore it into a database "
            f"whose search_path is that schema (this one's is {schema})"
        )
    if tables:
        raise BackupError(f"schema {schema} is not empty; restore into an empty database")
    _run(
        [
            pg_restore,
            "--single-transaction",
            "--exit-on-error",
            # The schema may exist, empty (checked above): drop it before creating it.
            "--clean",
            "--if-exists",
            "--no-owner",
            f"--dbname={uri}",
            str(source),
        ],
        env,
    )
