"""Bank statements in, payment lines out: ISO 20022 camt.053 XML and CSV exports.

Only money *received* matters here, so a statement becomes a list of :class:`StatementLine`:
the booked credit transfers, one per transaction (a batch entry of twenty transfers is twenty
lines), each with its amount in minor units, booking date, payer's name, structured reference or
free remittance text, and a **line id** stable across imports of the same statement, so that a
statement imported twice (or two overlapping statements) counts each payment once.

**camt.053** (versions 001.02 to 001.08): entries ``Ntry`` with ``CdtDbtInd`` = ``CRDT``,
status booked (``BOOK``; ``<Sts>BOOK</Sts>`` up to version 05, ``<Sts><Cd>BOOK</Cd></Sts>``
after), not reversals. Each ``NtryDtls/TxDtls`` is a line; its amount is ``TxDtls/Amt`` (or
``AmtDtls/TxAmt/Amt``, or the entry's amount when the entry has one transaction). Line id: the
bank's own reference of the transaction (``Refs/AcctSvcrRef``), else the entry's ``AcctSvcrRef``
or ``NtryRef`` (with the transaction's position), else the payer's ``EndToEndId``, else a digest
of the line's content — always prefixed with the statement's account. The XML is parsed by
``defusedxml``: a document type declaration, entities or external references are refused.

**CSV**: a header row, then one row per movement. Staff say which column holds the amount, the
date, the reference or remittance text, the payer's name, and optionally a unique transaction id,
and whether amounts use a decimal comma. The delimiter is the one of ``;`` ``,`` tab ``|`` the
header row uses most, the encoding is UTF-8 (with or without BOM) or else Latin-1. Rows with
a negative amount are debits and skipped. Without an id column, the line id is a digest of the
row's content and its occurrence number among identical rows, so re-importing the same export
finds the same ids.

Bad files raise :class:`StatementError` with a message naming the line or element.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from babel.numbers import get_currency_precision
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.services import payments

CAMT_NAMESPACE = re.compile(r"^\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])\}")
MAX_STATEMENT_BYTES = 20 * 1024 * 1024
MAX_TEXT = 500  # remittance text kept per line


class StatementError(ValidationError):
    """A statement file that cannot be read; the message names the line or element."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": message})


@dataclass(frozen=True)
class StatementLine:
    line_id: str
    amount: int  # minor units, > 0
    currency: str
    booked: dt.date | None
    debtor: str
    reference: str | None  # a valid RF reference (compact) when one was given or found
    text: str  # the remittance information as given


@dataclass(frozen=True)
class Statement:
    kind: str  # "camt.053" or "csv"
    account: str | None  # the statement's IBAN when the file gives it
    lines: list[StatementLine]
    skipped: int  # debits, pending entries, reversals


def _to_minor(value: Decimal, currency: str, where: str) -> int:
    precision = get_currency_precision(currency)
    minor = value.scaleb(precision)
    if minor != minor.to_integral_value():
        raise StatementError(
            _("%(where)s: the amount %(amount)s has too many decimals.", where=where, amount=value)
        )
    return int(minor)


def _reference(structured: str | None, text: str) -> str | None:
    if structured:
        compact = payments.normalise(structured)
        if compact is not None:
            return compact
    found = payments.find_references(f"{structured or ''} {text}")
    return found[0] if found else None


def _digest(*parts: object) -> str:
    joined = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


# camt.053 ------------------------------------------------------------------------------------


class _Camt:
    """Namespace-aware lookups in one camt.053 document."""

    def __init__(self, root: Element) -> None:
        match = CAMT_NAMESPACE.match(root.tag)
        if match is None or not root.tag.endswith("}Document"):
            raise StatementError(
                _("This is not a camt.053 statement (versions 001.02 to 001.08 are read).")
            )
        self.ns = root.tag[1 : root.tag.index("}")]
        self.root = root

    def path(self, steps: str) -> str:
        return "/".join(f"{{{self.ns}}}{s}" for s in steps.split("/"))

    def find(self, elem: Element, steps: str) -> Element | None:
        return elem.find(self.path(steps))

    def findall(self, elem: Element, steps: str) -> list[Element]:
        return elem.findall(self.path(steps))

    def text(self, elem: Element, steps: str) -> str | None:
        found = self.find(elem, steps)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None


