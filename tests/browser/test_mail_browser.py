"""On a phone: register, receive the verification mail from a real SMTP server, open its link,
log in and vote in a round open to every account; then reset a forgotten password by mail."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from starlette.applications import Starlette

from pb.config import Settings
from pb.db import Database
from pb.models import VotingScope
from tests.builders import make_voting_round
from tests.conftest import make_user
from tests.smtp import SmtpServer

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The app of this module sends its mail to the test's SMTP server."""
    return dataclasses.replace(
        settings, smtp_url=smtp_server.url(), mail_from="Lindenfeld <vote@lindenfeld.example>"
    )


@pytest.fixture
def mail_sender(app: Starlette) -> Iterator[None]:
    """The background sender `pb serve` runs (the live server runs without lifespan)."""
    mailer = app.state.pb.mailer
    mailer.start()
    yield
    mailer.stop()


def wait_for_mail(smtp_server: SmtpServer, count: int) -> str:
    deadline = time.monotonic() + 15
    while len(smtp_server.inbox.messages) < count:
        assert time.monotonic() < deadline, "no mail arrived"
        time.sleep(0.05)
    return smtp_server.inbox.texts()[count - 1]


def test_register_verify_by_mail_and_vote(
    phone: Any, live_server: str, db: Database, smtp_server: SmtpServer, mail_sender: None
) -> None:
    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    page = phone
    page.goto(f"/rounds/{rid}/vote")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Rosa Resident")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password", exact=True).fill("first secret pass")
    page.get_by_label("Password again").fill("first secret pass")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    text = wait_for_mail(smtp_server, 1)
    message = smtp_server.inbox.messages[0]
    assert message["To"] == "rosa@example.org"
    assert message["Subject"] == "Confirm your email address for " + live_server.split("//")[1]
    link = re.search(r"http://\S+/account/verify\?token=\S+", text).group(0)  # type: ignore[union-attr]
    assert link.startswith(live_server)

    # Logged in but not yet verified: the vote page says what to do.
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill("first secret pass")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/rounds/{rid}/vote")
    expect(page.get_by_text("first confirm your email address")).to_be_visible()
    assert page.get_by_role("link", name="Fill in the city-wide ballot").count() == 0

    # The link leads back to the voting page the resident signed up from.
    page.goto(link)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("Your email address is confirmed. Thank you!")).to_be_visible()
    assert page.url == f"{live_server}/rounds/{rid}/vote"
    page.get_by_role("link", name="Fill in the city-wide ballot").click()
    page.get_by_label("citywide project 0").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Thank you for voting").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_forgotten_password_by_mail(
    phone: Any,
    live_server: str,
    db: Database,
    settings: Settings,
    smtp_server: SmtpServer,
    mail_sender: None,
) -> None:
    make_user(db, settings, "u@example.org")
    page = phone
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("u@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    text = wait_for_mail(smtp_server, 1)
    link = re.search(r"http://\S+/password/reset\?token=\S+", text).group(0)  # type: ignore[union-attr]
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a brand new pass")
    page.get_by_label("New password again").fill("a brand new pass")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    page.get_by_label("Email").fill("u@example.org")
    page.get_by_label("Password").fill("a brand new pass")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
