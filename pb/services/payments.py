"""How a backer pays: the ISO 11649 "RF" creditor reference of a pledge, and the EPC QR code
("GiroCode") their banking app scans.

**References.** A pledge's reference is ``RF`` + two ISO 7064 MOD 97-10 check digits + a body of
eleven digits: the pledge id on ten digits and one Luhn check digit of its own. The outer check
digits catch what the payer's bank would catch anyway (a typo anywhere); the inner one lets us
recognise *our* references in free text and tell a mistyped id from another pledge's id even
when a bank strips the ``RF`` prefix's check. References are stored and compared in their compact
form (no spaces, upper case) and shown in groups of four, as printed on paper payment slips.

**EPC QR.** The European Payments Council's "SEPA Credit Transfer" QR code (EPC069-12) carries
the creditor's name, IBAN, BIC, an amount *in euros only*, and the structured reference. For any
other currency there is no such standard, so :func:`epc_qr_svg` refuses and the page shows the
bank details to type instead (and says why).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import segno
import segno.helpers
from stdnum import iso11649, luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

BODY_DIGITS = 10  # the pledge id, zero-padded; room for ten thousand million pledges
MAX_PLEDGE_ID = 10**BODY_DIGITS - 1
EPC_MAX_AMOUNT = 999_999_999_99  # EPC069-12: at most 999,999,999.99 EUR
EPC_MAX_NAME = 70

# "RF", two check digits, then 1 to 21 letters or digits, spaces allowed between them as
# people and banks print them ("RF18 5390 0754 7034"). Candidates are checked, longest first.
_CANDIDATE = re.compile(r"R\s?F\s?(\d\s?\d)((?:\s?[0-9A-Z]){1,21})", re.IGNORECASE)


def reference_for(pledge_id: int) -> str:
    """The compact RF reference of a pledge: pledge 42 → ``RF5600000000422``."""
    if not 0 < pledge_id <= MAX_PLEDGE_ID:
        raise ValueError(f"pledge id out of range: {pledge_id}")
    number = f"{pledge_id:0{BODY_DIGITS}d}"
    body = number + luhn.calc_check_digit(number)
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def pledge_id_of(reference: str) -> int | None:
    """The pledge id inside one of our references (any spacing or case), else None."""
    compact = normalise(reference)
    if compact is None:
        return None
    body = compact[4:]
    if len(body) != BODY_DIGITS + 1 or not body.isdigit() or not luhn.is_valid(body):
        return None
    pledge_id = int(body[:BODY_DIGITS])
    return pledge_id or None


def normalise(reference: str) -> str | None:
    """The compact form of a valid RF reference ("rf18 5390 0754 7034" → "RF18539007547034"),
    or None when it is not one (wrong check digits, wrong characters)."""
    try:
        return iso11649.validate(reference.strip())
    except StdnumError:
        return None


def find_references(text: str) -> list[str]:
    """Every valid RF reference in free text (a bank line's remittance information), compact,
    in order of appearance, without repeats.

    The reference may be spaced in groups and followed by more text ("RF18 5390 0754 7034
    merci"), so each candidate is tried from its longest reading down to the shortest and the
    first that passes the check digits is taken: a wrong reading passes MOD 97 only by chance
    (about 1 in 97), and our own references carry a second check digit besides."""
    found: list[str] = []
    pos = 0
    while (match := _CANDIDATE.search(text, pos)) is not None:
        chars = re.sub(r"\s", "", match.group(0)).upper()
        taken = None
        for end in range(len(chars), 4, -1):
            candidate = chars[:end]
            if iso11649.is_valid(candidate):
                taken = candidate
                break
        if taken is None:
            pos = match.start() + 1
            continue
        if taken not in found:
            found.append(taken)
        pos = _end_of(text, match.start(), len(taken))
    return found


def _end_of(text: str, start: int, length: int) -> int:
    """The index in ``text`` just after ``length`` non-space characters from ``start``."""
    seen = 0
    for i in range(start, len(text)):
        if not text[i].isspace():
            seen += 1
            if seen == length:
                return i + 1
    return len(text)


def grouped(reference: str) -> str:
    """A compact reference in groups of four, as printed: "RF18 5390 0754 7034"."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def epc_supported(currency: str) -> bool:
    return currency.upper() == "EUR"


def epc_qr_svg(
    *, name: str, iban: str, bic: str | None, amount: int, currency: str, reference: str
) -> str:
    """An inline SVG EPC QR code (no script, no style: allowed by the strict CSP) asking for
    ``amount`` cents to ``iban`` with the structured ``reference``.

    Raises ValueError for a currency other than EUR, an amount outside 0.01–999,999,999.99, or a
    creditor name longer than the 70 characters the standard allows."""
    if not epc_supported(currency):
        raise ValueError("EPC QR codes carry euros only")
    if not 0 < amount <= EPC_MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount}")
    if not name.strip() or len(name) > EPC_MAX_NAME:
        raise ValueError("creditor name must have 1 to 70 characters")
    qr = segno.helpers.make_epc_qr(
        name=name,
        iban=iban.replace(" ", "").upper(),
        amount=Decimal(amount).scaleb(-2),
        reference=reference,
        bic=bic.replace(" ", "").upper() if bic else None,
    )
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        scale=4,
        border=4,
        light="#fff",
        omitsize=True,
        xmldecl=False,
        svgns=True,
        nl=False,
        title=None,
    )
    return out.getvalue().decode()
