"""Phases change at the town's midnight, not at UTC's, and the web follows the frozen clock.

Run by CI on awkward days (``make test-dates``): with the town at UTC+14 or UTC-11 the town's
date and the UTC date differ, so reading the wrong one opens voting a day early or late.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from pb import clock
from pb.db import Database
from pb.models import Role
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import AuthActions


def _town_instant(day: dt.date, hour: int, minute: int) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(frozen.TIMEZONE))
    return local.astimezone(dt.UTC)


def test_voting_opens_at_the_towns_midnight(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    rid = make_voting_round(db, voting_from=frozen.days(1))["round_id"]

    clock.set_now(lambda: _town_instant(frozen.TODAY, 23, 59))  # the evening before
    email = auth.login_as(Role.RESIDENT)
    hub = client.get(f"/rounds/{rid}/vote").text
    assert "Voting is not open yet." in hub
    assert client.get(f"/rounds/{rid}/vote/citywide").status_code in (404, 409)

    clock.set_now(lambda: _town_instant(frozen.days(1), 0, 1))  # just after the town's midnight
    auth.login(email)  # a session lasts hours; the town's midnight may be a day of UTC away
    hub = client.get(f"/rounds/{rid}/vote").text
    assert "Voting is not open yet." not in hub and "Still to cast" in hub
    assert client.get(f"/rounds/{rid}/vote/citywide").status_code == 200


def test_the_clock_is_frozen_for_tests() -> None:
    assert clock.now() == frozen.NOW  # pb.clock.today derives the town's date from this
    assert frozen.NOW.astimezone(ZoneInfo(frozen.TIMEZONE)).date() == frozen.TODAY
