"""Collecting pledged money and settling a funding call: the close of pledging, the bank
statements staff import, their lines (each matched to a pledge or left for staff), and the
match from draft to published.

A bank line is stored once per call: the unique ``(call_id, line_id)`` makes a statement
imported twice, or two overlapping statements, count each payment once, whatever the
concurrency.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime


class CallSettlement(Base):
    """How far a call has been settled: pledging closed (outcomes decided, backers asked to
    pay), the match computed as a draft, then published (final)."""

    __tablename__ = "call_settlement"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("funding_call.id", ondelete="CASCADE"), primary_key=True
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The canonical matches.json of the last draft (re-computed until published).
    matches: Mapped[str | None] = mapped_column(Text)
    ledger_sha256: Mapped[str | None] = mapped_column(String(64))  # what the draft counted
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))


class FundingBundle(Base):
    """The funding bundle (zip) of a published call, exactly as published: downloads serve these
    bytes instead of building the bundle again (seconds for a large call, and the backers'
    pseudonyms depend on the secret key, which may be rotated after publication)."""

    __tablename__ = "funding_bundle"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("funding_call.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StatementImport(Base):
    """One bank statement file staff imported, with what it brought."""

    __tablename__ = "statement_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("funding_call.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # camt.053 or csv
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    lines: Mapped[int] = mapped_column()  # credit lines read
    matched: Mapped[int] = mapped_column()
    unmatched: Mapped[int] = mapped_column()
    duplicates: Mapped[int] = mapped_column()


class BankLine(Base):
    """A payment received (a bank credit, or cash or card at the town hall), and the pledge it
    pays once matched. ``status``: ``matched`` (by reference), ``manual`` (matched by staff),
    ``unmatched`` (waiting for staff), ``ignored`` (staff said it is not a pledge)."""

    __tablename__ = "bank_line"
    __table_args__ = (
        UniqueConstraint("call_id", "line_id"),
        Index("ix_bank_line_call_id_status", "call_id", "status"),
        Index("ix_bank_line_pledge_id", "pledge_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("funding_call.id", ondelete="CASCADE"))
    import_id: Mapped[int | None] = mapped_column(
        ForeignKey("statement_import.id", ondelete="CASCADE")
    )  # None: recorded by hand at the town hall
    line_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))  # bank, cash, card
    amount: Mapped[int] = mapped_column()  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    booked: Mapped[dt.date | None] = mapped_column(Date)
    debtor: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(25))  # a valid RF reference, compact
    text: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
