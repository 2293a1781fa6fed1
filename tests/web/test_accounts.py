"""Register, log in, log out, change password; sessions that really end."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import OutboxMail, Role, User
from tests.conftest import AuthActions, csrf_from, make_user

PASSWORD = "correct horse battery"


def register(client: TestClient, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/register").text)
    data = {
        "email": email,
        "display_name": "Rosa",
        "password": password,
        "password_confirm": password,
        "csrf_token": token,
        **extra,
    }
    return client.post("/register", data=data, follow_redirects=False)


def users(db: Database) -> int:
    return db.read_sync(lambda s: s.scalar(select(func.count()).select_from(User)))


def test_register_mails_a_verification_link_and_does_not_log_in(
    client: TestClient, db: Database
) -> None:
    response = register(client, "Rosa@Example.org ")
    assert response.status_code == 303 and response.headers["location"] == "/register/sent"
    page = client.get("/register/sent")
    assert "Check your mail" in page.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    user = db.read_sync(lambda s: s.scalars(select(User)).one())
    assert user.email == "rosa@example.org" and user.email_verified_at is None
    (mail,) = db.read_sync(lambda s: list(s.scalars(select(OutboxMail))))
    assert (mail.recipient, mail.kind) == ("rosa@example.org", "verify_email")
    assert "http://testserver/account/verify?token=" in mail.text


def test_register_rejects_bad_input_with_messages(client: TestClient, db: Database) -> None:
    token = csrf_from(client.get("/register").text)
    response = client.post(
        "/register",
        data={
            "email": "not-an-email",
            "display_name": "",
            "password": "short",
            "password_confirm": "short",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "Enter a valid email address." in response.text
    assert "Enter your name." in response.text
    assert "Use at least 8 characters." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="not-an-email"' in response.text  # what was typed is kept
    assert users(db) == 0


def test_register_mismatched_confirmation(client: TestClient, db: Database) -> None:
    response = register(client, "a@example.org", password_confirm="something else")
    assert response.status_code == 422
    assert "The two passwords do not match." in response.text
    assert users(db) == 0


def test_password_lengths(client: TestClient, db: Database) -> None:
    assert register(client, "long@example.org", password="p" * 128).status_code == 303
    other = TestClient(client.app)
    assert register(other, "seven@example.org", password="p" * 7).status_code == 422
    assert users(db) == 1


def test_login_failure_message_does_not_reveal_accounts(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "known@example.org")
    token = csrf_from(client.get("/login").text)
    wrong = client.post(
        "/login", data={"email": "known@example.org", "password": "nope nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"email": "ghost@example.org", "password": "nope nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 422
    message = "The email or password is not correct."
    assert message in wrong.text and message in unknown.text


def test_login_opens_a_new_session_and_redirects_to_next(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "u@example.org")
    token = csrf_from(client.get("/login?next=/account").text)
    response = client.post(
        "/login",
        data={
            "email": "u@example.org",
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pb_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_login_refuses_open_redirect(client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db, settings, "u@example.org")
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "email": "u@example.org",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_https_cookies_are_secure_and_host_prefixed(app, db: Database, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    make_user(db, settings, "u@example.org")
    with TestClient(app, base_url="https://testserver") as client:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": "u@example.org", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-pb_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "strict-transport-security" in response.headers
        assert client.get("/account", follow_redirects=False).status_code == 200


def test_logout_revokes_a_copied_cookie(client: TestClient, auth: AuthActions) -> None:
    auth.login_as(Role.RESIDENT)
    stolen = dict(client.cookies)
    auth.logout()
    thief = TestClient(client.app, cookies=stolen)
    response = thief.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_password_change_revokes_other_sessions(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "u@example.org")
    other_device = TestClient(client.app)
    AuthActions(other_device, db, settings).login("u@example.org")
    AuthActions(client, db, settings).login("u@example.org")
    copied = dict(client.cookies)
    token = csrf_from(client.get("/account").text)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new secret",
            "new_password_confirm": "a brand new secret",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    # This device keeps working with its fresh session; the others are logged out.
    assert client.get("/account", follow_redirects=False).status_code == 200
    assert other_device.get("/account", follow_redirects=False).status_code == 303
    assert (
        TestClient(client.app, cookies=copied).get("/account", follow_redirects=False).status_code
        == 303
    )
    # And the new password is the one that works.
    fresh = TestClient(client.app)
    AuthActions(fresh, db, settings).login("u@example.org", "a brand new secret")


def test_password_change_needs_the_current_password(
    client: TestClient, auth: AuthActions, db: Database
) -> None:

    auth.login_as(Role.RESIDENT)
    before = db.read_sync(lambda s: s.scalar(select(User.password_hash)))
    token = csrf_from(client.get("/account").text)
    response = client.post(
        "/account/password",
        data={
            "current_password": "wrong password",
            "new_password": "another secret",
            "new_password_confirm": "another secret",
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "This is not your current password." in response.text
    assert db.read_sync(lambda s: s.scalar(select(User.password_hash))) == before


def test_idle_and_absolute_timeouts(
    client: TestClient, auth: AuthActions, settings: Settings
) -> None:

    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    now = [start]
    clock.set_now(lambda: now[0])
    auth.login_as(Role.RESIDENT)
    # Active use keeps the session alive past the idle limit...
    for _ in range(5):
        now[0] += dt.timedelta(minutes=settings.session_idle_minutes - 10)
        assert client.get("/account", follow_redirects=False).status_code == 200
    # ...but not past the absolute limit.
    now[0] = start + dt.timedelta(hours=settings.session_max_hours, minutes=1)
    assert client.get("/account", follow_redirects=False).status_code == 303

    auth.login_as(Role.RESIDENT)
    now[0] += dt.timedelta(minutes=settings.session_idle_minutes + 1)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_rehash_on_login_when_parameters_change(
    client: TestClient, db: Database, settings: Settings
) -> None:
    import dataclasses

    weak = dataclasses.replace(settings, argon2_memory_kib=8 * 1024, argon2_time_cost=1)
    make_user(db, weak, "old@example.org")
    old_hash = db.read_sync(lambda s: s.scalar(select(User.password_hash)))
    assert "m=8192,t=1" in old_hash
    AuthActions(client, db, settings).login("old@example.org")
    new_hash = db.read_sync(lambda s: s.scalar(select(User.password_hash)))
    assert new_hash.startswith("$argon2id$") and "m=19456,t=2,p=1" in new_hash


def test_account_limit_stays_under_100_an_hour(settings: Settings) -> None:
    for limits in (settings.account_failure_limits, settings.login_account_limits):
        assert min(limit * (3600 // window) for window, limit in limits) <= 100


def test_simultaneous_registrations_of_one_email_make_one_account(
    db: Database, settings: Settings
) -> None:
    """The unique constraint, not a check in Python, settles a race between registrations."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from pb.web.app import create_app

    app = create_app(dataclasses.replace(settings, registration_limits=((3600, 100),)), db)

    def attempt(_: int) -> int:
        with TestClient(app) as c:
            return int(register(c, "race@example.org").status_code)

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(attempt, range(24)))
    # Every sign-up gets the same answer (no hint that the address is taken); one account.
    assert codes == [303] * 24
    assert users(db) == 1
