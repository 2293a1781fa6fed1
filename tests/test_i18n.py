"""Every user-facing string is translated; locale comes from the user, then Accept-Language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from pb import i18n
from pb.config import SUPPORTED_LOCALES
from pb.db import Database
from pb.models import Role, User
from tests.conftest import AuthActions, csrf_from

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "pb/babel.cfg",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_catalog_translates_every_string(extracted: set[str], locale: str) -> None:
    path = i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(extracted - translated)
    assert not missing, f"{locale}: untranslated: {missing}; run `make messages` and translate"
    assert len(extracted) > 50


def test_placeholders_survive_translation() -> None:
    path = i18n.TRANSLATIONS_DIR / "fr" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    import re

    for message in catalog:
        if message.id and isinstance(message.id, str):
            names = set(re.findall(r"%\((\w+)\)s", message.id))
            assert names == set(re.findall(r"%\((\w+)\)s", str(message.string))), message.id


def test_negotiate() -> None:
    assert i18n.negotiate("fr-CH, fr;q=0.9, en;q=0.8", ("en", "fr"), "en") == "fr"
    assert i18n.negotiate("de, en;q=0.5", ("en", "fr"), "fr") == "en"
    assert i18n.negotiate("de", ("en", "fr"), "en") == "en"
    assert i18n.negotiate("en;q=0.1, fr;q=0.9", ("en", "fr"), "en") == "fr"
    assert i18n.negotiate("garbage;q=x", ("en", "fr"), "en") == "en"


def test_money_and_numbers_follow_the_locale() -> None:
    token = i18n.set_locale("fr")
    try:
        assert (
            i18n.format_money(123456, "EUR").replace("\u202f", " ").replace("\xa0", " ")
            == "1 234,56 €"
        )
        assert i18n.format_number(1234567).replace("\u202f", " ") == "1 234 567"
    finally:
        i18n.reset_locale(token)
    assert i18n.format_money(123456, "EUR") == "€1,234.56"
    assert i18n.format_money(500, "JPY") == "¥500"


def test_accept_language_picks_french(client: TestClient) -> None:
    html = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).text
    assert '<html lang="fr">' in html
    assert "Se connecter" in html


def test_language_switch_without_account(client: TestClient) -> None:
    token = csrf_from(client.get("/").text)
    response = client.post(
        "/language",
        data={"locale": "fr", "next": "/login", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "Se connecter" in client.get("/login").text
    # An unknown language changes nothing.
    client.post("/language", data={"locale": "xx", "csrf_token": token})
    assert "Se connecter" in client.get("/login").text


def test_language_choice_is_remembered_for_the_account(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    email = auth.login_as(Role.RESIDENT)
    client.post("/language", data={"locale": "fr", "csrf_token": auth.csrf()})
    from sqlalchemy import select

    assert db.read_sync(lambda s: s.scalar(select(User.locale).where(User.email == email))) == "fr"
    # The account's choice beats the browser's header.
    html = client.get("/account", headers={"Accept-Language": "en"}).text
    assert "Mon compte" in html
