"""Every state-changing request needs a token tied to the session; without it nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Role, User
from tests.conftest import AuthActions, csrf_from


def test_form_without_token_is_refused_and_changes_nothing(
    client: TestClient, db: Database
) -> None:
    client.get("/register")
    response = client.post(
        "/register",
        data={
            "email": "x@example.org",
            "display_name": "X",
            "password": "long enough pw",
            "password_confirm": "long enough pw",
        },
    )
    assert response.status_code == 403
    assert "Your form has expired" in response.text
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(User))) == 0


def test_token_from_another_client_is_refused(client: TestClient, db: Database) -> None:
    other = TestClient(client.app)
    foreign = csrf_from(other.get("/register").text)
    client.get("/register")
    response = client.post(
        "/register",
        data={
            "email": "x@example.org",
            "display_name": "X",
            "password": "long enough pw",
            "password_confirm": "long enough pw",
            "csrf_token": foreign,
        },
    )
    assert response.status_code == 403


def test_htmx_header_token_is_accepted(client: TestClient, auth: AuthActions) -> None:
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get("/account").text)
    response = client.post(
        "/language",
        data={"locale": "fr"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    without = client.post("/language", data={"locale": "en"}, headers={"HX-Request": "true"})
    assert without.status_code == 403


def test_token_changes_at_login(client: TestClient, auth: AuthActions) -> None:
    before = csrf_from(client.get("/login").text)
    auth.login_as(Role.RESIDENT)
    after = csrf_from(client.get("/account").text)
    assert before != after
    # The anonymous token no longer works for the logged-in session.
    response = client.post("/logout", data={"csrf_token": before})
    assert response.status_code == 403
