"""``pb db backup`` and ``pb db restore``: a copy taken while ballots are being cast restores
into an empty database with a ballot log that verifies and ends at the head printed at backup
time, a prefix of the live log; a database that is not empty is refused."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pb import cli
from pb.db import Database, make_engine
from pb.models import VotingScope
from pb.services import voting
from tests import frozen
from tests.builders import chain_of, make_voting_round
from tests.conftest import POSTGRES_URL

HEAD = re.compile(r"round (\d+): (\d+) ballot-log records, head ([0-9a-f]{64}) \(verifies\)")


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database to restore into: a new SQLite file, or a new PostgreSQL database with
    the same schema name on its search_path (the schema does not exist there yet)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"pb_restore_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.engine.dispose()


def run_pb(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("PB_DATABASE_URL", url)
    monkeypatch.setenv("PB_SECRET_KEY", "k" * 48)
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_backup_during_casting_restores_with_the_chain_head_of_its_instant(
    db: Database,
    database_url: str,
    empty_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    project = r["projects"]["citywide"][0]
    cast, total = [], 60

    def caster() -> None:
        for n in range(total):
            db.write_sync(
                voting.cast,
                r["round_id"],
                "citywide",
                "citywide",
                f"voter-{n}",
                {project: 1},
                "online",
                frozen.TODAY,
            )
            cast.append(n)

    thread = threading.Thread(target=caster)
    thread.start()
    try:
        while len(cast) < 10 and thread.is_alive():
            time.sleep(0.005)
        backup = tmp_path / "pb.backup"
        code, out, err = run_pb(monkeypatch, capsys, database_url, "db", "backup", str(backup))
    finally:
        thread.join()
    assert code == 0, err
    assert len(cast) == total
    assert backup.stat().st_mode & 0o777 == 0o600
    if database_url.startswith("sqlite"):  # the copy's head is printed at backup time
        (head_line,) = HEAD.findall(out)
        assert int(head_line[0]) == r["round_id"]

    code, out, err = run_pb(monkeypatch, capsys, empty_url, "db", "restore", str(backup))
    assert code == 0, err
    ((round_id, records, head),) = HEAD.findall(out)
    assert int(round_id) == r["round_id"]
    if database_url.startswith("sqlite"):
        assert (records, head) == head_line[1:]

    live_records, live_hashes = chain_of(db, r["round_id"])
    restored_db = Database(make_engine(empty_url))
    try:
        restored_records, restored_hashes = chain_of(restored_db, r["round_id"])
    finally:
        restored_db.engine.dispose()
    n = len(restored_records)
    # Taken mid-way: some ballots, not all (1 genesis + 60 ballots live), and exactly the
    # live log up to its head.
    assert 1 + 10 <= n < 1 + total and len(live_records) == 1 + total
    assert int(records) == n and restored_hashes[-1] == head
    assert restored_records == live_records[:n] and restored_hashes == live_hashes[:n]

    # Into a database that is not empty (this one now): refused, nothing changed.
    code, _out, err = run_pb(monkeypatch, capsys, empty_url, "db", "restore", str(backup))
    assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1


def test_backup_and_restore_refuse_mistakes_in_one_line(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    code, _, err = run_pb(monkeypatch, capsys, database_url, "db", "backup", str(taken))
    assert code == 2 and "exists" in err and taken.read_text() == "keep me"
    code, _, err = run_pb(monkeypatch, capsys, database_url, "db", "restore", str(taken))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    missing = tmp_path / "missing"
    code, _, err = run_pb(monkeypatch, capsys, database_url, "db", "restore", str(missing))
    assert code == 2 and "no such file" in err
