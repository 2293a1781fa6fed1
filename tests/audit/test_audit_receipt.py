"""Receipt codes: enough randomness, short groups, forgiving lookup."""

from __future__ import annotations

import re

import pytest

from pb.audit.receipt import ALPHABET, RECEIPT_BITS, new_receipt_code, normalize_receipt

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}(-[0-9A-HJKMNP-TV-Z]{5}){2}")


def test_codes_have_at_least_128_bits_in_short_groups() -> None:
    assert RECEIPT_BITS >= 128
    assert len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)
    for _ in range(200):
        code = new_receipt_code()
        assert CODE.fullmatch(code), code
        assert normalize_receipt(code) == code


def test_codes_differ_and_use_the_whole_alphabet() -> None:
    codes = [new_receipt_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert set("".join(codes)) - {"-"} == set(ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "7kq2-m9xd-4hrt-8wbe-nc3fa-zp6vy",
        "7KQ2M9XD4HRT8WBENC3FAZP6VY",
        " 7KQ2 M9XD 4HRT 8WBE NC3FA ZP6VY ",
        "7KQ2--M9XD-4HRT-8WBE-NC3FA-ZP6VY",
    ],
)
def test_normalize_forgives_case_spaces_and_dashes(typed: str) -> None:
    assert normalize_receipt(typed) == "7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VY"


def test_normalize_reads_lookalikes_as_digits() -> None:
    assert normalize_receipt("OIL0-0000-0000-0000-00000-0000o") == "0110-0000-0000-0000-00000-00000"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6V", "26 characters"),
        ("7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VYY", "26 characters"),
        ("UKQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VY", "'U'"),
        ("7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6V!", "'!'"),
        ("", "26 characters"),
    ],
)
def test_normalize_refuses_what_cannot_be_a_code(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_receipt(typed)
