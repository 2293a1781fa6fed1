"""Money typed by people, in their locale, to integer minor units (and back for forms)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, format_decimal, get_currency_precision, parse_decimal

MAX_AMOUNT_MINOR = 10**15


def parse_money(text: str, currency: str, locale: str) -> int:
    """Parse "1 234,50" (fr) or "1,234.50" (en) into minor units; raise ValueError if not exact."""
    cleaned = text.strip().replace("\u202f", " ").replace("\xa0", " ")
    for symbol in (currency, "€", "$", "£", "zł", "CHF"):
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.strip()
    if not cleaned:
        raise ValueError("empty")
    try:
        # Spaces group thousands in many locales; Babel's strict mode is too strict for people.
        amount = parse_decimal(cleaned.replace(" ", ""), locale=locale)
    except (NumberFormatError, InvalidOperation):
        raise ValueError(text) from None
    precision = get_currency_precision(currency)
    minor = amount.scaleb(precision)
    if minor != minor.to_integral_value() or minor < 0 or minor > MAX_AMOUNT_MINOR:
        raise ValueError(text)
    return int(minor)


def money_input(minor: int | None, currency: str, locale: str) -> str:
    """The value to put back in a form field: plain, locale-formatted, without symbol."""
    if minor is None:
        return ""
    precision = get_currency_precision(currency)
    amount = Decimal(minor).scaleb(-precision)
    if amount == amount.to_integral_value():
        return format_decimal(amount, format="#,##0", locale=locale)
    return format_decimal(amount, format="#,##0." + "0" * precision, locale=locale)
