"""RF creditor references and the EPC QR code (no database)."""

from __future__ import annotations

import pytest
from stdnum import iso11649

from pb.services import payments


@pytest.mark.parametrize("pledge_id", [1, 42, 99_999, 10**10 - 1])
def test_reference_is_a_valid_rf_reference_that_gives_back_the_pledge(pledge_id: int) -> None:
    reference = payments.reference_for(pledge_id)
    assert iso11649.is_valid(reference)
    assert reference.startswith("RF") and len(reference) == 15
    assert payments.pledge_id_of(reference) == pledge_id
    assert payments.pledge_id_of(payments.grouped(reference).lower()) == pledge_id


def test_reference_of_pledge_42_is_fixed() -> None:
    # Printed on letters and mails: the format must never change silently.
    assert payments.reference_for(42) == "RF5600000000422"
    assert payments.grouped("RF5600000000422") == "RF56 0000 0000 422"


@pytest.mark.parametrize("pledge_id", [0, -1, 10**10])
def test_reference_refuses_ids_out_of_range(pledge_id: int) -> None:
    with pytest.raises(ValueError):
        payments.reference_for(pledge_id)


def test_a_typo_is_not_another_pledge() -> None:
    reference = payments.reference_for(1234)
    for i in range(4, len(reference)):
        for digit in "0123456789":
            typo = reference[:i] + digit + reference[i + 1 :]
            if typo != reference:
                assert payments.pledge_id_of(typo) is None, typo


def test_foreign_references_are_valid_but_not_ours() -> None:
    assert payments.normalise("rf18 5390 0754 7034") == "RF18539007547034"
    assert payments.pledge_id_of("RF18 5390 0754 7034") is None
    assert payments.normalise("RF17 5390 0754 7034") is None
    assert payments.normalise("not a reference") is None


def test_find_references_in_free_text() -> None:
    ours = payments.reference_for(7)
    text = f"Don jardin {payments.grouped(ours).lower()} merci / RF18 5390 0754 7034 RF18 x"
    assert payments.find_references(text) == [ours, "RF18539007547034"]
    assert payments.find_references(f"VIR SEPA DUPONT {ours}ABC") == [ours]
    assert payments.find_references(f"{ours} {ours}") == [ours]
    assert payments.find_references("RF00 1234, REF 99") == []


def test_epc_qr_svg_is_inline_safe() -> None:
    svg = payments.epc_qr_svg(
        name="Ville de Bellevue",
        iban="FR76 3000 6000 0112 3456 7890 189",
        bic="AGRIFRPP",
        amount=2550,
        currency="EUR",
        reference=payments.reference_for(42),
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and "style" not in svg and "<?xml" not in svg


def test_epc_payload_carries_the_payment() -> None:
    import segno.helpers

    qr = segno.helpers.make_epc_qr(
        name="Ville de Bellevue",
        iban="FR7630006000011234567890189",
        amount=25.5,
        reference="RF5600000000422",
        bic="AGRIFRPP",
    )
    assert qr.error == "M"  # EPC069-12 asks for level M
    svg = payments.epc_qr_svg(
        name="Ville de Bellevue",
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        amount=2550,
        currency="EUR",
        reference="RF5600000000422",
    )
    # The same payment drawn twice is the same picture: the payload is deterministic.
    import io

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
    assert out.getvalue().decode() == svg


@pytest.mark.parametrize(
    "currency, amount, name",
    [("CHF", 100, "Ville"), ("EUR", 0, "Ville"), ("EUR", 10**12, "Ville"), ("EUR", 100, "x" * 71)],
)
def test_epc_qr_refuses_what_the_standard_does_not_allow(
    currency: str, amount: int, name: str
) -> None:
    assert payments.epc_supported("eur") and not payments.epc_supported("CHF")
    with pytest.raises(ValueError):
        payments.epc_qr_svg(
            name=name,
            iban="FR7630006000011234567890189",
            bic=None,
            amount=amount,
            currency=currency,
            reference="RF5600000000422",
        )
