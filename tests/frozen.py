"""The one instant and time zone every test lives in.

No test may depend on the day it runs: :mod:`pb.clock` is frozen at :data:`NOW` around every
test (an autouse fixture in ``conftest.py``), and that includes the live server of the browser
tests, which runs in the test process. The town's time zone is :data:`TIMEZONE`.

``PB_TEST_NOW`` (an ISO 8601 instant with its UTC offset) and ``PB_TEST_TIMEZONE`` move the
whole suite to another day; CI re-runs the date-sensitive tests on awkward ones (31 December,
29 February, and an instant where the town's date is not the UTC date). Tests compute every date
from :data:`TODAY` with ``timedelta`` (never ``date.replace(year=...)``, which has no 29 February
in most years).
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

from pb.errors import ConfigError


def _instant(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"PB_TEST_NOW is not an ISO 8601 instant: {raw!r}") from None
    if value.tzinfo is None:
        raise ConfigError(f"PB_TEST_NOW needs a UTC offset, e.g. +00:00: {raw!r}")
    return value.astimezone(dt.UTC)


NOW: dt.datetime = _instant(os.environ.get("PB_TEST_NOW") or "2027-03-10T09:30:00+00:00")
TIMEZONE: str = os.environ.get("PB_TEST_TIMEZONE") or "UTC"
TODAY: dt.date = NOW.astimezone(ZoneInfo(TIMEZONE)).date()


def days(n: int) -> dt.date:
    """The town's date ``n`` days from :data:`TODAY` (negative: in the past)."""
    return TODAY + dt.timedelta(days=n)
