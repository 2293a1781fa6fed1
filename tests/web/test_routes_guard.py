"""Walk every route of the app: each declares who may use it, and the others are refused."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from pb.models import Role
from pb.web.routing import Access, GuardedRoute
from tests.conftest import AuthActions

SAMPLE_PARAMS = {"id": "1", "int": "1", "str": "x", "path": "x"}


def concrete(path: str) -> str:
    return re.sub(r"{\w+(?::(\w+))?}", lambda m: SAMPLE_PARAMS[m.group(1) or "str"], path)


def guarded_routes(app: Starlette) -> list[tuple[str, str, Access]]:
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, GuardedRoute), f"{route} is not built with pb.web.routing.route"
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, concrete(route.path), route.access))
    return found


def test_every_route_declares_its_access(app: Starlette) -> None:
    routes = guarded_routes(app)
    assert len(routes) >= 10
    assert all(isinstance(access, Access) for _, _, access in routes)


# The only addresses that take a POST without pb's CSRF token: a signed token in the address
# authorises them, and other programs (mail clients) call them without pb's cookies.
WITHOUT_CSRF = {"/unfollow/{token:str}/one-click"}


def test_every_post_checks_csrf_but_the_listed_ones(app: Starlette) -> None:
    exempt = {r.path for r in app.routes if isinstance(r, GuardedRoute) and not r.csrf}
    assert exempt == WITHOUT_CSRF


def test_anonymous_is_refused_everywhere_a_role_is_needed(
    client: TestClient, app: Starlette
) -> None:
    for method, path, access in guarded_routes(app):
        if not access.roles:
            continue
        response = client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next="), (method, path)
        else:
            assert response.status_code == 403, (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_wrong_role_is_refused(
    role: Role, client: TestClient, app: Starlette, auth: AuthActions
) -> None:
    auth.login_as(role)
    token = auth.csrf("/account")
    for method, path, access in guarded_routes(app):
        if not access.roles or role in access.roles:
            continue
        data = {"csrf_token": token} if method != "GET" else None
        response = client.request(method, path, data=data, follow_redirects=False)
        assert response.status_code == 403, (role, method, path)
        assert "You do not have permission" in response.text


def test_logged_in_users_are_sent_away_from_login_and_register(
    client: TestClient, app: Starlette, auth: AuthActions
) -> None:
    auth.login_as(Role.RESIDENT)
    for method, path, access in guarded_routes(app):
        if access is Access.ANONYMOUS and method == "GET":
            assert client.get(path, follow_redirects=False).status_code == 303


def test_admin_reaches_admin_pages_and_changes_roles(
    client: TestClient, auth: AuthActions, db
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_user

    auth.login_as(Role.ADMIN)
    target = make_user(db, auth.settings, "promote@example.org")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "promote@example.org" in page.text
    token = auth.csrf("/admin/users")
    response = client.post(
        f"/admin/users/{target}/role",
        data={"role": "staff", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    log = client.get("/admin/audit")
    assert "user.role" in log.text and "staff" in log.text


def test_auditors_read_the_audit_log_but_change_nothing(
    client: TestClient, auth: AuthActions
) -> None:
    auth.login_as(Role.AUDITOR)
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/users").status_code == 403
