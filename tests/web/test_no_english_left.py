"""Every page of the demo town, for each role, in every language with a catalog: no English
left. Each page is fetched twice, in English and in the language under test, and a word shown on
both (text, ``aria-label``, ``title``, ``placeholder``, ``alt``) is English left over unless it is
the town's own data, a word the language's catalog itself uses, or a month or day name of the
locale. This catches strings that skip gettext, which the catalog tests cannot see."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from sqlalchemy import select
from starlette.testclient import TestClient

from pb import i18n
from pb.config import SUPPORTED_LOCALES, Settings
from pb.db import Database
from pb.models import (
    Campaign,
    Category,
    CostItem,
    District,
    FundingCall,
    Proposal,
    ProposalPhoto,
    Round,
    Town,
    User,
    VolunteerTask,
)
from pb.models.collection import BankLine, StatementImport
from pb.models.mail import OutboxMail
from pb.passwords import Passwords
from pb.services import demo
from tests import frozen
from tests.conftest import AuthActions

WORD = re.compile(r"[^\W\d_]{3,}")
HEX = re.compile(r"[0-9a-fA-F]{16,}")
ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
# Commands (pre), identifiers and hashes (code) are not words; the footer names each language in
# itself, on purpose.
SKIPPED_TAGS = {"pre", "code", "script", "style", "footer"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        if not self.skipping:
            self.parts += [v or "" for k, v in attrs if k in ATTRIBUTES]

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def words(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    text = HEX.sub(" ", " ".join(parser.parts))
    return {w.lower() for w in WORD.findall(text)}


def catalog_words(locale: str) -> set[str]:
    with (i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    out: set[str] = set()
    for message in catalog:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            out |= {w.lower() for w in WORD.findall(form or "")}
    babel = Locale.parse(locale)
    for table in (babel.months, babel.days):
        for context in table.values():
            for width in context.values():
                for name in width.values():
                    out |= {w.lower() for w in WORD.findall(name)}
    return out


def data_words(db: Database) -> set[str]:
    columns: tuple[Any, ...] = (
        Town.name,
        Round.title,
        Round.description,
        Round.currency,  # an ISO code (EUR), the same in every language
        Proposal.title,
        Proposal.summary,
        Proposal.description,
        Proposal.need,
        Proposal.beneficiaries,
        Proposal.partners,
        Proposal.place,
        Proposal.reject_reason,
        ProposalPhoto.alt,
        Category.name,
        District.name,
        FundingCall.title,
        FundingCall.currency,
        FundingCall.description,
        FundingCall.creditor_name,
        FundingCall.bic,
        BankLine.debtor,
        BankLine.text,
        StatementImport.filename,
        OutboxMail.subject,  # mails are written in their recipient's language
        Campaign.title,
        Campaign.description,
        CostItem.label,
        VolunteerTask.title,
        VolunteerTask.description,
        VolunteerTask.place,
        User.display_name,
        User.email,
    )

    def read(session: Any) -> set[str]:
        out: set[str] = set()
        for column in columns:
            for value in session.scalars(select(column)):
                out |= {w.lower() for w in WORD.findall(str(value or ""))}
        return out

    # Technical words shown as they are in every language.
    return db.read_sync(read) | {"pyz", "zip", "csv", "xml", "camt", "utf", "epc", "girocode"}


def pages(db: Database) -> list[str]:
    def read(session: Any) -> list[str]:
        rounds = list(session.scalars(select(Round.id).order_by(Round.id)))
        proposals = list(session.scalars(select(Proposal.id).order_by(Proposal.id)))
        calls = list(session.scalars(select(FundingCall.id).order_by(FundingCall.id)))
        campaigns = list(session.scalars(select(Campaign.id).order_by(Campaign.id)))
        tasks = list(session.scalars(select(VolunteerTask.id).order_by(VolunteerTask.id)))
        out = ["/", "/rounds", "/funding", "/receipts", "/no-such-page"]
        for r in rounds:
            out += [f"/rounds/{r}", f"/rounds/{r}/proposals", f"/rounds/{r}/results"]
            out += [f"/rounds/{r}/vote", f"/rounds/{r}/vote/citywide", f"/rounds/{r}/edit"]
            out += [f"/rounds/{r}/voters", f"/rounds/{r}/codes", f"/rounds/{r}/paper"]
            out += [f"/rounds/{r}/proposals/new"]
        out += [f"/proposals/{p}" for p in proposals[::5]]
        out += [f"/proposals/{proposals[0]}/edit"]
        for c in calls:
            out += [f"/funding/{c}", f"/funding/{c}/edit", f"/funding/{c}/collection"]
            out += [f"/funding/{c}/matches", f"/funding/{c}/campaigns/new"]
        out += [f"/campaigns/{c}" for c in campaigns]
        out += [f"/campaigns/{campaigns[-1]}/tasks/new"]
        out += [f"/tasks/{t}" for t in tasks]
        out += ["/rounds/new", "/funding/new", "/pledges", "/account"]
        out += ["/admin/users", "/admin/mail", "/admin/audit"]
        return out

    return db.read_sync(read)


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: what is compared is the pages' words, not the database."""
    path = tmp_path / "pb.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def demo_town(db: Database, settings: Settings) -> Database:
    passwords = Passwords(settings)
    hashes = {login.email: passwords.hash_sync(login.password) for login in demo.DEMO_LOGINS}
    db.write_sync(demo.load_demo, hashes, frozen.TODAY, settings.secret_key)
    return db


LOGINS = {login.role.value: login for login in demo.DEMO_LOGINS}


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_no_english_left_on_any_page(
    client: TestClient, auth: AuthActions, demo_town: Database, locale: str
) -> None:
    allowed = data_words(demo_town) | catalog_words(locale)
    problems: dict[str, list[str]] = {}
    seen = 0
    for role in ("anonymous", "resident", "staff", "admin"):
        if role != "anonymous":
            auth.login(LOGINS[role].email, LOGINS[role].password)
        for path in pages(demo_town):
            english = client.get(path, headers={"Accept-Language": "en"})
            local = client.get(path, headers={"Accept-Language": locale})
            assert english.status_code == local.status_code, (role, path)
            if "text/html" not in local.headers.get("content-type", ""):
                continue
            seen += 1
            assert f'<html lang="{locale}">' in local.text, (role, path)
            left = (words(local.text) & words(english.text)) - allowed
            if left:
                problems[f"{role} {path}"] = sorted(left)
        if role != "anonymous":
            auth.logout()
    assert seen > 100
    assert not problems, f"{locale}: English left on the pages: {problems}"
