"""Small helpers for reading HTML forms."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from starlette.datastructures import FormData


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


def optional_int(form: FormData, name: str, errors: dict[str, str], message: str) -> int | None:
    """A whole number, or None when the field is empty; a message in ``errors`` otherwise."""
    raw = text(form, name, 40).strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors[name] = message
        return None


def date_field(form: FormData, name: str, errors: dict[str, str], message: str) -> dt.date:
    raw = text(form, name, 40).strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = message
        return dt.date.min
