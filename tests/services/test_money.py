"""Amounts typed in the resident's locale: the locale's own reading when it is sure, the only
sensible reading otherwise, and a refusal naming the readings when there is more than one."""

from __future__ import annotations

import pytest

from pb.i18n import reset_locale, set_locale
from pb.services.money import (
    AmbiguousAmount,
    AmountError,
    money_input,
    off_by_thousands,
    parse_money,
)


@pytest.mark.parametrize(
    ("locale", "typed", "cents"),
    [
        ("en", "4,500", 450_000),
        ("en", "1,234.50", 123_450),
        ("en", "4.50", 450),
        ("en", "12500", 1_250_000),
        ("en", "€ 12.5", 1_250),
        ("en", "1.234,50", 123_450),  # only one way to read it
        ("fr", "1 234,50", 123_450),
        ("fr", "1\u202f234,50", 123_450),
        ("fr", "4,50", 450),
        ("fr", "4.50", 450),  # a phone keypad's dot: the only sensible reading
        ("fr", "12 500 €", 1_250_000),
        ("de", "4.500", 450_000),  # "." groups thousands in German
        ("de", "15.400", 1_540_000),
        ("de", "1.234,50", 123_450),
        ("de", "1.234.567", 123_456_700),
        ("de", "4,5", 450),
        ("es", "4.500", 450_000),
        ("it", "4.500", 450_000),
        ("el", "4.500", 450_000),
        ("pl", "4 500,50", 450_050),
    ],
)
def test_reads_the_amount_as_the_locale_writes_it(locale: str, typed: str, cents: int) -> None:
    assert parse_money(typed, "EUR", locale) == cents


@pytest.mark.parametrize(
    ("locale", "typed", "readings"),
    [
        ("en", "4.500", (450, 450_000)),
        ("en", "15.400", (1_540, 1_540_000)),
        ("fr", "4.500", (450, 450_000)),
        ("fr", "4,500", (450, 450_000)),
        ("de", "4,500", (450, 450_000)),
    ],
)
def test_refuses_an_ambiguous_amount_and_names_both_readings(
    locale: str, typed: str, readings: tuple[int, int]
) -> None:
    token = set_locale(locale)
    try:
        with pytest.raises(AmbiguousAmount) as caught:
            parse_money(typed, "EUR", locale)
    finally:
        reset_locale(token)
    assert caught.value.readings == readings
    assert typed in caught.value.message


def test_the_ambiguity_message_shows_the_readings_in_the_locale() -> None:
    with pytest.raises(AmbiguousAmount) as caught:
        parse_money("15.400", "EUR", "en")
    assert "€15.40" in caught.value.message
    assert "€15,400.00" in caught.value.message
    assert "15400" in caught.value.message


@pytest.mark.parametrize("typed", ["", "abc", "-5", "1.2.3", "1,23,456", "12.", "1e5", "4.5.0,1"])
def test_refuses_what_is_no_amount(typed: str) -> None:
    with pytest.raises(AmountError):
        parse_money(typed, "EUR", "en")


def test_a_whole_currency_has_no_decimals() -> None:
    assert parse_money("4,500", "JPY", "en") == 4500
    with pytest.raises(AmbiguousAmount) as caught:
        parse_money("4.500", "JPY", "en")
    assert caught.value.readings == (4500,)
    with pytest.raises(AmountError):
        parse_money("4.5", "JPY", "en")


@pytest.mark.parametrize("locale", ["en", "fr", "de", "es", "it", "el", "pl"])
@pytest.mark.parametrize("cents", [0, 5, 450, 450_000, 123_450, 1_540_000, 123_456_700])
def test_what_the_form_shows_reads_back_unchanged(locale: str, cents: int) -> None:
    assert parse_money(money_input(cents, "EUR", locale), "EUR", locale) == cents


def test_off_by_thousands() -> None:
    district, whole = 20_000_000, 100_000_000  # 200,000.00 and 1,000,000.00
    assert off_by_thousands(1_540, district, whole)  # 15.40 for a 200,000 budget
    assert not off_by_thousands(1_540_000, district, whole)
    assert off_by_thousands(whole * 10 + 1, district, whole)
    assert not off_by_thousands(0, district, whole)
    assert not off_by_thousands(1_540, 0, 0)


def test_too_many_decimals_for_the_locale_asks_about_the_other_reading() -> None:
    with pytest.raises(AmbiguousAmount) as caught:
        parse_money("4.505", "EUR", "en")
    assert caught.value.readings == (450_500,)
    assert "€4,505.00" in caught.value.message
