"""After the vote: funded projects carried out, followed by residents, and their social impact.

A :class:`TrackedProject` is a project the town committed to: funded by a published vote result
or by a crowdfunding campaign whose match is published. It copies what the resident proposed
(need, beneficiaries, partners) so its card reads on its own, and carries the status, the
budget lines (approved against spent), the milestones, the public updates and the followers.
Impact is measured with indicators: a town catalogue (:class:`Indicator`) and each project's own
(:class:`ProjectIndicator`: baseline, target) with dated :class:`Measurement` rows. Values are
whole numbers of their unit (people, hours, trees, m², events).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime, str_enum


class ProjectStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELAYED = "delayed"  # a reason is required
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # a reason is required

    @property
    def needs_reason(self) -> bool:
        return self in (ProjectStatus.DELAYED, ProjectStatus.CANCELLED)


class FundedBy(enum.StrEnum):
    VOTE = "vote"
    CROWDFUNDING = "crowdfunding"


class TrackedProject(Base):
    __tablename__ = "tracked_project"
    __table_args__ = (
        CheckConstraint(
            "progress IS NULL OR (progress >= 0 AND progress <= 100)", name="progress_percent"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The round it belongs to: the vote's, or the funding call's (None: a standalone call).
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("round.id", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="RESTRICT"), unique=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="RESTRICT"), unique=True
    )
    funded_by: Mapped[FundedBy] = mapped_column(str_enum(FundedBy, "funded_by"))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    need: Mapped[str] = mapped_column(Text)
    beneficiaries: Mapped[str] = mapped_column(Text)
    partners: Mapped[str] = mapped_column(Text)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ProjectStatus] = mapped_column(str_enum(ProjectStatus, "project_status"))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[int | None] = mapped_column()  # percent set by staff; None: from milestones
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BudgetLine(Base):
    """One line of a project's approved budget and what has been spent on it."""

    __tablename__ = "budget_line"
    __table_args__ = (CheckConstraint("approved >= 0 AND spent >= 0", name="amounts_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_project.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(200))
    approved: Mapped[int] = mapped_column()  # minor units
    spent: Mapped[int] = mapped_column()  # minor units


class Milestone(Base):
    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    planned_on: Mapped[dt.date] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class ProjectUpdate(Base):
    """A public line of a project's history: what changed, in words residents read (the audit
    log keeps who and the exact before and after)."""

    __tablename__ = "project_update"
    __table_args__ = (Index("ix_project_update_project_at", "project_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_project.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # status, progress, milestone_planned, milestone_done, spending, note, lead (lead: not public)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # the values the sentence names
    body: Mapped[str] = mapped_column(Text)  # staff's own words (a note, a reason), or ""


class ProjectFollow(Base):
    """A resident follows a project (one row per resident and project, by the database)."""

    __tablename__ = "project_follow"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("tracked_project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Indicator(Base):
    """An indicator of the town's catalogue. ``source`` names where values can also come from
    (``time_pledges``: hours given on crowdfunding volunteer tasks)."""

    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    unit: Mapped[str] = mapped_column(String(40))
    summable: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ProjectIndicator(Base):
    """What a project measures: a catalogue indicator, or its own (name and unit)."""

    __tablename__ = "project_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("tracked_project.id", ondelete="CASCADE"), index=True
    )
    indicator_id: Mapped[int | None] = mapped_column(
        ForeignKey("indicator.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(120))  # only for the project's own indicator
    unit: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[int] = mapped_column()
    target: Mapped[int] = mapped_column()


class Measurement(Base):
    __tablename__ = "measurement"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_indicator_id: Mapped[int] = mapped_column(
        ForeignKey("project_indicator.id", ondelete="CASCADE"), index=True
    )
    measured_on: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
