"""`pb mail send --once` (cron), mail settings, and the sender that `pb serve` runs."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pb import cli
from pb.config import Settings, load_settings
from pb.db import Database
from pb.errors import ConfigError
from pb.services import outbox
from tests.smtp import SmtpServer
from tests.web.test_accounts import register


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PB_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("PB_VAR_DIR", str(settings.var_dir))
    monkeypatch.delenv("PB_SMTP_URL", raising=False)
    return settings


def add_mail(db: Database) -> None:
    db.write_sync(
        lambda s: outbox.enqueue(s, to="a@example.org", subject="Hello", text="Hi\n", kind="test")
    )


def test_mail_send_once_without_smtp_writes_files(
    env: Settings, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    add_mail(db)
    assert cli.main(["mail", "send", "--once"]) == 0
    assert capsys.readouterr().out.strip() == "sent 1, to retry 0, failed 0"
    (eml,) = (env.var_dir / "mail").iterdir()
    assert b"Subject: Hello" in eml.read_bytes()
    assert cli.main(["mail", "send", "--once"]) == 0
    assert capsys.readouterr().out.strip() == "sent 0, to retry 0, failed 0"


def test_mail_send_once_over_smtp(
    env: Settings,
    db: Database,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PB_SMTP_URL", smtp_server.url())
    monkeypatch.setenv("PB_MAIL_FROM", "Town hall <vote@town.example>")
    add_mail(db)
    assert cli.main(["mail", "send", "--once"]) == 0
    assert capsys.readouterr().out.strip() == "sent 1, to retry 0, failed 0"
    assert smtp_server.inbox.messages[0]["From"] == "Town hall <vote@town.example>"


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("PB_SMTP_URL", "mail.example.org", "smtp:// or smtps://"),
        ("PB_MAIL_FROM", "nobody", "not a mail address"),
        ("PB_BASE_URL", "vote.town.example", "http:// or https://"),
    ],
)
def test_bad_mail_settings_are_one_line_errors(
    env: Settings,
    name: str,
    value: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=problem):
        load_settings()
    assert cli.main(["mail", "send", "--once"]) == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1


def test_the_served_app_sends_its_mail_in_the_background(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    from pb.web.app import create_app

    served = dataclasses.replace(settings, mail_sender=True, mail_poll_seconds=30.0)
    with TestClient(create_app(served, db)) as client:
        assert register(client, "rosa@example.org").status_code == 303
        # Woken by the sign-up, not by the 30 s poll.
        deadline = time.monotonic() + 10
        folder = settings.var_dir / "mail"
        while not (folder.exists() and any(folder.glob("*.eml"))):
            assert time.monotonic() < deadline, "the background sender did not deliver"
            time.sleep(0.05)
    (eml,) = folder.iterdir()
    assert eml.name.endswith("-verify_email.eml")
    assert b"To: rosa@example.org" in eml.read_bytes()
