"""Volunteer tasks: staff describe them, residents take a slot, staff confirm who came.

A task's free slots are ``capacity - taken``. Taking one is a conditional UPDATE
(``taken = taken + 1 WHERE taken < capacity``), so however many residents press the button at
once, at most ``capacity`` succeed: on SQLite writers are serialized; on PostgreSQL a blocked
UPDATE re-checks its WHERE on the row its predecessor committed. A CHECK constraint on the
table holds the same invariant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import Campaign, FundingCall, TaskSignup, User, VolunteerTask
from pb.services import audit, outbox
from pb.services.funding import calls

MAX_CAPACITY = 10_000
MAX_MINUTES = 24 * 60


@dataclass
class TaskInput:
    title: str
    description: str
    place: str
    starts_at: dt.datetime  # aware
    capacity: int
    minutes_each: int


def validate(data: TaskInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Say what volunteers will do.")
    elif len(data.title.strip()) > 120:
        errors["title"] = _("Use at most %(n)s characters.", n=120)
    if len(data.description) > 5_000:
        errors["description"] = _("Use at most %(n)s characters.", n=5_000)
    if not data.place.strip():
        errors["place"] = _("Say where volunteers meet.")
    elif len(data.place.strip()) > 200:
        errors["place"] = _("Use at most %(n)s characters.", n=200)
    if not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = _("Ask for between 1 and %(n)s people.", n=MAX_CAPACITY)
    if not 1 <= data.minutes_each <= MAX_MINUTES:
        errors["minutes_each"] = _("Give the time each volunteer gives, up to 24 hours.")
    return errors


def get_task(session: Session, task_id: int) -> VolunteerTask:
    task = session.get(VolunteerTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    return task


def _call_of(session: Session, task: VolunteerTask) -> FundingCall:
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    return calls.get_call(session, campaign.call_id)


def create_task(
    session: Session, actor_id: int | None, campaign_id: int, data: TaskInput
) -> VolunteerTask:
    """Add a task to a campaign (at any time: volunteer needs are not part of the locked rules)."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id}")
    errors = validate(data)
    if errors:
        raise ValidationError(errors)
    task = VolunteerTask(
        campaign_id=campaign_id,
        title=data.title.strip(),
        description=data.description,
        place=data.place.strip(),
        starts_at=data.starts_at,
        capacity=data.capacity,
        minutes_each=data.minutes_each,
        taken=0,
        created_at=clock.now(),
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor_id,
        "task.create",
        f"task:{task.id}",
        after={"campaign_id": campaign_id, "title": task.title, "capacity": task.capacity},
    )
    return task


def update_task(session: Session, actor_id: int, task_id: int, data: TaskInput) -> VolunteerTask:
    task = get_task(session, task_id)
    errors = validate(data)
    if data.capacity < task.taken:
        errors["capacity"] = _(
            "%(n)s people have already signed up: the task needs at least as many places.",
            n=task.taken,
        )
    if errors:
        raise ValidationError(errors)
    before = {
        "title": task.title,
        "capacity": task.capacity,
        "starts_at": task.starts_at.isoformat(),
    }
    task.title = data.title.strip()
    task.description = data.description
    task.place = data.place.strip()
    task.starts_at = data.starts_at
    task.capacity = data.capacity
    task.minutes_each = data.minutes_each
    after = {
        "title": task.title,
        "capacity": task.capacity,
        "starts_at": task.starts_at.isoformat(),
    }
    audit.record(session, actor_id, "task.update", f"task:{task.id}", before, after)
    return task


