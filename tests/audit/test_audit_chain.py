"""The ballot log: records, the hash formula, and what verify_chain names."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json

import pytest
from audit_builders import make_round

from pb.audit.chain import (
    ballot_record,
    chain_hashes,
    chain_head,
    genesis_record,
    next_hash,
    verify_chain,
)
from pb.audit.config import config_sha256
from pb.audit.errors import RecordError

RECEIPT = "7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VY"


def _bytes(record: dict[str, object]) -> bytes:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def test_genesis_holds_the_config_hash() -> None:
    config = {"round": {"id": "7"}, "rule": "greedy"}
    genesis = genesis_record("7", config)
    assert genesis == {
        "kind": "genesis",
        "seq": 0,
        "round": "7",
        "config_sha256": hashlib.sha256(b'{"round":{"id":"7"},"rule":"greedy"}').hexdigest(),
    }


def test_ballot_record_drops_zeros_and_keeps_only_the_day() -> None:
    record = ballot_record(
        3, "north", RECEIPT, {"12": 2, "15": 0, "7": 1}, datetime.date(2025, 5, 4), "paper"
    )
    assert record == {
        "kind": "ballot",
        "seq": 3,
        "district": "north",
        "receipt": RECEIPT,
        "choices": {"12": 2, "7": 1},
        "day": "2025-05-04",
        "channel": "paper",
    }


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((0, "north", RECEIPT, {"1": 1}, "2025-05-04", "online"), "seq is 0"),
        ((True, "north", RECEIPT, {"1": 1}, "2025-05-04", "online"), "seq is True"),
        ((1, "", RECEIPT, {"1": 1}, "2025-05-04", "online"), "district"),
        ((1, "north", RECEIPT.lower(), {"1": 1}, "2025-05-04", "online"), "canonical form"),
        ((1, "north", "ABC", {"1": 1}, "2025-05-04", "online"), "receipt"),
        ((1, "north", RECEIPT, {"1": 1.0}, "2025-05-04", "online"), "choices gives '1' 1.0"),
        ((1, "north", RECEIPT, {"1": -1}, "2025-05-04", "online"), "choices gives '1' -1"),
        ((1, "north", RECEIPT, {"a b": 1}, "2025-05-04", "online"), "not a project id"),
        ((1, "north", RECEIPT, {"1": 1}, "2025-02-30", "online"), "day"),
        ((1, "north", RECEIPT, {"1": 1}, "20250504", "online"), "day"),
        ((1, "north", RECEIPT, {"1": 1}, "2025-05-04", "web"), "channel"),
    ],
)
def test_ballot_record_refuses_wrong_fields(args: tuple[object, ...], problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        ballot_record(*args)  # type: ignore[arg-type]


def test_ballot_record_refuses_a_time_of_day() -> None:
    with pytest.raises(RecordError, match="no time"):
        ballot_record(1, "north", RECEIPT, {}, datetime.datetime(2025, 5, 4, 9, 30), "online")


def test_hashes_follow_the_published_formula() -> None:
    genesis = genesis_record("7", {"round": {"id": "7"}})
    ballot = ballot_record(1, "north", RECEIPT, {"1": 1}, "2025-05-04", "online")
    h0 = hashlib.sha256(bytes(32) + _bytes(genesis)).hexdigest()
    h1 = hashlib.sha256(bytes.fromhex(h0) + _bytes(ballot)).hexdigest()
    assert next_hash(None, genesis) == h0
    assert next_hash(h0, ballot) == h1
    assert chain_hashes([genesis, ballot]) == [h0, h1]
    assert chain_head([genesis, ballot]) == h1


def test_next_hash_refuses_a_bad_previous_hash() -> None:
    with pytest.raises(ValueError, match="hex"):
        next_hash("ABC", {"kind": "genesis"})
    with pytest.raises(ValueError, match="empty"):
        chain_head([])


def test_a_sound_chain_has_no_problems() -> None:
    round_ = make_round(seed=2)
    assert verify_chain(round_.records, round_.hashes, config=round_.config) == []


def test_a_changed_choice_is_named_by_its_seq() -> None:
    round_ = make_round(seed=2)
    records = copy.deepcopy(round_.records)
    pid = next(iter(records[9]["choices"]))
    del records[9]["choices"][pid]
    assert verify_chain(records, round_.hashes) == [
        "hash mismatch at seq 9: the stored hash does not match the record"
    ]


def test_a_dropped_record_is_a_gap() -> None:
    round_ = make_round(seed=2)
    records = round_.records[:5] + round_.records[6:]
    hashes = round_.hashes[:5] + round_.hashes[6:]
    problems = verify_chain(records, hashes)
    assert "seq 5 is missing" in problems
    assert "hash mismatch at seq 6: the stored hash does not match the record" in problems


def test_swapped_records_are_out_of_order() -> None:
    round_ = make_round(seed=2)
    records, hashes = list(round_.records), list(round_.hashes)
    records[4], records[5] = records[5], records[4]
    hashes[4], hashes[5] = hashes[5], hashes[4]
    problems = verify_chain(records, hashes)
    assert "seq 4 is out of order (it comes after seq 5)" in problems
    assert any("hash mismatch at seq 5" in p for p in problems)


def test_wrong_or_missing_genesis_is_named() -> None:
    round_ = make_round(seed=2)
    assert "the first record is not the genesis record" in verify_chain(
        round_.records[1:], round_.hashes[1:]
    )
    assert verify_chain([], []) == ["the ballot log is empty: no genesis record"]
    other = dict(round_.config, rule="equalshares")
    problems = verify_chain(round_.records, round_.hashes, config=other)
    assert problems == ["the genesis record holds another config's SHA-256 than the config"]
    assert round_.records[0]["config_sha256"] == config_sha256(round_.config)


def test_repeated_receipts_and_seqs_are_named() -> None:
    round_ = make_round(seed=2)
    records = copy.deepcopy(round_.records)
    records[7]["receipt"] = records[3]["receipt"]
    records[8]["seq"] = 7
    problems = verify_chain(records, chain_hashes(records))
    assert "seq 7 appears twice" in problems
    assert "seq 8 is missing" in problems
    assert f"receipt {records[3]['receipt']} appears on 2 ballots" in problems


def test_malformed_records_and_hashes_are_named() -> None:
    round_ = make_round(seed=2)
    records = copy.deepcopy(round_.records)
    records[2]["choices"] = {"1": 0.5}
    records[3]["kind"] = "vote"
    hashes = list(round_.hashes)
    hashes[6] = "xyz"
    problems = verify_chain(records, hashes)
    assert any(p.startswith("record 3 (seq 2): ") and "float" in p for p in problems)
    assert "record 4 (seq 3): kind is 'vote', expected 'genesis' or 'ballot'" in problems
    assert "seq 6: stored hash 'xyz' is not 64 lowercase hex digits" in problems
    assert verify_chain(records[:2], hashes[:3])[0] == "2 records but 3 hashes"
