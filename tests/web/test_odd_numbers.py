"""Numbers from requests (path ids, query and form values) never cause a 500: one parser
answers 404 for ids in paths and 422 for values in forms and queries."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import ProposalStatus, Role
from tests.builders import make_districts, make_proposal, make_round, make_voting_round
from tests.conftest import AuthActions, make_user
from tests.web.test_routes_guard import guarded_routes

ODD = [
    "99999999999999999999999",  # past SQLite's 64 bits
    "9999999999",  # ten digits, past PostgreSQL's INTEGER
    "2147483648",
    "0",
    "-1",
    "²",  # '²'.isdigit() is true, int('²') fails
    "١",  # Arabic-Indic one: int() takes it
    "1e3",
    "0x1",
    " 1",
    "0" * 5000,  # past Python's int() digit limit
]
# Every numeric field of pb's forms and filters.
NUMERIC_FIELDS = [
    "count",
    "district",
    "category",
    "into",
    "credits",
    "points",
    "min_choices",
    "max_choices",
    "max_per_project",
    "min_score_threshold",
    "total_budget",
    "citywide_budget",
    "estimated_cost",
    "feasible_cost",
]


def test_the_review_s_cases(client: TestClient, auth: AuthActions, db: Database) -> None:
    staff = auth.login_as(Role.ADMIN)
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    pid = make_proposal(db, rid, None)  # type: ignore[arg-type]
    assert client.get("/rounds/99999999999999999999999").status_code == 404
    assert client.get("/rounds/2147483648").status_code == 404
    for name in ("category", "district"):
        assert client.get(f"/rounds/{rid}/proposals?{name}=²").status_code == 422
        assert client.get(f"/rounds/{rid}/proposals?{name}=99999999999").status_code == 422
    assert client.get(f"/rounds/{rid}/proposals?district=citywide").status_code == 200
    token = auth.csrf("/admin/users")
    review = client.post(
        f"/proposals/{pid}/review", data={"action": "merge", "into": "²", "csrf_token": token}
    )
    assert review.status_code == 422
    role = client.post(
        "/admin/users/99999999999999999999999/role", data={"role": "staff", "csrf_token": token}
    )
    assert role.status_code == 404
    role = client.post("/admin/users/2147483648/role", data={"role": "staff", "csrf_token": token})
    assert role.status_code == 404
    assert staff


def _paths(app: Starlette) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _access in guarded_routes(app)]


@pytest.mark.parametrize("odd", ODD, ids=range(len(ODD)))
def test_odd_ids_in_every_path(
    odd: str, client: TestClient, app: Starlette, auth: AuthActions
) -> None:
    auth.login_as(Role.ADMIN)  # past every role check: the views themselves answer
    token = auth.csrf("/account")
    for route in app.routes:
        path = getattr(route, "path", "")
        if ":id}" not in path:
            continue
        concrete = re.sub(r"{\w+:id}", odd, path).replace("{slot:str}", "citywide")
        concrete = re.sub(r"{\w+(:str)?}", "x", concrete)
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD":
                continue
            data = {"csrf_token": token} if method == "POST" else None
            response = client.request(method, concrete, data=data, follow_redirects=False)
            assert response.status_code == 404, (method, concrete, response.status_code)


@pytest.mark.parametrize("odd", ODD, ids=range(len(ODD)))
def test_odd_numbers_in_every_form_and_query(
    odd: str,
    client: TestClient,
    app: Starlette,
    auth: AuthActions,
    db: Database,
    settings: Settings,
) -> None:
    auth.login_as(Role.ADMIN)
    r = make_voting_round(db)
    user = make_user(db, settings, "someone@example.org")
    fields = {name: odd for name in NUMERIC_FIELDS}
    fields.update({f"v_{p}": odd for p in r["projects"]["citywide"]})
    token = auth.csrf("/account")
    # A round in voting, and one taking proposals (and its proposal, under review).
    in_proposals = make_round(db, r["districts"], None, "proposals")  # type: ignore[arg-type]
    for rid in (r["round_id"], in_proposals):
        pid = make_proposal(db, rid, None, status=ProposalStatus.SUBMITTED)  # type: ignore[arg-type]
        ids = {"round_id": str(rid), "proposal_id": str(pid), "user_id": str(user)}
        _sweep(client, app, ids, fields, token)


def _sweep(
    client: TestClient, app: Starlette, ids: dict[str, str], fields: dict[str, str], token: str
) -> None:
    for method, path in _paths(app):
        if path in ("/logout",):
            continue
        concrete = path
        for route in app.routes:  # put real ids back in: the values are what is odd here
            if getattr(route, "path", None) and re.sub(r"{\w+:id}", "1", route.path) == path:
                concrete = route.path
                for name, value in ids.items():
                    concrete = concrete.replace(f"{{{name}:id}}", value)
                concrete = re.sub(r"{\w+:id}", "1", concrete).replace("{slot:str}", "citywide")
                concrete = concrete.replace("{code:str}", "x")
        if method == "GET":
            query = {name: value[:300] for name, value in fields.items()}  # URLs have limits
            response = client.get(concrete, params=query, follow_redirects=False)
        else:
            data = {**fields, "csrf_token": token, "action": "accept", "step": "review"}
            response = client.post(concrete, data=data, follow_redirects=False)
        assert response.status_code < 500, (method, concrete, response.status_code)


def test_every_id_in_a_path_goes_through_the_id_convertor(app: Starlette) -> None:
    """``{x:int}`` would take any number of digits (and overflow); ``{x:id}`` bounds them."""
    paths = [getattr(route, "path", "") for route in app.routes]
    assert [p for p in paths if re.search(r"{\w+:(int|float)}", p)] == []
    assert sum(":id}" in p for p in paths) >= 20
