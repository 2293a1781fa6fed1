"""Casting ballots: eligibility slots, validation, participation and the hash-chained log.

A cast is one transaction: the participation row is inserted (its primary key refuses a second
ballot under any concurrency), the round row is locked (serializing appends on PostgreSQL;
SQLite's ``BEGIN IMMEDIATE`` already serializes writers), and the ballot is appended to the chain
with ``pb.audit``'s record and hash definitions, so auditors recompute exactly what was stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pb.audit import (
    ballot_problems,
    ballot_record,
    canonical_bytes,
    genesis_record,
    new_receipt_code,
    next_hash,
    normalize_receipt,
)
from pb.audit.bundle import district_member
from pb.errors import NotFound, PbError, ValidationError
from pb.i18n import gettext as _
from pb.models import BallotRecord, Participation, Phase, Round, RoundResult, VotingScope
from pb.services import rounds

CITYWIDE = "citywide"
DISTRICT = "district"


class AlreadyVoted(PbError):
    """This voter has already cast this ballot (participation exists)."""


class VotingClosed(PbError):
    """The round is not accepting this ballot now."""


def voter_key(secret: str, round_id: int, identity: str) -> str:
    """A keyed hash naming a voter in one round, so participation rows reveal no identity."""
    message = f"{round_id}:{identity}".encode()
    return hmac.new(secret.encode(), b"pb.participation:" + message, hashlib.sha256).hexdigest()


def slots(rnd: Round) -> list[str]:
    """The ballots a voter casts in ``rnd``: city-wide, in their district, or both."""
    return {
        VotingScope.CITYWIDE: [CITYWIDE],
        VotingScope.DISTRICT: [DISTRICT],
        VotingScope.BOTH: [CITYWIDE, DISTRICT],
    }[rnd.scope]


def config_of(session: Session, rnd: Round) -> dict[str, Any]:
    """The locked configuration (as stored, or as it will be stored: nothing can change it)."""
    if rnd.locked_config is not None:
        loaded: dict[str, Any] = json.loads(rnd.locked_config)
        return loaded
    return rounds.canonical_config(session, rnd)


def district_of(config: dict[str, Any], slot: str, key: str) -> dict[str, Any]:
    """The ballot (one district of the config) for ``slot``; a district slot never names
    ``citywide``, and the city-wide slot names nothing else."""
    if (slot == CITYWIDE) != (key == CITYWIDE):
        raise NotFound(f"ballot {slot}/{key}")
    for district in config["districts"]:
        if district["key"] == key:
            return dict(district)
    raise NotFound(f"district {key}")


def district_choices(config: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["key"], d["name"]) for d in config["districts"] if d["key"] != CITYWIDE]


def validate_choices(
    config: dict[str, Any], district: dict[str, Any], choices: dict[str, int]
) -> dict[str, str]:
    """Every reason ``choices`` is not a valid ballot, as translated messages."""
    method = config["method"]
    kind = method["kind"]
    costs = {p["id"]: p["cost"] for p in district["projects"]}
    errors: dict[str, str] = {}
    for pid, value in choices.items():
        if pid not in costs:
            errors[""] = _("The ballot names a project that is not on it.")
        elif value < 0:
            errors[pid] = _("Use 0 or more.")
        elif kind in ("approval", "knapsack") and value not in (0, 1):
            errors[pid] = _("Choose a project or leave it.")
        elif (
            kind in ("quadratic", "cumulative")
            and method.get("max_per_project")
            and (value > method["max_per_project"])
        ):
            errors[pid] = _("At most %(n)s for one project.", n=method["max_per_project"])
    if errors:
        return errors
    chosen = {pid: v for pid, v in choices.items() if v > 0}
    low, high = method.get("min_choices"), method.get("max_choices")
    if low is not None and len(chosen) < low:
        errors[""] = _("Choose at least %(n)s projects.", n=low)
    elif high is not None and len(chosen) > high:
        errors[""] = _("Choose at most %(n)s projects.", n=high)
    elif kind == "knapsack" and sum(costs[p] for p in chosen) > district["budget"]:
        errors[""] = _("The projects you chose cost more than the budget.")
    elif kind == "quadratic" and sum(v * v for v in chosen.values()) > method["credits"]:
        errors[""] = _("Your votes use more voice credits than you have.")
    elif kind == "cumulative" and sum(chosen.values()) > method["points"]:
        errors[""] = _("You gave more points than you have.")
    return errors


@dataclass(frozen=True)
class Feedback:
    """Live ballot feedback: what is used and what is left."""

    kind: str
    chosen: int
    max_choices: int | None
    spent: int  # money for knapsack, credits for quadratic, points for cumulative
    limit: int | None
    next_vote_cost: dict[str, int]  # quadratic: credits one more vote would cost


def feedback(config: dict[str, Any], district: dict[str, Any], choices: dict[str, int]) -> Feedback:
    method = config["method"]
    kind = method["kind"]
    costs = {p["id"]: p["cost"] for p in district["projects"]}
    chosen = {pid: v for pid, v in choices.items() if v > 0 and pid in costs}
    if kind == "knapsack":
        spent, limit = sum(costs[p] for p in chosen), district["budget"]
    elif kind == "quadratic":
        spent, limit = sum(v * v for v in chosen.values()), method["credits"]
    elif kind == "cumulative":
        spent, limit = sum(chosen.values()), method["points"]
    else:
        spent, limit = len(chosen), method.get("max_choices")
    next_cost = {pid: 2 * chosen.get(pid, 0) + 1 for pid in costs} if kind == "quadratic" else {}
    return Feedback(kind, len(chosen), method.get("max_choices"), spent, limit, next_cost)


@dataclass(frozen=True)
class Receipt:
    round_id: int
    code: str
    seq: int
    hash: str


def ensure_genesis(session: Session, rnd: Round, config: dict[str, Any]) -> tuple[int, str]:
    """The last (seq, hash) of the round's log, writing the genesis record if the log is empty.

    The caller holds the round's lock (see :func:`cast`)."""
    last = session.execute(
        select(BallotRecord.seq, BallotRecord.hash)
        .where(BallotRecord.round_id == rnd.id)
        .order_by(BallotRecord.seq.desc())
        .limit(1)
    ).first()
    if last is not None:
        return int(last[0]), str(last[1])
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


