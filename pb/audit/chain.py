"""The ballot log of a round: an append-only hash chain of JSON records.

Records (every value exact; see :mod:`pb.audit.canonical`)::

    {"kind": "genesis", "seq": 0, "round": "7", "config_sha256": "<hex>"}
    {"kind": "ballot", "seq": 1, "district": "north", "receipt": "7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VY",
     "choices": {"12": 1, "15": 1}, "day": "2025-05-04", "channel": "online"}

``choices`` maps project id to a whole number >= 1: 1 per chosen project for approval and
knapsack ballots, the votes for quadratic ones, the points for cumulative ones; projects given 0
are left out. ``day`` is the only time a ballot carries (ballot secrecy).

Hashes, as 64 lowercase hex digits::

    h_0 = SHA-256(32 zero bytes || canonical_bytes(genesis))
    h_n = SHA-256(bytes.fromhex(h_{n-1}) || canonical_bytes(record_n))

The head ``h_last`` is the "ballot log fingerprint" shown on the round page.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from pb.audit.canonical import canonical_bytes, check_exact
from pb.audit.config import PROJECT_ID, config_sha256
from pb.audit.errors import RecordError
from pb.audit.receipt import new_receipt_code, normalize_receipt

__all__ = [
    "CHANNELS",
    "ZERO_HASH",
    "ballot_record",
    "chain_hashes",
    "chain_head",
    "genesis_record",
    "new_receipt_code",
    "next_hash",
    "normalize_receipt",
    "record_problems",
    "verify_chain",
]

CHANNELS = ("online", "paper")
"""How a ballot was cast."""

ZERO_HASH = "0" * 64
"""The "previous hash" of the genesis record: 32 zero bytes."""

_HEX = re.compile(r"[0-9a-f]{64}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_GENESIS_KEYS = frozenset({"kind", "seq", "round", "config_sha256"})
_BALLOT_KEYS = frozenset({"kind", "seq", "district", "receipt", "choices", "day", "channel"})


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def genesis_record(round_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The first record of a round's log: the round id and the SHA-256 of its locked config."""
    if not isinstance(round_id, str) or not round_id:
        raise RecordError(f"round id is {round_id!r}, expected a non-empty string")
    return {"kind": "genesis", "seq": 0, "round": round_id, "config_sha256": config_sha256(config)}


def _ballot_problems(record: Mapping[str, Any]) -> list[str]:
    problems = []
    seq = record.get("seq")
    if not _is_count(seq) or seq < 1:
        problems.append(f"seq is {seq!r}, expected a whole number >= 1")
    district = record.get("district")
    if not isinstance(district, str) or not district:
        problems.append(f"district is {district!r}, expected a district key")
    receipt = record.get("receipt")
    try:
        if not isinstance(receipt, str) or normalize_receipt(receipt) != receipt:
            problems.append(f"receipt is {receipt!r}, expected a receipt code in canonical form")
    except ValueError as exc:
        problems.append(f"receipt is {receipt!r}: {exc}")
    choices = record.get("choices")
    if not isinstance(choices, dict):
        problems.append(f"choices is {choices!r}, expected an object")
    else:
        for pid, value in choices.items():
            if not isinstance(pid, str) or not PROJECT_ID.fullmatch(pid):
                problems.append(f"choices names {pid!r}, which is not a project id")
            if not _is_count(value) or value < 1:
                problems.append(f"choices gives {pid!r} {value!r}, expected a whole number >= 1")
    day = record.get("day")
    if not (isinstance(day, str) and _DAY.fullmatch(day) and _valid_day(day)):
        problems.append(f"day is {day!r}, expected a date YYYY-MM-DD")
    channel = record.get("channel")
    if channel not in CHANNELS:
        problems.append(f"channel is {channel!r}, expected one of {', '.join(CHANNELS)}")
    extra = sorted(set(record) - _BALLOT_KEYS)
    if extra:
        problems.append(f"unexpected field(s) {', '.join(map(repr, extra))}")
    return problems


def _valid_day(day: str) -> bool:
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return False
    return True


def record_problems(record: object) -> list[str]:
    """What is wrong with the shape of one record (empty when it is a well-formed genesis or
    ballot record). Does not look at its place in the chain."""
    if not isinstance(record, dict):
        return ["the record is not a JSON object"]
    try:
        check_exact(record, "record")
    except TypeError as exc:
        return [str(exc)]
    kind = record.get("kind")
    if kind == "ballot":
        return _ballot_problems(record)
    if kind == "genesis":
        problems = []
        if record.get("seq") != 0 or not _is_count(record.get("seq")):
            problems.append(f"genesis seq is {record.get('seq')!r}, expected 0")
        if not isinstance(record.get("round"), str) or not record.get("round"):
            problems.append(f"genesis round is {record.get('round')!r}, expected a round id")
        digest = record.get("config_sha256")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            problems.append(f"genesis config_sha256 is {digest!r}, expected 64 hex digits")
        extra = sorted(set(record) - _GENESIS_KEYS)
        if extra:
            problems.append(f"unexpected field(s) {', '.join(map(repr, extra))}")
        return problems
    return [f"kind is {kind!r}, expected 'genesis' or 'ballot'"]


