"""The audit log: every staff and admin action, with who, what, when, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import clock
from pb.models import AuditEvent, User


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=clock.now(),
            actor_id=actor_id,
            action=action,
            target=target,
            before=before,
            after=after,
        )
    )


@dataclass(frozen=True)
class EventView:
    event: AuditEvent
    actor: str | None  # the actor's email; None for the system (e.g. the lock at voting time)


def recent(session: Session, limit: int = 200) -> list[EventView]:
    rows = session.execute(
        select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [EventView(event, email) for event, email in rows]
