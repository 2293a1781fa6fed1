"""Translations and locale-aware formatting.

Catalogs live as ``.po`` files in ``pb/translations``; they are compiled in memory when first
needed, so there is no separate compile step to forget and no ``.mo`` file in the repository.
The current locale is a context variable set per request by the web layer.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import io
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
)
from babel.numbers import format_percent as _format_percent
from babel.support import NullTranslations, Translations

from pb import resources

TRANSLATIONS_DIR = resources.translations_dir()

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("pb_locale", default="en")


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for ``locale`` (English is the source language: no catalog)."""
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def get_locale() -> str:
    return _locale.get()


def set_locale(locale: str) -> contextvars.Token[str]:
    return _locale.set(locale)


def reset_locale(token: contextvars.Token[str]) -> None:
    _locale.reset(token)


def gettext(message: str, **variables: object) -> str:
    """Translate ``message`` into the current locale, then fill ``%(name)s`` placeholders."""
    text = translations(get_locale()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Pick the plural form for ``n``, then fill ``%(num)s`` with ``n`` written the locale's
    way ("1 234" in French, "1.234" in Spanish)."""
    text = translations(get_locale()).ngettext(singular, plural, n)
    return text % {"num": format_number(n), **variables}


def negotiate(accept_language: str, available: tuple[str, ...], default: str) -> str:
    """Pick the best of ``available`` for an ``Accept-Language`` header.

    Higher quality values win, then the header's order; a regional tag falls back to its
    language (``es-AR`` → ``es``); ``q=0`` means "not this one"; ``*`` or no match gives
    ``default``.
    """
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:32]):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
        if not 0 < quality <= 1:
            continue
        choices.append((-quality, index, tag.strip().lower().replace("_", "-")))
    for _, _, tag in sorted(choices):
        if tag == "*":
            return default
        base = tag.split("-")[0]
        if base in available:
            return base
    return default


def _babel_locale() -> Locale:
    return _parsed_locale(get_locale())


@functools.lru_cache(maxsize=64)
def _parsed_locale(name: str) -> Locale:
    """Babel's locale for ``name`` (parsing one costs more than most of what is done with it)."""
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_money(minor_units: int, currency: str) -> str:
    """Format integer minor units (cents) of ``currency`` for the current locale."""
    return _format_money(minor_units, currency, get_locale())


@functools.lru_cache(maxsize=4096)
def _format_money(minor_units: int, currency: str, locale: str) -> str:
    precision = get_currency_precision(currency)
    amount = Decimal(minor_units).scaleb(-precision)
    return format_currency(amount, currency, locale=_parsed_locale(locale))


def format_number(value: int | Decimal) -> str:
    return format_decimal(value, locale=_babel_locale())


def format_percent(value: float) -> str:
    """A share (0.123) as a percentage with one decimal (12.3 %) in the current locale."""
    return _format_percent(value, "#,##0.0 %", locale=_babel_locale())


def format_day(value: dt.date) -> str:
    return format_date(value, format="medium", locale=_babel_locale())


def format_moment(value: dt.datetime) -> str:
    return format_datetime(value, format="medium", locale=_babel_locale())


def language_name(locale: str) -> str:
    """The name of a language in that language, capitalised as in a list ("Español", "Ελληνικά")."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]
