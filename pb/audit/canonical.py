"""Canonical bytes: the one serialisation of JSON values that pb hashes and publishes.

Definition: ``canonical_bytes(obj)`` is the UTF-8 encoding of :func:`pb.tally.canonical_json`
of ``obj``, i.e. ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``:
keys sorted, no insignificant spaces, non-ASCII characters kept as they are. Only exact values
are allowed: strings, integers, booleans, ``None``, lists (tuples are written as lists) and dicts
with string keys. A float anywhere raises ``TypeError``, so nothing inexact (or spelled
differently on another machine) enters a hashed record.
"""

from __future__ import annotations

import hashlib
from typing import cast

from pb.tally import canonical_json
from pb.tally.outcome import JSONValue

__all__ = ["canonical_bytes", "check_exact", "sha256_hex"]


def check_exact(obj: object, where: str = "value") -> None:
    """Raise ``TypeError`` unless ``obj`` holds only exact JSON values (see the module doc).

    ``where`` names the place in the message, e.g. ``value['choices']['7']``.
    """
    if obj is None or isinstance(obj, str | bool | int):
        return
    if isinstance(obj, float):
        raise TypeError(f"{where} is a float ({obj!r}); only exact values may be hashed")
    if isinstance(obj, list | tuple):
        for n, item in enumerate(obj):
            check_exact(item, f"{where}[{n}]")
        return
    if isinstance(obj, dict):
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a key {key!r} that is not a string")
            check_exact(item, f"{where}[{key!r}]")
        return
    raise TypeError(f"{where} is a {type(obj).__name__}, which is not a JSON value")


def canonical_bytes(obj: object) -> bytes:
    """The canonical UTF-8 JSON bytes of ``obj`` (module docstring); ``TypeError`` on floats
    and on anything that is not a JSON value."""
    check_exact(obj)
    return canonical_json(cast(JSONValue, obj)).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lowercase hexadecimal digits."""
    return hashlib.sha256(data).hexdigest()
