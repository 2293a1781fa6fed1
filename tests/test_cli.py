"""The pb command: demo, user create, and one-line errors with exit status 2."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from sqlalchemy import select

from pb import cli
from pb.config import Settings
from pb.db import Database
from pb.models import District, Role, User


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PB_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PB_VAR_DIR", str(settings.var_dir))
    return settings


def test_demo_loads_a_town_with_every_role(
    env: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "resident@demo.pb" in out and "demo-admin-pass" in out
    roles = db.read_sync(lambda s: set(s.scalars(select(User.role))))
    assert roles == set(Role)
    verified = db.read_sync(lambda s: list(s.scalars(select(User.email_verified_at))))
    assert None not in verified  # demo accounts vote in "any account" rounds
    assert db.read_sync(lambda s: len(s.scalars(select(District)).all())) == 4
    # A second run refuses; --if-empty just reprints the logins.
    assert cli.main(["demo"]) == 2
    assert "already has accounts" in capsys.readouterr().err
    assert cli.main(["demo", "--if-empty"]) == 0


def test_user_create(env: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long staff password\n"))
    assert (
        cli.main(
            [
                "user",
                "create",
                "--email",
                "Clerk@Town.example",
                "--role",
                "staff",
                "--password-stdin",
            ]
        )
        == 0
    )
    user = db.read_sync(lambda s: s.scalars(select(User)).one())
    assert user.email == "clerk@town.example" and user.role is Role.STAFF
    assert user.email_verified_at is not None  # an administrator vouches for the address


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["user", "create", "--email", "bad", "--role", "staff", "--password-stdin"],
            "valid email",
        ),
        (
            ["user", "create", "--email", "a@b.example", "--role", "staff", "--password-stdin"],
            "at least 8",
        ),
    ],
)
def test_user_create_mistakes(
    env: Settings,
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_user_create_duplicate(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for expected in (0, 2):
        monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
        assert (
            cli.main(
                ["user", "create", "--email", "a@b.example", "--role", "admin", "--password-stdin"]
            )
            == expected
        )
    assert "already exists" in capsys.readouterr().err


def test_unknown_role_and_command_exit_2() -> None:
    for argv in (["user", "create", "--email", "a@b.example", "--role", "mayor"], ["bogus"]):
        result = subprocess.run(
            [sys.executable, "-m", "pb.cli", *argv], capture_output=True, text=True
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_message(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PB_VAR_DIR", str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "pb.cli", "db", "upgrade"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "cannot use the database" in result.stderr and "Traceback" not in result.stderr
