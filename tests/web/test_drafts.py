"""A round in draft is staff's: to everyone else every route that names it (or one of its
proposals) answers 404, whatever the method, the form or the throttle, and shows nothing of it."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Eligibility, Role
from pb.services import accounts
from pb.web.routing import Access, GuardedRoute
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from

TITLE = "Secret draft round"
SECRETS = (TITLE, "Hidden category", "Hidden proposal")


def _round_routes(app: Starlette, rid: int, pid: int) -> list[tuple[str, str, Access]]:
    found = []
    for route in app.routes:
        if not isinstance(route, GuardedRoute):
            continue
        if "{round_id" not in route.path and "{proposal_id" not in route.path:
            continue
        path = route.path.replace("{round_id:id}", str(rid)).replace("{proposal_id:id}", str(pid))
        path = re.sub(r"{slot:str}", "citywide", path)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, path, route.access))
    return found


@pytest.fixture
def draft(db: Database) -> tuple[int, int]:
    districts = make_districts(db)
    rid = make_round(
        db,
        districts,
        None,  # type: ignore[arg-type]
        "draft",
        title=TITLE,
        eligibility=Eligibility.CODES,
        categories=["Hidden category"],
    )
    return rid, make_proposal(db, rid, None, "Hidden proposal")  # type: ignore[arg-type]


@pytest.mark.parametrize("who", ["anonymous", "resident", "auditor"])
def test_every_route_of_a_draft_round_is_404_to_non_staff(
    who: str, client: TestClient, app: Starlette, auth: AuthActions, draft: tuple[int, int]
) -> None:
    rid, pid = draft
    if who != "anonymous":
        auth.login_as(Role(who))
    token = csrf_from(client.get("/rounds").text)
    walked = 0
    for method, path, access in _round_routes(app, rid, pid):
        if access.roles and (who == "anonymous" or Role(who) not in access.roles):
            expected = 303 if method == "GET" and who == "anonymous" else 403
        else:
            expected = 404
        data = {"csrf_token": token, "title": "x", "code": "x", "identifier": "x"}
        response = client.request(
            method, path, data=data if method == "POST" else None, follow_redirects=False
        )
        assert response.status_code == expected, (who, method, path, response.status_code)
        assert not any(secret in response.text for secret in SECRETS), (method, path)
        walked += expected == 404
    assert walked >= 10


def test_staff_still_see_their_draft(
    client: TestClient, auth: AuthActions, draft: tuple[int, int]
) -> None:
    rid, _pid = draft
    auth.login_as(Role.STAFF)
    assert TITLE in client.get(f"/rounds/{rid}").text
    assert client.get(f"/rounds/{rid}/voters").status_code == 200


def test_a_throttled_client_learns_nothing_of_a_draft(
    client: TestClient, db: Database, draft: tuple[int, int]
) -> None:
    rid, _pid = draft
    token = csrf_from(client.get("/rounds").text)
    keys = accounts.failure_keys(f"code:{rid}:testclient", "testclient")
    for _ in range(60):
        db.write_sync(accounts.record_failure, *keys)
    response = client.post(f"/rounds/{rid}/vote/code", data={"code": "x", "csrf_token": token})
    assert response.status_code == 404 and TITLE not in response.text