def _camt_amount(camt: _Camt, elem: Element | None, where: str) -> tuple[int, str] | None:
    if elem is None:
        return None
    currency = (elem.get("Ccy") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(_("%(where)s: the amount has no currency (Ccy).", where=where))
    try:
        value = Decimal((elem.text or "").strip())
    except InvalidOperation:
        raise StatementError(
            _("%(where)s: “%(text)s” is not an amount.", where=where, text=elem.text or "")
        ) from None
    if not value.is_finite() or value < 0:
        raise StatementError(
            _("%(where)s: “%(text)s” is not an amount.", where=where, text=elem.text or "")
        )
    return _to_minor(value, currency, where), currency


def _camt_date(camt: _Camt, entry: Element, where: str) -> dt.date | None:
    raw = camt.text(entry, "BookgDt/Dt") or camt.text(entry, "BookgDt/DtTm")
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementError(
            _("%(where)s: “%(text)s” is not a booking date.", where=where, text=raw)
        ) from None


def _camt_status(camt: _Camt, entry: Element) -> str:
    return (camt.text(entry, "Sts/Cd") or camt.text(entry, "Sts") or "").upper()


def _camt_entry(camt: _Camt, entry: Element, where: str, account: str) -> list[StatementLine]:
    """The lines of one entry: its transactions when it is a booked credit, else none."""
    indicator = camt.text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(_("%(where)s: CdtDbtInd is missing.", where=where))
    entry_amount = _camt_amount(camt, camt.find(entry, "Amt"), where)
    if entry_amount is None:
        raise StatementError(_("%(where)s: the amount (Amt) is missing.", where=where))
    if (
        indicator != "CRDT"
        or _camt_status(camt, entry) != "BOOK"
        or camt.text(entry, "RvslInd") == "true"
    ):
        return []
    booked = _camt_date(camt, entry, where)
    entry_ref = camt.text(entry, "AcctSvcrRef") or camt.text(entry, "NtryRef")
    txs = camt.findall(entry, "NtryDtls/TxDtls") or [Element("none")]
    lines = []
    for t_no, tx in enumerate(txs, start=1):
        here = _("%(where)s, transaction %(t)s", where=where, t=t_no)
        amount = _camt_amount(camt, camt.find(tx, "Amt"), here) or _camt_amount(
            camt, camt.find(tx, "AmtDtls/TxAmt/Amt"), here
        )
        if amount is None:
            if len(txs) > 1:
                raise StatementError(_("%(where)s: the amount is missing.", where=here))
            amount = entry_amount
        debtor = (
            camt.text(tx, "RltdPties/Dbtr/Nm")
            or camt.text(tx, "RltdPties/Dbtr/Pty/Nm")
            or camt.text(tx, "RltdPties/UltmtDbtr/Nm")
            or camt.text(tx, "RltdPties/UltmtDbtr/Pty/Nm")
            or ""
        )
        structured = camt.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        text = " ".join((u.text or "").strip() for u in camt.findall(tx, "RmtInf/Ustrd")).strip()
        end_to_end = camt.text(tx, "Refs/EndToEndId")
        if tx_ref := camt.text(tx, "Refs/AcctSvcrRef"):
            line_id = f"{account}:{tx_ref}"
        elif entry_ref:
            line_id = f"{account}:{entry_ref}" + (f"/{t_no}" if len(txs) > 1 else "")
        elif end_to_end and end_to_end != "NOTPROVIDED":
            line_id = f"{account}:e2e:{end_to_end}"
        else:
            line_id = f"{account}:{_digest(booked, amount, debtor, structured, text, t_no)}"
        lines.append(
            StatementLine(
                line_id=line_id[:200],
                amount=amount[0],
                currency=amount[1],
                booked=booked,
                debtor=debtor[:200],
                reference=_reference(structured, text),
                text=(text or structured or "")[:MAX_TEXT],
            )
        )
    return lines


def parse_camt053(data: bytes) -> Statement:
    """The booked credit lines of a camt.053 document (see the module docstring)."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError(_("The file is too large (at most 20 MB)."))
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise StatementError(
            _("The file declares a document type or entities, which statements never need.")
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise StatementError(
            _(
                "The XML is not well formed (line %(line)s, column %(column)s).",
                line=line,
                column=column,
            )
        ) from None
    camt = _Camt(root)
    statements = camt.findall(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementError(_("The file holds no statement (BkToCstmrStmt/Stmt)."))
    lines: list[StatementLine] = []
    accounts: set[str] = set()
    skipped = 0
    for s_no, stmt in enumerate(statements, start=1):
        account = camt.text(stmt, "Acct/Id/IBAN") or camt.text(stmt, "Acct/Id/Othr/Id") or ""
        account = account.replace(" ", "").upper()
        if account:
            accounts.add(account)
        for e_no, entry in enumerate(camt.findall(stmt, "Ntry"), start=1):
            where = _("statement %(s)s, entry %(e)s (Ntry)", s=s_no, e=e_no)
            found = _camt_entry(camt, entry, where, account or "?")
            skipped += not found
            lines.extend(found)
    return Statement(
        kind="camt.053",
        account=accounts.pop() if len(accounts) == 1 else None,
        lines=lines,
        skipped=skipped,
    )


# CSV -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """Which CSV column holds what (header names as in the file, compared without case)."""

    amount: str
    date: str
    text: str
    name: str = ""
    line_id: str = ""
    currency: str = ""
    decimal_comma: bool = True


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Latin-1, which reads any byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def csv_header(data: bytes) -> list[str]:
    """The column names of a CSV export (for the column-mapping form)."""
    rows = _csv_rows(decode(data))
    header = next(rows, None)
    if header is None:
        raise StatementError(_("The file is empty."))
    return [h.strip() for h in header]


def _csv_rows(text: str) -> Iterator[list[str]]:
    # The header row tells the delimiter best: names are rarely quoted and hold no amounts
    # (csv.Sniffer, given rows of "1.250,00", often picks the comma of a semicolon file).
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t|", key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    return csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)


def _csv_amount(raw: str, decimal_comma: bool, where: str) -> Decimal:
    cleaned = raw.strip().replace("\xa0", "").replace("\u202f", "").replace(" ", "")
    cleaned = re.sub(r"[^\d,.+-]", "", cleaned)  # currency signs
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise StatementError(
            _("%(where)s: “%(text)s” is not an amount.", where=where, text=raw)
        ) from None
    if not value.is_finite():
        raise StatementError(_("%(where)s: “%(text)s” is not an amount.", where=where, text=raw))
    return value


def _csv_date(raw: str, where: str) -> dt.date:
    value = raw.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value[:10], fmt).date()
        except ValueError:
            continue
    raise StatementError(_("%(where)s: “%(text)s” is not a date.", where=where, text=raw))


def parse_csv(data: bytes, mapping: ColumnMapping, currency: str) -> Statement:
    """The credit lines of a CSV export read with ``mapping`` (see the module docstring);
    ``currency`` is the call's, used when no currency column is mapped."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError(_("The file is too large (at most 20 MB)."))
    rows = _csv_rows(decode(data))
    try:
        header = [h.strip().lower() for h in next(rows)]
    except StopIteration:
        raise StatementError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise StatementError(_("Line 1: %(problem)s", problem=str(exc))) from None

    def column(name: str, label: str, required: bool) -> int | None:
        if not name.strip():
            if required:
                raise StatementError(_("Choose the column of the %(what)s.", what=label))
            return None
        try:
            return header.index(name.strip().lower())
        except ValueError:
            raise StatementError(
                _("The file has no column “%(name)s”.", name=name.strip())
            ) from None

    c_amount = column(mapping.amount, _("amount"), True)
    c_date = column(mapping.date, _("date"), True)
    c_text = column(mapping.text, _("reference"), True)
    c_name = column(mapping.name, _("name"), False)
    c_id = column(mapping.line_id, _("transaction id"), False)
    c_currency = column(mapping.currency, _("currency"), False)
    lines: list[StatementLine] = []
    seen: Counter[str] = Counter()
    skipped = 0
    line_no = 1
    try:
        for line_no, row in enumerate(rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            where = _("Line %(n)s", n=line_no)

            def cell(index: int | None, row: list[str] = row, where: str = where) -> str:
                if index is None:
                    return ""
                if index >= len(row):
                    raise StatementError(_("%(where)s: the row has too few columns.", where=where))
                return row[index].strip()

            value = _csv_amount(cell(c_amount), mapping.decimal_comma, where)
            if value <= 0:
                skipped += 1
                continue
            row_currency = (cell(c_currency) or currency).upper()
            if not re.fullmatch(r"[A-Z]{3}", row_currency):
                raise StatementError(
                    _("%(where)s: “%(text)s” is not a currency.", where=where, text=row_currency)
                )
            amount = _to_minor(value, row_currency, where)
            booked = _csv_date(cell(c_date), where)
            text = cell(c_text)
            debtor = cell(c_name)
            given_id = cell(c_id)
            if given_id:
                line_id = f"csv:{given_id}"
            else:
                content = _digest(booked, amount, row_currency, debtor, text)
                seen[content] += 1
                line_id = f"csv:{content}:{seen[content]}"
            lines.append(
                StatementLine(
                    line_id=line_id[:200],
                    amount=amount,
                    currency=row_currency,
                    booked=booked,
                    debtor=debtor[:200],
                    reference=_reference(None, text),
                    text=text[:MAX_TEXT],
                )
            )
    except csv.Error as exc:
        raise StatementError(
            _("Line %(n)s: %(problem)s", n=line_no + 1, problem=str(exc))
        ) from None
    return Statement(kind="csv", account=None, lines=lines, skipped=skipped)