def ballot_record(
    seq: int,
    district: str,
    receipt: str,
    choices: Mapping[str, int],
    day: str | datetime.date,
    channel: str,
) -> dict[str, Any]:
    """A ballot record (module docstring), checked: raises :class:`RecordError` naming every
    wrong field. Choices of 0 are dropped; the rest are kept in key order of ``choices``. ``day``
    may be a :class:`datetime.date` (only the day is kept, never the time)."""
    if isinstance(day, datetime.datetime):
        raise RecordError("day is a datetime; pass the date only, ballots carry no time")
    if isinstance(day, datetime.date):
        day = day.isoformat()
    if not isinstance(choices, Mapping):
        raise RecordError(f"choices is {choices!r}, expected a mapping project id -> number")
    record = {
        "kind": "ballot",
        "seq": seq,
        "district": district,
        "receipt": receipt,
        "choices": {pid: n for pid, n in choices.items() if not (_is_count(n) and n == 0)},
        "day": day,
        "channel": channel,
    }
    problems = _ballot_problems(record)
    if problems:
        raise RecordError("; ".join(problems))
    return record


def next_hash(prev_hex: str | None, record: Mapping[str, Any]) -> str:
    """``SHA-256(prev || canonical_bytes(record))`` in hex; ``prev_hex=None`` for the genesis
    record (32 zero bytes). ``ValueError`` when ``prev_hex`` is not 64 lowercase hex digits."""
    prev = ZERO_HASH if prev_hex is None else prev_hex
    if not isinstance(prev, str) or not _HEX.fullmatch(prev):
        raise ValueError(f"previous hash {prev!r} is not 64 lowercase hex digits")
    return hashlib.sha256(bytes.fromhex(prev) + canonical_bytes(record)).hexdigest()


def chain_hashes(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The hash of every record, in order (``h_0, h_1, ...``)."""
    hashes: list[str] = []
    for record in records:
        hashes.append(next_hash(hashes[-1] if hashes else None, record))
    return hashes


def chain_head(records: Iterable[Mapping[str, Any]]) -> str:
    """The hash of the last record (the ballot log fingerprint); ``ValueError`` when empty."""
    hashes = chain_hashes(records)
    if not hashes:
        raise ValueError("an empty ballot log has no head")
    return hashes[-1]


def _order_problems(seqs: Sequence[object]) -> list[str]:
    problems: list[str] = []
    seen: set[int] = set()
    highest = -1
    for seq in seqs:
        if not _is_count(seq):
            continue  # reported by record_problems
        if seq in seen:
            problems.append(f"seq {seq} appears twice")
        elif seq < highest:
            problems.append(f"seq {seq} is out of order (it comes after seq {highest})")
        seen.add(seq)
        highest = max(highest, seq)
    missing = sorted(set(range(highest + 1)) - seen)
    problems.extend(f"seq {seq} is missing" for seq in missing)
    return problems


def verify_chain(
    records: Sequence[Mapping[str, Any]],
    hashes: Sequence[str],
    *,
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """Check a ballot log; return its problems in plain words (empty when it holds).

    Checks: one hash per record; every record well formed (:func:`record_problems`); the first
    record, and only it, is the genesis record; seq numbers run 0, 1, 2, ... (gaps, repeats and
    reorderings are named); every stored hash equals ``next_hash(stored previous hash, record)``
    (a mismatch names the seq, so one altered record is one problem); no receipt code is used
    twice. With ``config``, the genesis record must also hold that config's round id and hash.
    """
    problems: list[str] = []
    if len(records) != len(hashes):
        problems.append(f"{len(records)} records but {len(hashes)} hashes")
    if not records:
        return [*problems, "the ballot log is empty: no genesis record"]
    for n, record in enumerate(records):
        label = f"record {n + 1} (seq {record.get('seq')!r})" if isinstance(record, dict) else ""
        problems.extend(f"{label or f'record {n + 1}'}: {p}" for p in record_problems(record))
        if n and isinstance(record, dict) and record.get("kind") == "genesis":
            problems.append(f"{label}: a genesis record after the first record")
    first = records[0]
    if not isinstance(first, dict) or first.get("kind") != "genesis":
        problems.append("the first record is not the genesis record")
    elif config is not None:
        if first.get("config_sha256") != config_sha256(config):
            problems.append("the genesis record holds another config's SHA-256 than the config")
        if first.get("round") != config["round"]["id"]:
            problems.append(
                f"the genesis record is for round {first.get('round')!r}, "
                f"the config for round {config['round']['id']!r}"
            )
    dicts = [r for r in records if isinstance(r, dict)]
    problems.extend(_order_problems([r.get("seq") for r in dicts]))
    problems.extend(_hash_problems(records, hashes))
    receipts = Counter(str(r.get("receipt")) for r in dicts if r.get("kind") == "ballot")
    problems.extend(
        f"receipt {receipt} appears on {n} ballots" for receipt, n in receipts.items() if n > 1
    )
    return problems


def _hash_problems(records: Sequence[Mapping[str, Any]], hashes: Sequence[str]) -> list[str]:
    problems = []
    prev: str | None = None
    for n, (record, stored) in enumerate(zip(records, hashes, strict=False)):
        seq = record.get("seq") if isinstance(record, dict) else None
        where = f"seq {seq}" if _is_count(seq) else f"record {n + 1}"
        if not isinstance(stored, str) or not _HEX.fullmatch(stored):
            problems.append(f"{where}: stored hash {stored!r} is not 64 lowercase hex digits")
            prev = None if n == 0 else stored if isinstance(stored, str) else None
            continue
        try:
            expected = next_hash(prev, record)
        except (TypeError, ValueError):
            expected = None  # the record or the previous hash is malformed: reported elsewhere
        if expected != stored:
            problems.append(f"hash mismatch at {where}: the stored hash does not match the record")
        prev = stored
    return problems