def _append(
    session: Session, rnd: Round, config: dict[str, Any], record: dict[str, Any], kind: str
) -> tuple[int, str]:
    """Append ``record`` to the round's chain; return its seq and hash. The caller holds the
    round's lock. Core inserts: nothing here needs the ORM's unit of work."""
    last = session.execute(
        select(BallotRecord.seq, BallotRecord.hash)
        .where(BallotRecord.round_id == rnd.id)
        .order_by(BallotRecord.seq.desc())
        .limit(1)
    ).first()
    rows: list[dict[str, Any]] = []
    if last is None:
        genesis = genesis_record(str(rnd.id), config)
        last_seq, last_hash = 0, next_hash(None, genesis)
        rows.append(
            {
                "round_id": rnd.id,
                "seq": 0,
                "kind": "genesis",
                "district": None,
                "receipt": None,
                "record": canonical_bytes(genesis).decode(),
                "day": None,
                "channel": None,
                "hash": last_hash,
            }
        )
    else:
        last_seq, last_hash = last
    record = {**record, "seq": last_seq + 1}
    digest = next_hash(last_hash, record)
    rows.append(
        {
            "round_id": rnd.id,
            "seq": last_seq + 1,
            "kind": kind,
            "district": record["district"],
            "receipt": record["receipt"],
            "record": canonical_bytes(record).decode(),
            "day": dt.date.fromisoformat(record["day"]),
            "channel": record["channel"],
            "hash": digest,
        }
    )
    session.execute(insert(BallotRecord), rows)
    return last_seq + 1, digest


