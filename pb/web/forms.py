"""Small helpers for reading HTML forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request


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


async def read_form(request: Request) -> FormData:
    return await request.form()
