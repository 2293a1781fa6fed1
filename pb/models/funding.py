"""Civic crowdfunding: funding calls, campaigns on projects, money pledges and volunteer tasks.

A pledge is a commitment, not a payment: ``pledged → payment_requested → fulfilled`` or, off
that path, ``cancelled`` (by the resident while the window is open) or ``released`` (its
campaign failed). What happened to a pledge is kept as :class:`PledgeEvent` rows, so a resident
can read its story. The database guarantees what must hold under any concurrency: one pledge
per idempotency key, one sign-up per resident per task, and a task's ``taken`` counter never
above its capacity (a CHECK constraint behind the conditional UPDATE that takes a slot).
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
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pb.models.base import Base, UTCDateTime, str_enum
from pb.models.rounds import Eligibility


class CampaignState(enum.StrEnum):
    OPEN = "open"  # pledging, or waiting for the call to close
    SUCCEEDED = "succeeded"  # reached its minimum; backers are asked to pay
    FAILED = "failed"  # under its minimum; pledges released
    FUNDED = "funded"  # collected (and matched): the project goes ahead


class PledgeState(enum.StrEnum):
    PLEDGED = "pledged"
    PAYMENT_REQUESTED = "payment_requested"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    RELEASED = "released"


# The pledges that still count towards a campaign's total.
ACTIVE_PLEDGE_STATES = (
    PledgeState.PLEDGED,
    PledgeState.PAYMENT_REQUESTED,
    PledgeState.FULFILLED,
)


class FundingCall(Base):
    """A matching pool with its rule, dates, eligibility and the council's receiving account."""

    __tablename__ = "funding_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("round.id", ondelete="RESTRICT"), index=True
    )  # None: a standalone call
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    pool: Mapped[int] = mapped_column()  # minor units
    # pb.tally.funding.MatchingRule.to_json_dict()
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    pledging_from: Mapped[dt.date] = mapped_column(Date)  # first day, in the town's zone
    pledging_until: Mapped[dt.date] = mapped_column(Date)  # last day of pledging
    collection_until: Mapped[dt.date] = mapped_column(Date)  # last day payments are counted
    # Who counts for matching (a round's census or codes only when the call belongs to it).
    eligibility: Mapped[Eligibility] = mapped_column(str_enum(Eligibility, "eligibility"))
    iban: Mapped[str] = mapped_column(String(34))  # compact, upper case
    bic: Mapped[str] = mapped_column(String(11))
    creditor_name: Mapped[str] = mapped_column(String(70))  # the EPC QR limit
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Set when pledging opens: the canonical rules and their SHA-256.
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    locked_config: Mapped[str | None] = mapped_column(Text)
    config_sha256: Mapped[str | None] = mapped_column(String(64))


class Campaign(Base):
    """A project seeking pledges in a call: an accepted proposal, or a community project."""

    __tablename__ = "campaign"
    __table_args__ = (
        UniqueConstraint("call_id", "proposal_id"),
        CheckConstraint("minimum > 0", name="minimum_positive"),
        CheckConstraint("optimum IS NULL OR optimum >= minimum", name="optimum_above_minimum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("funding_call.id", ondelete="CASCADE"), index=True
    )
    # The proposal it continues (None: a community project staff accepted into the call).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id", ondelete="RESTRICT"))
    # Copied from the proposal when there is one, so the campaign reads on its own.
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    minimum: Mapped[int] = mapped_column()  # minor units: all-or-nothing
    optimum: Mapped[int | None] = mapped_column()  # minor units: keep-what-you-raise up to it
    state: Mapped[CampaignState] = mapped_column(str_enum(CampaignState, "campaign_state"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CostItem(Base):
    """One line of a campaign's itemised costs."""

    __tablename__ = "cost_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column()  # minor units


class CampaignTotals(Base):
    """A campaign's running totals, updated in the transaction of every pledge change.

    ``backers``/``raised`` count every active pledge; the ``match_*`` columns only eligible
    residents' pledges (each resident's pledges to the campaign summed first), which is what the
    live marginal estimate needs. ``match_sum_sqrt`` is a float: the estimate is approximate by
    definition; the final match is recomputed exactly from the pledges."""

    __tablename__ = "campaign_totals"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    backers: Mapped[int] = mapped_column()
    raised: Mapped[int] = mapped_column()  # minor units
    match_backers: Mapped[int] = mapped_column()
    match_total: Mapped[int] = mapped_column()  # minor units
    match_sum_sqrt: Mapped[float] = mapped_column(Float)


class Pledge(Base):
    """A resident's pledge of money to a campaign. The unique idempotency key makes a double
    tap or a resent form one pledge."""

    __tablename__ = "pledge"
    __table_args__ = (
        Index("ix_pledge_campaign_state", "campaign_id", "state"),
        Index("ix_pledge_user_campaign", "user_id", "campaign_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column()  # minor units
    public_name: Mapped[str | None] = mapped_column(String(80))  # None: anonymous
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[PledgeState] = mapped_column(str_enum(PledgeState, "pledge_state"))
    eligible: Mapped[bool] = mapped_column(Boolean)  # counts for matching (decided at pledge time)
    # ISO 11649 RF creditor reference, set when payment is requested.
    payment_reference: Mapped[str | None] = mapped_column(String(25), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(20))  # how it was paid: bank, cash, card


class PledgeEvent(Base):
    """One thing that happened to a pledge (made, changed, cancelled, payment requested, ...),
    shown to its resident on "My pledges"."""

    __tablename__ = "pledge_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VolunteerTask(Base):
    """Something volunteers can do for a campaign: what, where, when, how many, how long."""

    __tablename__ = "volunteer_task"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column()  # people needed
    minutes_each: Mapped[int] = mapped_column()  # time each volunteer gives
    # Slots taken; only changed by a conditional UPDATE (see pb.services.funding.tasks).
    taken: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TaskSignup(Base):
    """A resident's place on a task; staff confirm attendance and the time given afterwards."""

    __tablename__ = "task_signup"
    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_task_signup_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("volunteer_task.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attended: Mapped[bool | None] = mapped_column(Boolean)  # None: not confirmed yet
    minutes_given: Mapped[int | None] = mapped_column()
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    confirmed_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
