"""Small helpers for reading HTML forms."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException


def text(form: FormData, name: str, max_length: int = 10_000) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths may be redirect targets (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


# Every id and number a request carries goes through the two parsers below. Ids and counts are
# stored in 32-bit integer columns (PostgreSQL's INTEGER); SQLite refuses anything past 64 bits.
MAX_INT = 2**31 - 1
_ASCII_ID = re.compile(r"[0-9]{1,10}")
_ASCII_INT = re.compile(r"[+-]?[0-9]{1,10}")


def parse_id(raw: str) -> int | None:
    """An id as a request spells it (ASCII digits, 1 to :data:`MAX_INT`), or None. Only ASCII
    digits: ``'²'.isdigit()`` is true but ``int('²')`` fails, and ``int('١')`` is 1."""
    raw = raw.strip()
    if not _ASCII_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_INT else None


def parse_int(raw: str, low: int = -MAX_INT, high: int = MAX_INT) -> int | None:
    """A whole number between ``low`` and ``high`` in ASCII digits, or None."""
    raw = raw.strip()
    if not _ASCII_INT.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def optional_id(values: Mapping[str, Any], name: str) -> int | None:
    """An optional id field of a form or query (a select's value): None when empty or absent;
    a 422 answer when it holds anything but an id (only a tampered request can)."""
    raw = values.get(name)
    if not isinstance(raw, str) or not raw.strip():
        return None
    value = parse_id(raw[:40])
    if value is None:
        raise HTTPException(422)
    return value


def optional_int(form: FormData, name: str, errors: dict[str, str], message: str) -> int | None:
    """A whole number, or None when the field is empty; a message in ``errors`` otherwise."""
    raw = text(form, name, 40).strip()
    if not raw:
        return None
    value = parse_int(raw)
    if value is None:
        errors[name] = message
    return value


def date_field(form: FormData, name: str, errors: dict[str, str], message: str) -> dt.date:
    raw = text(form, name, 40).strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = message
        return dt.date.min
