"""The one place pb reads the time, so tests can freeze or move it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)  # noqa: E731


def now() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return _now()


def set_now(fn: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the real one."""
    global _now
    _now = fn if fn is not None else (lambda: dt.datetime.now(dt.UTC))


def today(timezone: str) -> dt.date:
    """The date it is now in ``timezone`` (the town's), which decides a round's phase."""
    return now().astimezone(ZoneInfo(timezone)).date()
