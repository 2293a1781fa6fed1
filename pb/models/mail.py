"""The mail outbox: every mail pb sends is first a row here, written in the same transaction as
what it announces, so a mail is never announced for something that did not happen and never
lost when the process stops before sending it. The sender (:mod:`pb.mail`) claims rows with a
lease, delivers them, and marks them sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime


class OutboxMail(Base):
    """One mail to one recipient. Pending while ``sent_at`` and ``failed_at`` are both empty."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "sent_at", "failed_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    # For mails one can stop (project updates): the https address a mail client POSTs
    # ``List-Unsubscribe=One-Click`` to (RFC 8058), sent as the List-Unsubscribe header.
    list_unsubscribe: Mapped[str | None] = mapped_column(String(500))
    # A second enqueue with the same key is a no-op; the unique constraint guarantees it.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sender owns a row while claim_token is its token and claimed_until is in the future.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Where it went: "smtp" or the .eml file under var/mail.
    delivered_to: Mapped[str | None] = mapped_column(String(300))


class UsedToken(Base):
    """A signed link that has done its work (verify, reset, unlock): it cannot do it again.

    Only the SHA-256 of the token is kept, until the token would have expired anyway."""

    __tablename__ = "used_token"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
