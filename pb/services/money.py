"""Money typed by people, in their locale, to integer minor units (and back for forms).

People type amounts as they write them: "4.500" is four thousand five hundred in German,
Spanish or Italian, four and a half in English; on a phone keypad a French resident may type
either. So the parser reads the text every way it could be meant (each of "." and "," as the
decimal mark or as the thousands separator, spaces and apostrophes always as separators) and:

* takes the locale's own reading when it is sure: it follows the locale's marks and has no more
  decimals than the currency (``"4.500"`` is 4500 in ``de``; ``"4,500"`` is 4500 in ``en``);
* otherwise takes the only reading that makes sense (``"4.50"`` in ``fr`` is 4.50);
* refuses, with :class:`AmbiguousAmount` naming every reading, when more than one does
  (``"4.500"`` in ``en`` or ``fr``: 4.50 or 4,500?).

Everything is locale-parametric (Babel's symbols for the locale), so a new catalog works as is.
:func:`off_by_thousands` flags an amount that looks a factor of 1,000 away from the budgets it
belongs to, for the caller to ask for a confirmation.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)

from pb.i18n import gettext as _

MAX_AMOUNT_MINOR = 10**15
_SPACES = ("\u202f", "\xa0", "\u2009", "\u2007")
_ALWAYS_GROUPING = (" ", "'", "\u2019")
_SYMBOLS = ("€", "$", "£", "zł", "CHF", "Fr.", "kr")


class AmountError(ValueError):
    """The text is not an amount of the currency."""


class AmbiguousAmount(AmountError):
    """The text can be read as more than one amount, or only against the locale's own marks
    ("4.505" in English: 4,505?); ``readings`` in minor units (ascending) and ``message``
    saying so in the current language."""

    def __init__(self, text: str, readings: tuple[int, ...], currency: str, locale: str) -> None:
        super().__init__(text)
        self.readings = readings
        shown = [format_currency(_major(r, currency), currency, locale=locale) for r in readings]
        plain = [_plain(r, currency, locale) for r in readings]
        if len(readings) == 1:
            self.message = _(
                "“%(typed)s” has more decimals than the currency. Did you mean %(amount)s? Type "
                "it again without a thousands separator, for example %(example)s.",
                typed=text.strip(),
                amount=shown[0],
                example=plain[0],
            )
            return
        self.message = _(
            "“%(typed)s” could mean %(first)s or %(second)s. Type it again without a thousands "
            "separator, for example %(example_first)s or %(example_second)s.",
            typed=text.strip(),
            first=shown[0],
            second=shown[-1],
            example_first=plain[0],
            example_second=plain[-1],
        )


def _plain(minor: int, currency: str, locale: str) -> str:
    """The amount as one could type it without doubt: no thousands separator."""
    amount = _major(minor, currency)
    if amount == amount.to_integral_value():
        return format_decimal(amount, format="0", locale=locale)
    return format_decimal(
        amount, format="0." + "0" * get_currency_precision(currency), locale=locale
    )


def _major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-get_currency_precision(currency))


def _grouping_ok(integer: str, marks: str) -> str | None:
    """The digits of ``integer`` if its separators (any of ``marks``) group by thousands."""
    if not marks or not any(m in integer for m in marks):
        return integer if integer.isdigit() else None
    chunks = re.split("[" + re.escape(marks) + "]", integer)
    used = {c for c in integer if not c.isdigit()}
    if len(used - set(_ALWAYS_GROUPING)) > 1:
        return None  # "1.234,567": two different separators in the whole part
    if not (1 <= len(chunks[0]) <= 3) or any(len(c) != 3 for c in chunks[1:]):
        return None
    digits = "".join(chunks)
    return digits if digits.isdigit() else None


def _reading(text: str, decimal: str | None, grouping: str, precision: int) -> int | None:
    """``text`` in minor units with ``decimal`` as the decimal mark (None: whole number) and the
    characters of ``grouping`` as thousands separators; None if it cannot be read so."""
    if decimal is not None:
        if text.count(decimal) != 1:
            return None
        integer, fraction = text.split(decimal)
        if not fraction.isdigit() or any(g in fraction for g in grouping):
            return None
    else:
        integer, fraction = text, ""
    if not integer:
        integer = "0"
    digits = _grouping_ok(integer, grouping)
    if digits is None or any(c not in grouping and not c.isdigit() for c in integer):
        return None
    value = Decimal(digits + "." + (fraction or "0")).scaleb(precision)
    if value != value.to_integral_value():
        return None  # more decimals than the currency has
    return int(value)


def parse_money(text: str, currency: str, locale: str) -> int:
    """Parse an amount typed in ``locale`` into minor units of ``currency``.

    "1 234,50" (fr), "1,234.50" (en) and "1.234,50" (de) are all 123450 for euros. Raises
    :class:`AmbiguousAmount` when the text can be meant more than one way (see the module
    docstring) and :class:`AmountError` (a ValueError) when it is no amount at all.
    """
    cleaned = text.strip()
    for space in _SPACES:
        cleaned = cleaned.replace(space, " ")
    for symbol in (currency, get_currency_symbol(currency, locale=locale), *_SYMBOLS):
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.strip()
    if re.fullmatch(r"[.,][0-9]+", cleaned):
        cleaned = "0" + cleaned  # ",50"
    if not re.fullmatch(r"[0-9][0-9., '\u2019]*", cleaned) or not cleaned[-1].isdigit():
        raise AmountError(text)
    precision = get_currency_precision(currency)
    dec = get_decimal_symbol(locale)
    group = get_group_symbol(locale)
    group = " " if group.isspace() or group in _SPACES else group
    own_grouping = "".join(dict.fromkeys((group, *_ALWAYS_GROUPING)))
    own_decimal = dec if dec in cleaned else None
    own = _reading(cleaned, own_decimal, own_grouping, precision)
    fraction = cleaned.split(dec)[1] if own_decimal and cleaned.count(dec) == 1 else ""
    decimals = len(fraction) if fraction.isdigit() else 0  # digits after the locale's mark
    if own is not None and own <= MAX_AMOUNT_MINOR and decimals <= precision:
        return own
    readings = set()
    for mark in (None, ".", ","):
        if mark is not None and mark not in cleaned:
            continue
        others = "".join(c for c in (".", ",", *_ALWAYS_GROUPING) if c != mark)
        value = _reading(cleaned, mark, others, precision)
        if value is not None and value <= MAX_AMOUNT_MINOR:
            readings.add(value)
    if len(readings) == 1 and decimals <= precision:
        return readings.pop()
    if readings:  # several readings, or the locale's decimal mark with too many decimals
        raise AmbiguousAmount(text, tuple(sorted(readings)), currency, locale)
    raise AmountError(text)


def off_by_thousands(amount: int, smallest: int, largest: int) -> bool:
    """Whether ``amount`` looks a factor of about 1,000 off against budgets: less than a
    thousandth of ``smallest`` (the budget it would come out of) or more than ten times
    ``largest`` (the whole budget). Zero budgets say nothing."""
    if amount <= 0:
        return False
    return (smallest > 0 and amount * 1000 < smallest) or (largest > 0 and amount > largest * 10)


def money_input(minor: int | None, currency: str, locale: str) -> str:
    """The value to put back in a form field: plain, locale-formatted, without symbol."""
    if minor is None:
        return ""
    precision = get_currency_precision(currency)
    amount = Decimal(minor).scaleb(-precision)
    if amount == amount.to_integral_value():
        return format_decimal(amount, format="#,##0", locale=locale)
    return format_decimal(amount, format="#,##0." + "0" * precision, locale=locale)


def amount_message(error: ValueError, default: str) -> str:
    """The message for a form field whose amount did not parse: the readings when it was
    ambiguous, else the field's own ``default`` hint."""
    return error.message if isinstance(error, AmbiguousAmount) else default
