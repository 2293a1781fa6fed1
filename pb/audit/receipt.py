"""Receipt codes: the random code a voter keeps to find their ballot in the published files.

A code is 26 characters of Crockford's base32 alphabet (``0-9`` and ``A-Z`` without ``I``,
``L``, ``O`` and ``U``), i.e. 130 random bits from :mod:`secrets`, shown in six groups
separated by ``-``: ``7KQ2-M9XD-4HRT-8WBE-NC3FA-ZP6VY``. That form is the *canonical* one: it is
what ballot records, ``.pb`` voter ids and the lookup page use.

People copy codes by hand, so :func:`normalize_receipt` forgives what is easy to get wrong:
lower case, missing or extra spaces and dashes, ``O`` for ``0`` and ``I``/``L`` for ``1``.
"""

from __future__ import annotations

import secrets

__all__ = [
    "ALPHABET",
    "GROUPS",
    "RECEIPT_BITS",
    "format_receipt",
    "new_receipt_code",
    "normalize_receipt",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32 alphabet: digit value = position."""

GROUPS = (4, 4, 4, 4, 5, 5)
"""Lengths of the groups a code is shown in (26 characters in all)."""

LENGTH = sum(GROUPS)
RECEIPT_BITS = 5 * LENGTH
"""Random bits in a code (130)."""

_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")


def _grouped(compact: str) -> str:
    parts = []
    start = 0
    for size in GROUPS:
        parts.append(compact[start : start + size])
        start += size
    return "-".join(parts)


def new_receipt_code() -> str:
    """A fresh receipt code in canonical form (130 bits from :func:`secrets.randbits`)."""
    return format_receipt(secrets.randbits(RECEIPT_BITS))


def format_receipt(value: int) -> str:
    """The canonical code of the low :data:`RECEIPT_BITS` bits of ``value``."""
    value &= (1 << RECEIPT_BITS) - 1
    digits = []
    for _ in range(LENGTH):
        value, digit = divmod(value, 32)
        digits.append(ALPHABET[digit])
    return _grouped("".join(reversed(digits)))


def normalize_receipt(text: str) -> str:
    """The canonical form of a receipt code typed by a person.

    Case is ignored, spaces and dashes (of any kind) are dropped, ``O`` is read as ``0`` and
    ``I``/``L`` as ``1``. Raises ``ValueError`` when what is left is not 26 characters of the
    alphabet (the lookup page then says the code is not valid rather than "not found").
    """
    compact = text.translate(_SEPARATORS).upper().translate(_LOOKALIKES)
    bad = sorted({c for c in compact if c not in ALPHABET})
    if bad:
        raise ValueError(f"a receipt code has no {', '.join(map(repr, bad))}")
    if len(compact) != LENGTH:
        raise ValueError(f"a receipt code has {LENGTH} characters, not {len(compact)}")
    return _grouped(compact)
