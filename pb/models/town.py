"""The town running pb, and its districts."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base


class Town(Base):
    __tablename__ = "town"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))


class District(Base):
    __tablename__ = "district"
    __table_args__ = (UniqueConstraint("town_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    population: Mapped[int | None] = mapped_column()
    # Its outline: a MultiPolygon as canonical GeoJSON (pb.geo.geojson); None until staff upload it.
    boundary: Mapped[str | None] = mapped_column(Text)