def delete_task(
    session: Session,
    actor_id: int | None,
    task_id: int,
    default_locale: str,
    base_url: str,
) -> int:
    """Remove a task (called off, or added by mistake) and tell each volunteer who had a place,
    in their language, through the outbox. Refused once attendance has been confirmed: the hours
    given stay on record. Returns how many volunteers are told.

    The task row is locked first, so a sign-up arriving meanwhile either is counted here (and
    told) or finds the task gone."""
    task = session.scalars(
        select(VolunteerTask).where(VolunteerTask.id == task_id).with_for_update()
    ).first()
    if task is None:
        raise NotFound(f"task {task_id}")
    rows = session.execute(
        select(TaskSignup, User)
        .join(User, User.id == TaskSignup.user_id)
        .where(TaskSignup.task_id == task_id)
        .order_by(TaskSignup.id)
    ).all()
    if any(signup.attended is not None for signup, _user in rows):
        raise ValidationError(
            {"": _("Attendance has been confirmed for this task: it stays on record.")}
        )
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    base = base_url.rstrip("/")
    for signup, user in rows:
        mail = outbox.render(
            "task_cancelled",
            user.locale or default_locale,
            name=user.display_name,
            task=task.title,
            campaign=campaign.title,
            starts_at=task.starts_at,
            place=task.place,
            campaign_link=f"{base}/campaigns/{campaign.id}",
        )
        outbox.enqueue(
            session,
            to=user.email,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            kind="task_cancelled",
            dedupe_key=f"task_cancelled:{signup.id}",
        )
    audit.record(
        session,
        actor_id,
        "task.delete",
        f"task:{task.id}",
        before={
            "campaign_id": task.campaign_id,
            "title": task.title,
            "capacity": task.capacity,
            "taken": task.taken,
            "starts_at": task.starts_at.isoformat(),
        },
        after={"volunteers_told": len(rows)},
    )
    session.delete(task)
    session.flush()
    return len(rows)


def _open_for_signup(session: Session, task: VolunteerTask, today: dt.date) -> None:
    call = _call_of(session, task)
    if calls.phase(call, today) in (calls.CallPhase.DRAFT, calls.CallPhase.CLOSED):
        raise ValidationError({"": _("Sign-ups for this call are closed.")})
    if task.starts_at <= clock.now():
        raise ValidationError({"": _("This task has already started.")})


