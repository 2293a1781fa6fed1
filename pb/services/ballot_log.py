"""The ballot log: each round's append-only hash chain, stored in ``ballot_record``.

Records and hashes are :mod:`pb.audit.chain`'s, so auditors recompute exactly what is stored.

Appends to a round's chain are serialized (each reads the previous hash): on SQLite by the
database's write lock (``BEGIN IMMEDIATE``, queued by :class:`pb.db.WriterQueue`), on
PostgreSQL by a transaction-scoped advisory lock and the round's row lock. Throughput is
therefore one over the time an append holds the lock, and on a busy machine every statement
inside it waits for a core (and for the interpreter's lock) again. So the casts do everything
they can before (checks, validation, the record's JSON, on PostgreSQL the participation row),
and the statements inside go straight to the database driver: a handful of round trips and no
ORM work (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from pb.audit import canonical_bytes, genesis_record, next_hash, normalize_receipt
from pb.audit.bundle import district_member
from pb.models import BallotRecord, Participation, Phase, Round, RoundResult

# pg_advisory_xact_lock(class, object): the class names "a round's ballot chain" in pb.
CHAIN_LOCK_CLASS = 0x70620001


class _Statement:
    """One SQL statement written with ``:name`` parameters, in each driver's own style."""

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = re.sub(r":(\w+)", r"%(\1)s", sql)

    def text(self, postgres: bool) -> str:
        return self.postgresql if postgres else self.sqlite


# SQLite: the transaction already holds the database's write lock.
_STATE_SQLITE = _Statement('SELECT config_sha256, phase_override FROM "round" WHERE id = :round_id')
# PostgreSQL: queue on the advisory lock, then take the round's row lock, in one round trip.
# Under load many casts wait at once. A row lock's waiters all wake when its holder commits
# and race for it again (the lock manager then spends more CPU than the casts); an advisory lock
# grants its waiters one at a time, in order. The row lock stays: it is what orders appends
# with staff changes to the round (closing it, publishing), and it is uncontended behind the
# queue. FOR NO KEY UPDATE, not FOR UPDATE: the foreign keys of participation and ballot rows
# take FOR KEY SHARE on the round, which FOR UPDATE would make every cast wait for. The row
# lock returns the row's newest version even if it changed while this statement waited.
_STATE_POSTGRESQL = _Statement(
    'SELECT r.config_sha256, r.phase_override FROM "round" AS r'
    " CROSS JOIN (SELECT pg_advisory_xact_lock(:lock_class, :round_id)) AS queue"
    " WHERE r.id = :round_id FOR NO KEY UPDATE OF r"
)
# A statement of its own, after the lock: on PostgreSQL it then reads what the previous holder
# committed (each statement of a READ COMMITTED transaction takes a new snapshot).
_HEAD = _Statement(
    "SELECT seq, hash FROM ballot_record WHERE round_id = :round_id ORDER BY seq DESC LIMIT 1"
)
_INSERT = _Statement(
    "INSERT INTO ballot_record (round_id, seq, kind, district, receipt, record, day, channel,"
    " hash) VALUES (:round_id, :seq, :kind, :district, :receipt, :record, :day, :channel,"
    " :hash)"
)


class Appender:
    """The serialized part of casting, for one or several ballots of a round at a time, on the
    session's connection and in its transaction: take the round's lock, insert participation
    rows, append records."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.postgres = connection.dialect.name == "postgresql"
        self.cursor = connection.connection.cursor()

    def lock(self, round_id: int) -> tuple[str | None, Phase | None] | None:
        """Take the round's append lock; return its locked config's SHA-256 and phase override
        as they are now (None if the round is gone)."""
        if self.postgres:
            params = {"lock_class": CHAIN_LOCK_CLASS, "round_id": round_id}
            self.cursor.execute(_STATE_POSTGRESQL.postgresql, params)
        else:
            self.cursor.execute(_STATE_SQLITE.sqlite, {"round_id": round_id})
        row = self.cursor.fetchone()
        if row is None:
            return None
        return row[0], Phase(row[1]) if row[1] is not None else None

    def participate(self, round_id: int, voters: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Insert the participation rows ``(slot, voter key)`` of the round, in one statement;
        return those inserted (the others exist). The primary key decides, under any
        concurrency: a concurrent insert of the same key waits for the other to commit or roll
        back."""
        if not voters:
            return set()
        round_mark, marks, params = self._voter_params(round_id, voters)
        values = ", ".join(f"({round_mark}, {slot}, {voter})" for slot, voter in marks)
        self.cursor.execute(  # only placeholders are formatted into the statement
            f"INSERT INTO participation (round_id, slot, voter_key) VALUES {values}"  # noqa: S608
            " ON CONFLICT (round_id, slot, voter_key) DO NOTHING RETURNING slot, voter_key",
            params,
        )
        return {(slot, voter) for slot, voter in self.cursor.fetchall()}

    def withdraw(self, round_id: int, voters: list[tuple[str, str]]) -> None:
        """Delete participation rows this transaction inserted for ballots it then refused."""
        if not voters:
            return
        round_mark, marks, params = self._voter_params(round_id, voters)
        which = " OR ".join(f"(slot = {slot} AND voter_key = {voter})" for slot, voter in marks)
        self.cursor.execute(  # only placeholders are formatted into the statement
            f"DELETE FROM participation WHERE round_id = {round_mark} AND ({which})",  # noqa: S608
            params,
        )

    def _voter_params(
        self, round_id: int, voters: list[tuple[str, str]]
    ) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
        """Placeholders (the round's, then each voter's slot and key) and their values."""
        mark = "%({})s" if self.postgres else ":{}"
        params: dict[str, Any] = {"round_id": round_id}
        marks = []
        for n, (slot, voter) in enumerate(voters):
            params[f"s{n}"], params[f"v{n}"] = slot, voter
            marks.append((mark.format(f"s{n}"), mark.format(f"v{n}")))
        return mark.format("round_id"), marks, params

    def append(
        self,
        round_id: int,
        records: list[dict[str, Any]],
        config: dict[str, Any],
    ) -> list[tuple[int, str]]:
        """Append ballot ``records`` (all but their ``seq``) to the chain, in order, after the
        genesis record of the locked ``config`` if the log is still empty; return their seqs
        and hashes. The caller holds the lock (:meth:`lock`)."""
        self.cursor.execute(_HEAD.text(self.postgres), {"round_id": round_id})
        head = self.cursor.fetchone()
        rows = []
        if head is None:
            first = genesis_record(str(round_id), config)
            seq, digest = 0, next_hash(None, first)
            rows.append(self._row(round_id, first, "genesis", digest))
        else:
            seq, digest = head
        chained = []
        for record in records:
            seq += 1
            record = {**record, "seq": seq}
            digest = next_hash(digest, record)
            rows.append(self._row(round_id, record, "ballot", digest))
            chained.append((seq, digest))
        self.cursor.executemany(_INSERT.text(self.postgres), rows)
        return chained

    def _row(self, round_id: int, record: dict[str, Any], kind: str, digest: str) -> dict[str, Any]:
        day = dt.date.fromisoformat(record["day"]) if "day" in record else None
        return {
            "round_id": round_id,
            "seq": record["seq"],
            "kind": kind,
            "district": record.get("district"),
            "receipt": record.get("receipt"),
            "record": canonical_bytes(record).decode(),
            # SQLAlchemy stores SQLite dates as ISO text.
            "day": day if self.postgres or day is None else day.isoformat(),
            "channel": record.get("channel"),
            "hash": digest,
        }

    def close(self) -> None:
        self.cursor.close()