def _check_open(rnd: Round, slot: str, channel: str, today: dt.date) -> None:
    phase = rounds.effective_phase(rnd, today)
    allowed = (Phase.VOTING,) if channel == "online" else (Phase.VOTING, Phase.CLOSED)
    if phase not in allowed:
        raise VotingClosed(rnd.id)
    if slot not in slots(rnd):
        raise NotFound(f"slot {slot}")


# pg_advisory_xact_lock(class, object): the class names "a round's ballot chain" in pb.
CHAIN_LOCK_CLASS = 0x70620001


def _queue_for_append(session: Session, round_id: int) -> None:
    """On PostgreSQL, queue for the round's chain on a transaction-scoped advisory lock before
    taking the row lock.

    Under load, dozens of casts wait for the round row at once. A row lock's waiters all wake
    when its holder commits and race for it again (the lock manager then spends more CPU than
    the casts, and the order is random); an advisory lock grants its waiters one at a time, in
    order. The row lock stays: it is what orders appends with staff changes to the round, and
    it is uncontended behind this queue. Released at commit or rollback, like the row lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_CLASS, round_id)))


def _insert_participation(session: Session, round_id: int, slot: str, voter: str) -> bool:
    """Insert the participation row; False when it exists (the primary key decides, under any
    concurrency: a concurrent insert of the same key waits for the other to commit or roll
    back). No savepoint and no exception: one statement."""
    dialect = session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make_insert(Participation)
        .values(round_id=round_id, slot=slot, voter_key=voter)
        .on_conflict_do_nothing(index_elements=["round_id", "slot", "voter_key"])
        .returning(Participation.round_id)
    )
    return session.execute(statement).first() is not None


def cast(
    session: Session,
    round_id: int,
    slot: str,
    district_key: str,
    voter: str,
    choices: dict[str, int],
    channel: str,
    today: dt.date,
) -> Receipt:
    """Cast one ballot: participation and the chained record in this one transaction.

    ``voter`` is the keyed voter hash (:func:`voter_key`). Raises :class:`VotingClosed`,
    :class:`AlreadyVoted`, :class:`ValidationError` or :class:`NotFound`; then nothing is kept.

    Everything that does not need the round's lock happens before taking it (checks,
    validation, the participation row), so that appends, which are serialized, hold it briefly.
    """
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFound(f"round {round_id}")
    _check_open(rnd, slot, channel, today)
    frozen = rnd.locked_config
    config = config_of(session, rnd)
    district = district_of(config, slot, district_key)
    errors = validate_choices(config, district, choices)
    if errors:
        raise ValidationError(errors)
    chosen = {pid: v for pid, v in sorted(choices.items()) if v > 0}
    assert not ballot_problems(config, district, chosen), "web and audit disagree on a ballot"
    if not _insert_participation(session, rnd.id, slot, voter):
        raise AlreadyVoted(round_id)
    code = new_receipt_code()
    record = ballot_record(1, district_key, code, chosen, today, channel)
    # Lock the round row: appends to its chain are serialized (PostgreSQL; SQLite's BEGIN
    # IMMEDIATE already holds the database's write lock). FOR NO KEY UPDATE, not FOR UPDATE:
    # the foreign keys of participation and ballot rows take FOR KEY SHARE on the round, which
    # FOR UPDATE would make every other cast wait for (and could deadlock). The round is
    # re-read under the lock: staff may have closed it, or a first ballot frozen its config.
    _queue_for_append(session, round_id)
    session.execute(
        select(Round)
        .where(Round.id == round_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    _check_open(rnd, slot, channel, today)
    if rnd.config_sha256 is None:
        rounds.lock(session, rnd)  # the first ballot freezes the configuration
    if rnd.locked_config != frozen:
        config = config_of(session, rnd)  # only ever the first ballot: what is now locked
    seq, digest = _append(session, rnd, config, record, "ballot")
    return Receipt(rnd.id, code, seq, digest)


def cast_slots(session: Session, round_id: int, voter: str) -> set[str]:
    return set(
        session.scalars(
            select(Participation.slot).where(
                Participation.round_id == round_id, Participation.voter_key == voter
            )
        )
    )


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
