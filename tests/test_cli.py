"""The pb command: --version, --help everywhere, demo, user create, the auditors' tool, and
one-line errors with exit status 2 (bad arguments, bad input, a broken install)."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import pb
from pb import auditool, cli, resources
from pb.config import Settings
from pb.db import Database
from pb.models import District, ProposalPhotoSize, Role, User

GDYNIA = (
    Path(__file__).resolve().parent
    / "data"
    / "pabulib"
    / "Poland_Gdynia_2024_Srodmiescie__small.pb"
)


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
    # Some proposals have a picture, drawn at demo time and stored in every width.
    sizes = db.read_sync(lambda s: s.execute(select(ProposalPhotoSize.width)).scalars().all())
    assert len(sizes) == 7 * 3 and set(sizes) == {320, 640, 1280}
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


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand of ``parser``, as argument paths."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*path, name))
                found.extend(_commands(sub, (*path, name)))
    return found


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse's --help and --version
        status = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--version"], capsys) == (0, f"pb {metadata.version('pb')}\n", "")
    assert metadata.version("pb") == pb.__version__


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands(cli.build_parser())
    assert {("tally",), ("audit",), ("db", "upgrade"), ("user", "create")} <= set(commands)
    assert len(commands) >= 9
    for path in commands:
        status, out, err = _run([*path, "--help"], capsys)
        assert (status, err) == (0, ""), path
        assert out.startswith(f"usage: pb {' '.join(path)}"), (path, out)
    # tally and audit answer with their own options, not "unrecognized arguments".
    assert "--rule" in _run(["tally", "--help"], capsys)[1]
    assert "BUNDLE.zip" in _run(["audit", "-h"], capsys)[1]


def test_tally_takes_options_before_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["tally", "--format", "json", "--rule", "greedy", str(GDYNIA)], capsys)
    assert status == 0 and json.loads(out)["rule"] == "greedy"


def test_tally_imports_nothing_of_the_web_or_database_stack() -> None:
    code = (
        "import sys; from pb import cli; status = cli.main(['tally', sys.argv[1]]); "
        "heavy = sorted(m for m in ('sqlalchemy', 'starlette', 'jinja2', 'alembic', 'babel', "
        "'pb.models', 'pb.web') if m in sys.modules); print(status, heavy, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(GDYNIA)], capture_output=True, text=True
    )
    assert result.stderr == "0 []\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["db"],
        ["serve", "--port", "eighty"],
        ["user", "create", "--email", "a@b.example", "--role", "mayor"],
        ["demo", "--everything"],
        ["build-audit-tool"],
    ],
)
def test_argument_mistakes_are_one_line(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "pb.cli", *argv], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("pb") and "--help" in result.stderr


def test_a_missing_migration_folder_is_a_message(
    env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As in a broken install: neither pb/_data/alembic nor a checkout's alembic/ is there.
    monkeypatch.setattr(resources, "INSTALLED_DIR", tmp_path / "installed")
    monkeypatch.setattr(resources, "CHECKOUT_DIR", tmp_path / "checkout")
    for argv in (["db", "upgrade"], ["serve", "--port", "1"]):
        status, out, err = _run(argv, capsys)
        assert status == 2 and out == ""
        assert err.startswith("pb: pb's ") and "folder is missing" in err and "reinstall pb" in err
        assert err.count("\n") == 1


def test_a_missing_dependency_is_a_message(tmp_path: Path) -> None:
    # As if alembic had not been installed: importing it fails as it would then.
    code = "import sys; sys.modules['alembic'] = None; from pb import cli; sys.exit(cli.main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "db", "upgrade"],
        capture_output=True,
        text=True,
        env={**os.environ, "PB_VAR_DIR": str(tmp_path), "PB_DATABASE_URL": ""},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("pb: broken installation: ") and "alembic" in result.stderr
    assert result.stderr.count("\n") == 1 and "reinstall pb" in result.stderr


def test_a_database_from_a_newer_pb_is_a_message(
    env: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    def set_version(session: Session, version: str) -> str:
        head = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        return str(head)

    head = db.write_sync(set_version, "9999")
    try:
        status, out, err = _run(["db", "upgrade"], capsys)
    finally:  # the PostgreSQL schema is shared by the whole run
        db.write_sync(set_version, head)
    assert (status, out) == (2, "")
    assert err == (
        "pb: cannot migrate the database: Can't locate revision identified by '9999' "
        "(migrated by a newer pb?)\n"
    )


def test_build_audit_tool_writes_the_zipapp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pb-audit.pyz"
    status, stdout, _ = _run(["build-audit-tool", str(out)], capsys)
    tool = auditool.build()
    assert (status, stdout) == (0, f"{tool.sha256}  {out}\n")
    assert out.read_bytes() == tool.data
    status, stdout, err = _run(
        ["build-audit-tool", str(tmp_path / "no" / "such" / "x.pyz")], capsys
    )
    assert (status, stdout) == (2, "") and "cannot write the file" in err and err.count("\n") == 1
