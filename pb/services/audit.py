"""The audit log: every staff and admin action, with who, what, when, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb import clock
from pb.models import AuditEvent


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


def recent(session: Session, limit: int = 200) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))
