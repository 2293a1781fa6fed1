"""Reading bank statements: camt.053 (versions 02 and 08) and CSV exports (no database)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from string import Template

import pytest

from pb.services import bank_statements as bs
from pb.services import payments

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"
REF_A, REF_B, REF_C = (payments.reference_for(n) for n in (11, 12, 13))


def sample(name: str, **refs: str) -> bytes:
    """A sample statement with the references of the pledges of a test filled in."""
    values = {"REF_A": REF_A, "REF_B_SPACED": payments.grouped(REF_B).lower(), "REF_C": REF_C}
    values.update(refs)
    return Template((DATA / name).read_text(encoding="utf-8")).substitute(values).encode()


def test_camt053_v02_booked_credits_one_line_per_transaction() -> None:
    statement = bs.parse_camt053(sample("camt053_v02.xml"))
    assert statement.kind == "camt.053"
    assert statement.account == "FR7630006000011234567890189"
    assert statement.skipped == 2  # the bank fees (debit) and the pending entry
    got = [(x.line_id, x.amount, x.debtor, x.reference) for x in statement.lines]
    account = "FR7630006000011234567890189"
    assert got == [
        (f"{account}:2026120200001", 2500, "Marie Dupont", REF_A),
        (f"{account}:2026120200002-1", 4000, "Jean Durand", REF_B),
        (f"{account}:2026120200002-2", 5000, "Association Les Amis du Parc", None),
        (f"{account}:2026120200005", 850, "Paul Martin", REF_C),
        (f"{account}:2026120200001", 2500, "Marie Dupont", REF_A),  # repeated by the bank
    ]
    assert {x.currency for x in statement.lines} == {"EUR"}
    assert {x.booked for x in statement.lines} == {dt.date(2026, 12, 2)}
    assert statement.lines[1].text.startswith("Don jardin partage rf")
    assert statement.lines[2].text == "Location salle des fetes novembre"


def test_camt053_v08_status_code_party_name_and_reversal() -> None:
    statement = bs.parse_camt053(sample("camt053_v08.xml"))
    assert statement.skipped == 1  # the reversal
    [line] = statement.lines
    assert (line.amount, line.debtor, line.reference) == (4250, "Lucie Bernard", REF_A)
    assert line.booked == dt.date(2026, 12, 3)
    assert line.line_id == "FR7630006000011234567890189:7Q2B3K"


def test_camt053_every_version_from_02_to_08_is_read() -> None:
    v02 = sample("camt053_v02.xml").decode()
    for version in range(2, 9):
        data = v02.replace("camt.053.001.02", f"camt.053.001.0{version}").encode()
        assert len(bs.parse_camt053(data).lines) == 5


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not well formed (line 1"),
        (b"<Document><BkToCstmrStmt/></Document>", "not a camt.053"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>',
            "not a camt.053",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
            b"<BkToCstmrStmt>\n<Stmt>\n<Ntry></Document>",
            "line 3",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/>'
            b"</Document>",
            "no statement",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            b'<Stmt><Ntry><Amt Ccy="EUR">1O.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt>'
            b"</BkToCstmrStmt></Document>",
            "statement 1, entry 1 (Ntry): “1O.00” is not an amount.",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            b"<Stmt><Ntry><Amt>10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt>"
            b"</BkToCstmrStmt></Document>",
            "no currency",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            b'<Stmt><Ntry><Amt Ccy="EUR">10.001</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt>'
            b"</BkToCstmrStmt></Document>",
            "too many decimals",
        ),
    ],
)
def test_camt053_bad_files_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(bs.StatementError) as caught:
        bs.parse_camt053(data)
    assert message in caught.value.errors["file"]


def test_camt053_refuses_entities_and_external_references() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
    )
    for data in (bomb, external):
        with pytest.raises(bs.StatementError) as caught:
            bs.parse_camt053(data)
        assert "document type" in caught.value.errors["file"]


MAPPING = bs.ColumnMapping(
    amount="Montant", date="Date opération", text="Libellé", name="Contrepartie", currency="Devise"
)


@pytest.mark.parametrize("name", ["bank_fr.csv", "bank_fr_latin1.csv"])
def test_csv_export_with_decimal_comma(name: str) -> None:
    raw = (DATA / name).read_bytes().replace(b"$REF_A", REF_A.encode())
    assert bs.csv_header(raw) == ["Date opération", "Libellé", "Montant", "Devise", "Contrepartie"]
    statement = bs.parse_csv(raw, MAPPING, "EUR")
    assert statement.skipped == 1  # the direct debit
    got = [(x.amount, x.booked, x.debtor, x.reference) for x in statement.lines]
    assert got == [
        (2500, dt.date(2026, 12, 2), "Marie Dupont", REF_A),
        (125000, dt.date(2026, 12, 2), "Jean Durand", None),
        (125000, dt.date(2026, 12, 2), "Jean Durand", None),
    ]
    # Two identical rows are two payments; the same file again gives the same ids.
    ids = [x.line_id for x in statement.lines]
    assert len(set(ids)) == 3
    assert [x.line_id for x in bs.parse_csv(raw, MAPPING, "EUR").lines] == ids


def test_csv_with_bom_comma_delimiter_decimal_point_and_id_column() -> None:
    raw = (
        "\ufeffid,booked,amount,details,payer\n"
        f'TX-1,2026-12-02,"1,025.50",Payment {payments.grouped(REF_B)},Anna Kowalska\n'
        "TX-2,2026-12-03,12.00,no reference,Ben\n"
    ).encode()
    mapping = bs.ColumnMapping(
        amount="AMOUNT",
        date="booked",
        text="details",
        name="payer",
        line_id="id",
        decimal_comma=False,
    )
    statement = bs.parse_csv(raw, mapping, "EUR")
    assert [(x.line_id, x.amount, x.reference) for x in statement.lines] == [
        ("csv:TX-1", 102550, REF_B),
        ("csv:TX-2", 1200, None),
    ]


@pytest.mark.parametrize(
    "raw, mapping, message",
    [
        (b"", MAPPING, "The file is empty."),
        (b"a;b\n1;2\n", MAPPING, "The file has no column “Montant”."),
        (
            "Date opération;Libellé;Montant;Devise;Contrepartie\n02/12/2026;x;abc;EUR;y\n".encode(),
            MAPPING,
            "Line 2: “abc” is not an amount.",
        ),
        (
            "Date opération;Libellé;Montant;Devise;Contrepartie\n"
            "02/12/2026;x;1,00;EUR;y\n31/02/2026;x;1,00;EUR;y\n".encode(),
            MAPPING,
            "Line 3: “31/02/2026” is not a date.",
        ),
        (
            "Date opération;Libellé;Montant;Devise;Contrepartie\n02/12/2026;x;1,00\n".encode(),
            MAPPING,
            "Line 2: the row has too few columns.",
        ),
        (
            "Date opération;Libellé;Montant;Devise;Contrepartie\n"
            "02/12/2026;x;1,001;EUR;y\n".encode(),
            MAPPING,
            "Line 2: the amount 1.001 has too many decimals.",
        ),
        (b"a;b\n1;2\n", bs.ColumnMapping(amount="", date="a", text="b"), "column of the amount"),
    ],
)
def test_csv_bad_files_name_the_line(raw: bytes, mapping: bs.ColumnMapping, message: str) -> None:
    with pytest.raises(bs.StatementError) as caught:
        bs.parse_csv(raw, mapping, "EUR")
    assert caught.value.errors["file"] == message or message in caught.value.errors["file"]
