"""The heartbeat row that ``/health/ready`` writes to check that the database takes writes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base


class Heartbeat(Base):
    """One row (id 1), its counter raised by each readiness check
    (:meth:`pb.db.Database.ready_sync`)."""

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    beats: Mapped[int] = mapped_column(BigInteger, default=0)
