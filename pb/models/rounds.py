"""A participatory-budgeting round: its dated phases, budgets, voting method and rules."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime, str_enum


class Phase(enum.StrEnum):
    """The phases of a round, in order. A round only ever moves forward."""

    DRAFT = "draft"
    PROPOSALS = "proposals"
    REVIEW = "review"
    VOTING = "voting"
    CLOSED = "closed"  # voting over, results not yet published
    RESULTS = "results"

    @property
    def rank(self) -> int:
        return list(Phase).index(self)


class VotingMethod(enum.StrEnum):
    APPROVAL = "approval"
    KNAPSACK = "knapsack"
    QUADRATIC = "quadratic"
    CUMULATIVE = "cumulative"


class Eligibility(enum.StrEnum):
    ACCOUNT = "account"
    CENSUS = "census"
    CODES = "codes"


class VotingScope(enum.StrEnum):
    CITYWIDE = "citywide"
    DISTRICT = "district"
    BOTH = "both"


class Round(Base):
    __tablename__ = "round"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    total_budget: Mapped[int] = mapped_column()  # minor units
    citywide_budget: Mapped[int] = mapped_column()  # minor units
    proposals_from: Mapped[dt.date] = mapped_column(Date)
    review_from: Mapped[dt.date] = mapped_column(Date)
    voting_from: Mapped[dt.date] = mapped_column(Date)
    voting_until: Mapped[dt.date] = mapped_column(Date)  # last day of voting
    # Staff may open the next phase early; the effective phase is never behind this one.
    phase_override: Mapped[Phase | None] = mapped_column(str_enum(Phase, "round_phase"))
    method: Mapped[VotingMethod] = mapped_column(str_enum(VotingMethod, "voting_method"))
    min_choices: Mapped[int | None] = mapped_column()
    max_choices: Mapped[int | None] = mapped_column()
    credits: Mapped[int | None] = mapped_column()
    points: Mapped[int | None] = mapped_column()
    max_per_project: Mapped[int | None] = mapped_column()
    rule: Mapped[str] = mapped_column(String(40))
    tie_break: Mapped[str] = mapped_column(String(80))
    min_score_threshold: Mapped[int | None] = mapped_column()
    eligibility: Mapped[Eligibility] = mapped_column(str_enum(Eligibility, "eligibility"))
    scope: Mapped[VotingScope] = mapped_column(str_enum(VotingScope, "voting_scope"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Set when voting opens: the canonical configuration and its SHA-256 anchor the ballot log.
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    locked_config: Mapped[str | None] = mapped_column(Text)
    config_sha256: Mapped[str | None] = mapped_column(String(64))


class RoundDistrict(Base):
    """A district's own budget in a round."""

    __tablename__ = "round_district"
    __table_args__ = (UniqueConstraint("round_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="RESTRICT"))
    budget: Mapped[int] = mapped_column()  # minor units


class Category(Base):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("round_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
