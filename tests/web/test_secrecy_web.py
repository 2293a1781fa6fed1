"""Closing voting on the web seals participation: the rows stand in key order, and the ended
sessions of account voters, whose times would order them, are gone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import Role, UserSession, VotingScope
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from
from tests.web.test_voting import submit


def test_staff_closing_voting_seals_participation_and_forgets_voters_sessions(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    rid, p = r["round_id"], r["projects"]["citywide"]
    now = frozen.NOW
    clock.set_now(lambda: now)
    for n in range(12):  # account voters, one after the other, a minute apart
        now += dt.timedelta(minutes=1)
        voter = TestClient(client.app)
        AuthActions(voter, db, settings).login_as(Role.RESIDENT, f"voter{n}@example.org")
        assert submit(voter, rid, "citywide", {"p": [p[n % 3]]}).status_code == 303
        if n % 2:
            AuthActions(voter, db, settings).logout()
    now += dt.timedelta(minutes=settings.session_idle_minutes + 1)  # the others went idle
    staff = AuthActions(client, db, settings)
    staff.login_as(Role.STAFF)
    token = csrf_from(client.get(f"/rounds/{rid}").text)
    closed = client.post(
        f"/rounds/{rid}/phase",
        data={"csrf_token": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert closed.status_code == 303

    sessions = db.read_sync(lambda s: s.scalar(select(func.count()).select_from(UserSession)))
    assert sessions == 1  # staff's own, still in use
    with db.engine.connect() as conn:
        order = "" if db.is_sqlite else " ORDER BY ctid"
        keys = [
            row[0]
            for row in conn.execute(
                text(f"SELECT voter_key FROM participation WHERE round_id = :r{order}"),
                {"r": rid},
            )
        ]
    assert len(keys) == 12 and keys == sorted(keys)
    assert "The next phase is open." in client.get(f"/rounds/{rid}").text