def seal_participation(session: Session, round_id: int) -> int:
    """Write the round's participation rows again, in the order of their key (the keyed voter
    hash), so that nothing stored orders them the way the ballots were cast; return how many.

    Called in the transaction that ends a round's voting (staff closing it early), and in each
    count and the publication (paper ballots may still be entered after the last day). Until
    then on PostgreSQL the rows' physical order (``ctid``) and transaction ids (``xmin``) follow
    the casting; rewritten, they all carry this transaction's id and stand in key order. The
    old row versions stay in the files until :meth:`pb.db.Database.scrub` (run after commit)
    vacuums them away. On SQLite the table has no rowid and is kept in key order anyway; the
    rewrite also lays out its pages in that order."""
    rows = session.execute(
        select(Participation.voter_key, Participation.round_id, Participation.slot)
        .where(Participation.round_id == round_id)
        .order_by(Participation.voter_key, Participation.slot)
    ).all()
    if not rows:
        return 0
    session.execute(delete(Participation).where(Participation.round_id == round_id))
    session.execute(
        insert(Participation),
        [{"voter_key": v, "round_id": r, "slot": s} for v, r, s in rows],
    )
    return len(rows)


def ensure_genesis(session: Session, rnd: Round, config: dict[str, Any]) -> tuple[int, str]:
    """The last (seq, hash) of the round's log, writing the genesis record if the log is empty.

    The caller holds the round's lock."""
    head = log_head(session, rnd.id)
    if head is not None:
        return head.length - 1, head.hash
    genesis = genesis_record(str(rnd.id), config)
    first_hash = next_hash(None, genesis)
    session.add(
        BallotRecord(
            round_id=rnd.id,
            seq=0,
            kind="genesis",
            record=canonical_bytes(genesis).decode(),
            hash=first_hash,
        )
    )
    return 0, first_hash


@dataclass(frozen=True)
class LogHead:
    length: int  # records including genesis
    hash: str


def log_head(session: Session, round_id: int) -> LogHead | None:
    row = session.execute(
        select(BallotRecord.seq, BallotRecord.hash)
        .where(BallotRecord.round_id == round_id)
        .order_by(BallotRecord.seq.desc())
        .limit(1)
    ).first()
    return LogHead(row[0] + 1, row[1]) if row else None


@dataclass(frozen=True)
class ReceiptLookup:
    round_id: int
    round_title: str
    code: str
    seq: int
    hash: str
    head: str
    district: str
    published_file: str | None  # the bundle member holding the ballot, once published


def lookup_receipt(session: Session, text: str) -> ReceiptLookup | None:
    """Find a ballot by receipt code: its round, position and hash, nothing of its content,
    and, once results are published, the published file that holds it."""
    try:
        code = normalize_receipt(text)
    except ValueError:
        return None
    row = session.execute(
        select(
            BallotRecord.round_id,
            BallotRecord.seq,
            BallotRecord.hash,
            Round.title,
            BallotRecord.district,
        )
        .join(Round, Round.id == BallotRecord.round_id)
        .where(BallotRecord.receipt == code)
    ).first()
    if row is None:
        return None
    round_id, seq, record_hash, title, district = row
    head = log_head(session, round_id)
    assert head is not None
    result = session.get(RoundResult, round_id)
    published = result is not None and result.published_at is not None and seq < result.chain_length
    return ReceiptLookup(
        round_id,
        title,
        code,
        seq,
        record_hash,
        head.hash,
        str(district),
        district_member(str(district)) if published else None,
    )
