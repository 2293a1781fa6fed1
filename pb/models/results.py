"""A round's tally: computed by staff from the ballot log, then published (and then final)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime


class RoundResult(Base):
    __tablename__ = "round_result"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), primary_key=True
    )
    # The canonical results.json bytes (pb.audit.results_bytes), exactly as published.
    results: Mapped[str] = mapped_column(Text)
    chain_head: Mapped[str] = mapped_column(String(64))  # the log the tally counted
    chain_length: Mapped[int] = mapped_column()
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
