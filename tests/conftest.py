"""Fixtures: settings, a migrated database (SQLite and PostgreSQL), the app, a client, and a
logged-in helper. The whole suite runs once per database.

PostgreSQL runs when ``PB_TEST_POSTGRES_URL`` is set (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the browser tests run when
``/usr/bin/chromium`` exists. With ``PB_TEST_REQUIRE_ALL=1`` (CI), a missing one fails instead
of skipping.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pb import clock, migrations
from pb.config import Settings
from pb.db import Database, make_engine
from pb.models import Base, Role
from pb.passwords import Passwords
from pb.services import accounts
from tests import frozen
from tests.smtp import SmtpServer, start_server

REQUIRE_ALL = os.environ.get("PB_TEST_REQUIRE_ALL") == "1"
POSTGRES_URL = os.environ.get("PB_TEST_POSTGRES_URL", "")


def unavailable(reason: str) -> None:
    """Skip for lack of a service, or fail when CI requires every service."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (PB_TEST_REQUIRE_ALL=1 requires it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "pb.sqlite3"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema in the test database, migrated once for the whole run."""
    if not POSTGRES_URL:
        unavailable("PostgreSQL not configured: set PB_TEST_POSTGRES_URL to run these on it")
    schema = f"pb_test_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at PB_TEST_POSTGRES_URL is not reachable: {exc}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    migrations.upgrade(url_text)
    yield url_text
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "pb.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        var_dir=tmp_path,
        timezone=frozen.TIMEZONE,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(make_engine(settings.database_url))
    yield database
    database.engine.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> Starlette:
    from pb.web.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    """Every test, and the live server of the browser tests, sees the same instant."""
    clock.set_now(lambda: frozen.NOW)
    yield
    clock.set_now(lambda: frozen.NOW)


CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1)


def make_user(
    db: Database,
    settings: Settings,
    email: str,
    password: str = "correct horse battery",
    role: Role = Role.RESIDENT,
    name: str = "Test User",
    verified: bool = True,
) -> int:
    password_hash = Passwords(settings).hash_sync(password)
    return db.write_sync(
        lambda s: accounts.create_user(s, email, name, password_hash, role, verified=verified).id
    )


class AuthActions:
    """Log a test client in and out through the real forms."""

    def __init__(self, client: TestClient, db: Database, settings: Settings) -> None:
        self.client = client
        self.db = db
        self.settings = settings

    def csrf(self, path: str = "/") -> str:
        return csrf_from(self.client.get(path).text)

    def login(self, email: str, password: str = "correct horse battery") -> None:
        token = csrf_from(self.client.get("/login").text)
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def login_as(self, role: Role, email: str | None = None) -> str:
        email = email or f"{role.value}-{secrets.token_hex(3)}@example.org"
        make_user(self.db, self.settings, email, role=role)
        self.login(email)
        return email

    def logout(self) -> None:
        response = self.client.post(
            "/logout", data={"csrf_token": self.csrf("/account")}, follow_redirects=False
        )
        assert response.status_code == 303


@pytest.fixture
def auth(client: TestClient, db: Database, settings: Settings) -> AuthActions:
    return AuthActions(client, db, settings)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port; ``.inbox`` holds what arrived."""
    server = start_server()
    yield server
    server.stop()