def sign_up(session: Session, user_id: int, task_id: int, today: dt.date) -> bool:
    """Take a slot on a task; True if taken now, False if the resident already had one.

    Transaction: the caller's. The sign-up row goes in first, in a savepoint (the unique
    constraint makes a second one by the same resident a no-op); then the conditional UPDATE
    takes a slot. If none is left the function raises ``ValidationError`` and the caller's
    rollback removes the sign-up row with it."""
    task = get_task(session, task_id)
    _open_for_signup(session, task, today)
    try:
        with session.begin_nested():
            session.add(TaskSignup(task_id=task.id, user_id=user_id, created_at=clock.now()))
    except IntegrityError:
        return False
    taken = cast(
        CursorResult[Any],
        session.execute(
            update(VolunteerTask)
            .where(VolunteerTask.id == task.id, VolunteerTask.taken < VolunteerTask.capacity)
            .values(taken=VolunteerTask.taken + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if taken.rowcount != 1:
        raise ValidationError({"": _("Sorry, every place on this task has been taken.")})
    return True


def cancel_signup(session: Session, user_id: int, task_id: int, today: dt.date) -> None:
    """Give one's slot back before the task starts."""
    task = get_task(session, task_id)
    signup = session.scalars(
        select(TaskSignup).where(TaskSignup.task_id == task.id, TaskSignup.user_id == user_id)
    ).first()
    if signup is None:
        return
    if task.starts_at <= clock.now():
        raise ValidationError({"": _("This task has already started.")})
    session.delete(signup)
    session.flush()
    session.execute(
        update(VolunteerTask)
        .where(VolunteerTask.id == task.id)
        .values(taken=VolunteerTask.taken - 1)
        .execution_options(synchronize_session=False)
    )


def confirm_attendance(
    session: Session, actor_id: int, task_id: int, attended: dict[int, int | None]
) -> None:
    """Record who came (``attended`` maps sign-up id to minutes given; None: did not come)."""
    task = get_task(session, task_id)
    signups = {
        s.id: s for s in session.scalars(select(TaskSignup).where(TaskSignup.task_id == task.id))
    }
    if set(attended) - set(signups):
        raise ValidationError({"": _("Unknown sign-up.")})
    for minutes in attended.values():
        if minutes is not None and not 0 < minutes <= MAX_MINUTES:
            raise ValidationError({"": _("Give the time each volunteer gave, up to 24 hours.")})
    now = clock.now()
    for signup_id, minutes in attended.items():
        signup = signups[signup_id]
        signup.attended = minutes is not None
        signup.minutes_given = minutes
        signup.confirmed_at = now
        signup.confirmed_by = actor_id
    audit.record(
        session,
        actor_id,
        "task.attendance",
        f"task:{task.id}",
        after={str(k): v for k, v in sorted(attended.items())},
    )


@dataclass(frozen=True)
class TaskView:
    id: int
    campaign_id: int
    title: str
    description: str
    place: str
    starts_at: dt.datetime
    capacity: int
    taken: int
    minutes_each: int
    mine: bool  # the viewer has a slot

    @property
    def free(self) -> int:
        return self.capacity - self.taken


def tasks_of(session: Session, campaign_ids: list[int], viewer_id: int | None) -> list[TaskView]:
    if not campaign_ids:
        return []
    mine = set()
    if viewer_id is not None:
        mine = set(
            session.scalars(
                select(TaskSignup.task_id)
                .join(VolunteerTask, VolunteerTask.id == TaskSignup.task_id)
                .where(TaskSignup.user_id == viewer_id, VolunteerTask.campaign_id.in_(campaign_ids))
            )
        )
    return [
        TaskView(
            t.id,
            t.campaign_id,
            t.title,
            t.description,
            t.place,
            t.starts_at,
            t.capacity,
            t.taken,
            t.minutes_each,
            t.id in mine,
        )
        for t in session.scalars(
            select(VolunteerTask)
            .where(VolunteerTask.campaign_id.in_(campaign_ids))
            .order_by(VolunteerTask.starts_at, VolunteerTask.id)
        )
    ]


@dataclass(frozen=True)
class SignupView:
    id: int
    task_id: int
    task_title: str
    campaign_title: str
    place: str
    starts_at: dt.datetime
    minutes_each: int
    attended: bool | None
    minutes_given: int | None
    volunteer: str  # display name (staff pages only)


def signups_of_task(session: Session, task_id: int) -> list[SignupView]:
    task = get_task(session, task_id)
    campaign = session.get(Campaign, task.campaign_id)
    assert campaign is not None
    return [
        SignupView(
            s.id,
            task.id,
            task.title,
            campaign.title,
            task.place,
            task.starts_at,
            task.minutes_each,
            s.attended,
            s.minutes_given,
            name,
        )
        for s, name in session.execute(
            select(TaskSignup, User.display_name)
            .join(User, User.id == TaskSignup.user_id)
            .where(TaskSignup.task_id == task.id)
            .order_by(TaskSignup.created_at, TaskSignup.id)
        )
    ]


def my_signups(session: Session, user_id: int) -> list[SignupView]:
    rows = session.execute(
        select(TaskSignup, VolunteerTask, Campaign.title)
        .join(VolunteerTask, VolunteerTask.id == TaskSignup.task_id)
        .join(Campaign, Campaign.id == VolunteerTask.campaign_id)
        .where(TaskSignup.user_id == user_id)
        .order_by(VolunteerTask.starts_at, TaskSignup.id)
    ).all()
    return [
        SignupView(
            s.id,
            t.id,
            t.title,
            ct,
            t.place,
            t.starts_at,
            t.minutes_each,
            s.attended,
            s.minutes_given,
            "",
        )
        for s, t, ct in rows
    ]


@dataclass(frozen=True)
class TimeTotals:
    minutes_pledged: int  # every slot taken
    minutes_given: int  # confirmed by staff


def time_totals(session: Session, user_id: int) -> TimeTotals:
    pledged = session.scalar(
        select(func.coalesce(func.sum(VolunteerTask.minutes_each), 0))
        .join(TaskSignup, TaskSignup.task_id == VolunteerTask.id)
        .where(TaskSignup.user_id == user_id)
    )
    given = session.scalar(
        select(func.coalesce(func.sum(TaskSignup.minutes_given), 0)).where(
            TaskSignup.user_id == user_id, TaskSignup.attended.is_(True)
        )
    )
    return TimeTotals(int(pledged or 0), int(given or 0))
