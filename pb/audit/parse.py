"""Reading the members of a ballot bundle into values, strictly.

Anything that cannot be read at all raises :class:`BundleError` naming the member (and line):
JSON that does not parse, a manifest or log line of the wrong shape, a config that breaks the
contract, a ``.pb`` that ``pb.tally`` cannot read. What *can* be read is returned together with
the places where it is not in canonical form, so that the audit reports them as problems.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pb.audit.bundle import BUNDLE_FORMAT, MANIFEST
from pb.audit.canonical import canonical_bytes
from pb.audit.config import check_config
from pb.audit.errors import BundleError, ConfigError
from pb.tally import Election, PabulibError, loads

__all__ = ["Log", "is_canonical", "parse_json", "parse_log", "parse_manifest", "parse_pb"]

_HEX = re.compile(r"[0-9a-f]{64}")
_MANIFEST_KEYS = {
    "format": str,
    "pb_version": str,
    "config": dict,
    "config_sha256": str,
    "rule": str,
    "tie_break": str,
    "chain": dict,
    "files": dict,
}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes, member: str, line: int | None = None) -> Any:
    """The JSON value in ``data`` (UTF-8); :class:`BundleError` naming ``member`` and ``line``
    when it is not valid UTF-8 JSON (``NaN`` and ``Infinity`` are refused)."""
    where = f"line {line}: " if line is not None else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{where}not UTF-8 text (byte {exc.start + 1})", member) from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno} column {exc.colno}" if line is None else f"column {exc.colno}"
        raise BundleError(f"{where}malformed JSON at {at}: {exc.msg}", member) from None
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{where}malformed JSON: {exc}", member) from None


def is_canonical(value: Any, data: bytes) -> bool:
    """Whether ``data`` is exactly ``canonical_bytes(value)`` (no floats, sorted keys...)."""
    try:
        return canonical_bytes(value) == data
    except TypeError:
        return False


def parse_manifest(data: bytes) -> dict[str, Any]:
    """The manifest, checked for shape: known format, every field of the right type, a config
    that follows the contract, hex digests. :class:`BundleError` otherwise."""
    manifest = parse_json(data, MANIFEST)
    if not isinstance(manifest, dict):
        raise BundleError("not a JSON object", MANIFEST)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"format is {manifest.get('format')!r}, this pb reads {BUNDLE_FORMAT!r}", MANIFEST
        )
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{key!r} is missing or of the wrong type", MANIFEST)
    extra = sorted(set(manifest) - set(_MANIFEST_KEYS))
    if extra:
        raise BundleError(f"unknown field(s) {', '.join(map(repr, extra))}", MANIFEST)
    try:
        check_config(manifest["config"])
    except ConfigError as exc:
        raise BundleError(str(exc), MANIFEST) from None
    chain = manifest["chain"]
    head, length = chain.get("head"), chain.get("length")
    if set(chain) != {"head", "length"} or not isinstance(head, str) or not _HEX.fullmatch(head):
        raise BundleError("chain must be {'head': <64 hex digits>, 'length': <n>}", MANIFEST)
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise BundleError(f"chain length is {length!r}, expected a whole number >= 1", MANIFEST)
    for name, digest in manifest["files"].items():
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise BundleError(f"the digest of {name!r} is not 64 lowercase hex digits", MANIFEST)
    return manifest


@dataclass(frozen=True, slots=True)
class Log:
    """The ballot log as read: records and stored hashes in file order, and the numbers of the
    lines that are not canonical JSON (or a missing final newline, as line ``len + 1``)."""

    records: list[Any]
    hashes: list[str]
    not_canonical: list[int]


def parse_log(data: bytes, member: str) -> Log:
    """Read ``ballot_log.jsonl``; :class:`BundleError` for a line that is not JSON or not an
    object ``{"hash": <string>, "record": <object>}``. Record contents are not checked here."""
    lines = data.split(b"\n")
    last = lines.pop()
    records, hashes, odd = [], [], []
    for number, raw in enumerate(lines, start=1):
        entry = parse_json(raw, member, number)
        if (
            not isinstance(entry, dict)
            or set(entry) != {"hash", "record"}
            or not isinstance(entry["hash"], str)
            or not isinstance(entry["record"], dict)
        ):
            raise BundleError(
                f"line {number}: expected {{'hash': <hex>, 'record': <object>}}", member
            )
        records.append(entry["record"])
        hashes.append(entry["hash"])
        if not is_canonical(entry, raw):
            odd.append(number)
    if last:
        raise BundleError(f"line {len(lines) + 1}: the last line has no newline", member)
    return Log(records, hashes, odd)


def parse_pb(data: bytes, member: str) -> Election:
    """A district's pabulib file, read with :func:`pb.tally.loads`; :class:`BundleError` naming
    the member and line when it cannot be read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BundleError(f"line {line}: not UTF-8 text", member) from None
    try:
        return loads(text)
    except PabulibError as exc:
        raise BundleError(str(exc), member) from None
