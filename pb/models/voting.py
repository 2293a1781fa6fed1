"""Voting: who took part (participation) and what was chosen (the ballot log), kept apart.

*Who voted* and *what was chosen* share no key: a participation row has no id, no time and no
channel, only the round, the ballot slot and a keyed hash of the voter; a ballot record has no
voter at all and no time finer than the day. Nor may the storage order pair them: participation
is keyed, and on SQLite stored (``WITHOUT ROWID``), by the keyed hash first, and when voting
closes each round's rows are written again in that order
(:func:`pb.services.ballot_log.seal_participation`). docs/voting.md says what an operator can
and cannot learn.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime


class Participation(Base):
    """A voter has cast the ballot of one slot ("citywide" or "district") of a round.

    The primary key makes a second ballot impossible, whatever the concurrency. It begins with
    the keyed voter hash, and SQLite keeps the rows in its order (no rowid), so the stored order
    says nothing about the order of casting."""

    __tablename__ = "participation"
    __table_args__ = (
        PrimaryKeyConstraint("voter_key", "round_id", "slot"),
        {"sqlite_with_rowid": False},
    )

    voter_key: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(20))


class BallotRecord(Base):
    """One record of a round's append-only ballot log (seq 0 is the genesis record)."""

    __tablename__ = "ballot_record"
    __table_args__ = (UniqueConstraint("round_id", "receipt"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10))
    district: Mapped[str | None] = mapped_column(String(120))
    receipt: Mapped[str | None] = mapped_column(String(40))
    # The canonical JSON of the whole record, exactly the bytes that were hashed.
    record: Mapped[str] = mapped_column(Text)
    day: Mapped[dt.date | None] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(10))
    hash: Mapped[str] = mapped_column(String(64))


class CensusEntry(Base):
    """An eligible resident of a census round. Only keyed hashes are stored."""

    __tablename__ = "census_entry"
    __table_args__ = (UniqueConstraint("round_id", "id_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    id_hash: Mapped[str] = mapped_column(String(64))  # HMAC of the identifier
    proof_hash: Mapped[str] = mapped_column(String(64))  # HMAC of identifier + second fact
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"))


class AccessCode(Base):
    """A single-use access code (only its keyed hash is kept; the letter is printed once)."""

    __tablename__ = "access_code"
    __table_args__ = (Index("ix_access_code_round_batch", "round_id", "batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"))
    batch: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
