"""Residents follow projects; every update of a project is mailed once to each follower.

:func:`announce` writes the public update and, in the same transaction, one outbox mail per
follower whose dedupe key names the update and the follower: a retried transaction or a second
call cannot mail anyone twice about one update. Each mail carries a one-click unsubscribe link:
a token signed for this purpose (:data:`pb.services.tokens.UNFOLLOW`) naming the project and
the follower, which works logged out; opening it shows a button, and only the button (a POST)
unfollows, so mail scanners that follow links change nothing. The mail's ``List-Unsubscribe``
header names the same token's ``/one-click`` address, where a mail client's "unsubscribe"
POSTs ``List-Unsubscribe=One-Click`` (RFC 8058): one click in the mail client, no page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import BadToken, NotFound, ValidationError
from pb.i18n import gettext as _
from pb.models import ProjectFollow, ProjectUpdate, TrackedProject, User
from pb.services import outbox, tokens

if TYPE_CHECKING:
    from pb.services.tracking.projects import Mailing


def is_following(session: Session, project_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(ProjectFollow.id).where(
                ProjectFollow.project_id == project_id, ProjectFollow.user_id == user_id
            )
        )
        is not None
    )


def follow(session: Session, project_id: int, user_id: int) -> None:
    """Follow a project; following twice is one follow (the database decides). Only a verified
    address is mailed, so nobody can sign someone else's address up for these mails."""
    if session.get(TrackedProject, project_id) is None:
        raise NotFound(f"project {project_id}")
    user = session.get(User, user_id)
    if user is None or user.email_verified_at is None:
        raise ValidationError(
            {"": _("Confirm your email address first (see My account): updates go by mail.")}
        )
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(ProjectFollow).values(
        project_id=project_id, user_id=user_id, created_at=clock.now()
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["project_id", "user_id"]))


def unfollow(session: Session, project_id: int, user_id: int) -> bool:
    """Stop following; whether the user was following."""
    result = session.execute(
        delete(ProjectFollow).where(
            ProjectFollow.project_id == project_id, ProjectFollow.user_id == user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def followed_by(session: Session, user_id: int) -> list[TrackedProject]:
    return list(
        session.scalars(
            select(TrackedProject)
            .join(ProjectFollow, ProjectFollow.project_id == TrackedProject.id)
            .where(ProjectFollow.user_id == user_id)
            .order_by(TrackedProject.title)
        )
    )


def unsubscribe_token(secret_key: str, project_id: int, user_id: int) -> str:
    return tokens.make(secret_key, tokens.UNFOLLOW, {"p": project_id, "u": user_id})


@dataclass(frozen=True)
class Unsubscribe:
    project_id: int
    user_id: int
    title: str


def read_unsubscribe(session: Session, secret_key: str, token: str) -> Unsubscribe:
    """What an unsubscribe link names; :class:`BadToken` for a forged or expired one."""
    payload = tokens.read(secret_key, tokens.UNFOLLOW, token)
    project_id, user_id = payload.get("p"), payload.get("u")
    if not isinstance(project_id, int) or not isinstance(user_id, int):
        raise BadToken("invalid")
    project = session.get(TrackedProject, project_id)
    if project is None:
        raise BadToken("invalid")
    return Unsubscribe(project_id, user_id, project.title)


def announce(
    session: Session,
    project: TrackedProject,
    kind: str,
    detail: dict[str, Any],
    body: str,
    mailing: Mailing,
) -> ProjectUpdate:
    """Write a public update of ``project`` and one mail per follower (see the module)."""
    update = ProjectUpdate(
        project_id=project.id, at=clock.now(), kind=kind, detail=detail, body=body
    )
    session.add(update)
    session.flush()
    base = mailing.base_url.rstrip("/")
    followers = session.scalars(
        select(User)
        .join(ProjectFollow, ProjectFollow.user_id == User.id)
        .where(ProjectFollow.project_id == project.id, User.email_verified_at.is_not(None))
        .order_by(User.id)
    ).all()
    for user in followers:
        token = unsubscribe_token(mailing.secret_key, project.id, user.id)
        mail = outbox.render(
            "project_update",
            user.locale or mailing.default_locale,
            name=user.display_name,
            project=project.title,
            kind=kind,
            detail=detail,
            body=body,
            currency=project.currency,
            link=f"{base}/projects/{project.id}",
            unsubscribe=f"{base}/unfollow/{token}",
        )
        outbox.enqueue(
            session,
            to=user.email,
            subject=mail.subject,
            text=mail.text,
            kind="project_update",
            dedupe_key=f"project_update:{update.id}:{user.id}",
            list_unsubscribe=f"{base}/unfollow/{token}/one-click",
        )
    return update
