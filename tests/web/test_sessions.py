"""An active session never ends before its idle limit, however short the limit."""

from __future__ import annotations

import dataclasses
import datetime as dt

from starlette.testclient import TestClient

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import Role
from tests import frozen
from tests.conftest import AuthActions


def test_a_session_used_every_20_seconds_outlives_a_one_minute_idle_limit(
    settings: Settings, db: Database
) -> None:
    from pb.web.app import create_app

    app = create_app(dataclasses.replace(settings, session_idle_minutes=1), db)
    now = frozen.NOW
    clock.set_now(lambda: now)
    with TestClient(app) as client:
        AuthActions(client, db, settings).login_as(Role.RESIDENT)
        for _ in range(30):  # ten minutes of use, a request every 20 seconds
            now += dt.timedelta(seconds=20)
            page = client.get("/account", follow_redirects=False)
            assert page.status_code == 200, f"logged out after {now - frozen.NOW}"
        # Idle for longer than the limit: the session ends.
        now += dt.timedelta(seconds=61)
        page = client.get("/account", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
