"""Canonical bytes: one serialisation, exact values only."""

from __future__ import annotations

import hashlib
import json

import pytest

from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.tally import canonical_json
from pb.tally.outcome import JSONValue


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": {"é": "ü", "c": -3}}
    assert canonical_bytes(value) == '{"a":{"c":-3,"é":"ü"},"b":[1,true,null]}'.encode()
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(value) == expected.encode("utf-8")


def test_canonical_bytes_are_the_tally_canonical_json() -> None:
    value: JSONValue = {"z": "Łódź", "a": [{"y": 1, "x": 2}], "n": None}
    assert canonical_bytes(value) == canonical_json(value).encode("utf-8")


def test_key_order_does_not_matter() -> None:
    assert canonical_bytes({"a": 1, "b": 2}) == canonical_bytes({"b": 2, "a": 1})


@pytest.mark.parametrize(
    "value",
    [1.0, {"a": 0.5}, [1, [2, float("nan")]], {"a": {"b": [float("inf")]}}],
)
def test_floats_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_bytes(value)


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {2}}, b"bytes", object()])
def test_non_json_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_bytes(value)


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
