"""Choosing a language: the account's choice, then Accept-Language, then PB_DEFAULT_LOCALE; the
switcher names each language in itself; ``<html lang>`` follows on every page; money and dates are
written the locale's way."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from pb import i18n
from pb.config import SUPPORTED_LOCALES, Settings, load_settings
from pb.db import Database
from pb.models import Role
from pb.web.app import create_app
from tests.conftest import AuthActions

SIX = ("en", "fr", "es", "it", "el", "pl")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-AR", "es"),
        ("es-AR,es;q=0.9,en;q=0.8", "es"),
        ("de-DE, pl-PL;q=0.8, en;q=0.5", "pl"),
        ("de-DE, en;q=0.5, pl-PL;q=0.8", "pl"),
        ("el-GR;q=0.3, it-CH;q=0.7", "it"),
        ("fr;q=0, es;q=0.2", "es"),
        ("fr;q=0", "en"),
        ("FR-ca", "fr"),
        ("pt-BR, de", "en"),
        ("de, *;q=0.5, es;q=0.1", "en"),
        ("", "en"),
        ("es;q=abc, it", "it"),
        ("es;q=2", "en"),
    ],
)
def test_accept_language_quality_and_region_fallback(header: str, expected: str) -> None:
    assert i18n.negotiate(header, SIX, "en") == expected


def test_default_locale_comes_from_the_environment() -> None:
    assert load_settings({"PB_SECRET_KEY": "x" * 40, "PB_DEFAULT_LOCALE": "es"}).default_locale == (
        "es"
    )


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_browser_language_picks_the_catalog(client: TestClient, locale: str) -> None:
    html = client.get("/login", headers={"Accept-Language": f"{locale}-XX, en;q=0.5"}).text
    assert f'<html lang="{locale}">' in html
    assert i18n.translations(locale).gettext("Log in") in html
    assert i18n.translations(locale).gettext("Log in") != "Log in"


def test_default_locale_when_the_browser_asks_for_nothing_we_have(
    settings: Settings, db: Database
) -> None:
    app = create_app(dataclasses.replace(settings, default_locale="es"), db)
    with TestClient(app) as client:
        html = client.get("/login", headers={"Accept-Language": "de-DE, ja;q=0.5"}).text
        assert '<html lang="es">' in html and "Iniciar sesión" in html
        # A language the browser names still beats the default.
        html = client.get("/login", headers={"Accept-Language": "de, fr;q=0.4"}).text
        assert '<html lang="fr">' in html


def test_account_choice_beats_the_browser(client: TestClient, auth: AuthActions) -> None:
    auth.login_as(Role.RESIDENT)
    client.post("/language", data={"locale": "es", "csrf_token": auth.csrf()})
    html = client.get("/account", headers={"Accept-Language": "fr-FR, en;q=0.9"}).text
    assert '<html lang="es">' in html and "Mi cuenta" in html


def test_switcher_names_each_language_in_itself(client: TestClient) -> None:
    html = client.get("/", headers={"Accept-Language": "es"}).text
    options = dict(re.findall(r'<option value="(\w+)" lang="\w+"[^>]*>([^<]+)</option>', html))
    assert set(options) == set(SUPPORTED_LOCALES)
    names = {"en": "English", "fr": "Français", "es": "Español"}
    names |= {"it": "Italiano", "el": "Ελληνικά", "pl": "Polski"}
    for code, shown in options.items():
        assert shown == names[code]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_html_lang_on_every_kind_of_page(client: TestClient, locale: str) -> None:
    headers = {"Accept-Language": locale}
    for path in ("/", "/rounds", "/funding", "/login", "/register", "/receipts", "/no-such"):
        response = client.get(path, headers=headers)
        assert f'<html lang="{locale}">' in response.text, (path, response.status_code)


@pytest.mark.parametrize(
    ("locale", "money", "day"),
    [
        ("en", "€1,234.50", "Mar 5, 2027"),
        ("fr", "1 234,50 €", "5 mars 2027"),
        ("es", "1.234,50 €", "5 mar 2027"),
        ("it", "1.234,50 €", "5 mar 2027"),
        ("el", "1.234,50 €", "5 Μαρ 2027"),
        ("pl", "1 234,50 zł", "5 mar 2027"),
    ],
)
def test_money_and_dates_follow_the_locale(locale: str, money: str, day: str) -> None:
    token = i18n.set_locale(locale)
    try:
        currency = "PLN" if locale == "pl" else "EUR"
        plain = i18n.format_money(123450, currency).replace("\u202f", " ").replace("\xa0", " ")
        assert plain == money
        assert i18n.format_day(dt.date(2027, 3, 5)).replace("\xa0", " ") == day
        # The month's name, in the locale's script.
        july = {"el": "Ιουλ", "pl": "lip", "it": "lug", "fr": "juil.", "es": "jul", "en": "Jul"}
        assert july[locale] in i18n.format_day(dt.date(2027, 7, 15))
    finally:
        i18n.reset_locale(token)


def test_counts_are_written_the_locale_way() -> None:
    for locale, shown in (("en", "1,234 ballots"), ("es", "1.234 papeletas"), ("fr", "1 234")):
        token = i18n.set_locale(locale)
        try:
            text = i18n.ngettext("%(num)s ballot", "%(num)s ballots", 1234)
            assert text.replace("\u202f", " ").startswith(shown), text
        finally:
            i18n.reset_locale(token)


def test_pages_say_their_language_to_caches(client: TestClient) -> None:
    response = client.get("/login", headers={"Accept-Language": "es-ES"})
    assert response.headers["content-language"] == "es"
    assert "accept-language" in response.headers["vary"].lower()
