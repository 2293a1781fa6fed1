"""Accounts: registration, login bookkeeping, server-side sessions, password changes.

Sessions live in the database so that logout and a password change really revoke them: the
cookie carries a random token (signed), and only its SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import ValidationError
from pb.i18n import gettext as _
from pb.models import LoginFailure, Role, User, UserSession
from pb.passwords import MAX_LENGTH, MIN_LENGTH

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# Only touch last_seen_at when it is older than this (or than a quarter of the idle limit, if
# shorter), so reading a page is rarely a write and an active session never goes idle.
TOUCH_EVERY = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class CurrentUser:
    """What a request knows about its logged-in user."""

    id: int
    email: str
    display_name: str
    role: Role
    locale: str | None
    session_id: int
    email_verified: bool = False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str, confirm: str, field: str = "password") -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(password) < MIN_LENGTH:
        errors[field] = _("Use at least %(n)s characters.", n=MIN_LENGTH)
    elif len(password) > MAX_LENGTH:
        errors[field] = _("Use at most %(n)s characters.", n=MAX_LENGTH)
    elif password != confirm:
        errors[field + "_confirm"] = _("The two passwords do not match.")
    return errors


def check_registration(email: str, display_name: str, password: str, confirm: str) -> None:
    """Raise :class:`ValidationError` listing every problem with a registration form."""
    errors: dict[str, str] = {}
    if not EMAIL_RE.match(normalize_email(email)) or len(email) > 254:
        errors["email"] = _("Enter a valid email address.")
    name = display_name.strip()
    if not name:
        errors["display_name"] = _("Enter your name.")
    elif len(name) > 100:
        errors["display_name"] = _("Use at most %(n)s characters.", n=100)
    errors.update(check_password_rules(password, confirm))
    if errors:
        raise ValidationError(errors)


def create_user(
    session: Session,
    email: str,
    display_name: str,
    password_hash: str,
    role: Role,
    *,
    verified: bool = False,
) -> User:
    """Add an account. The unique email constraint settles races; we check first for a message.

    ``verified``: the address is known to be the owner's (accounts made by an administrator);
    residents who sign up verify theirs by mail (:mod:`pb.services.verification`)."""
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationError({"email": _("An account with this email already exists.")})
    now = clock.now()
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=password_hash,
        role=role,
        created_at=now,
        password_changed_at=now,
        email_verified_at=now if verified else None,
    )
    session.add(user)
    session.flush()
    return user


def password_hash_for(session: Session, email: str) -> tuple[int, str] | None:
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == normalize_email(email))
    ).first()
    return (row[0], row[1]) if row else None


# --- throttling of eligibility proofs ---------------------------------------------------------


def failure_keys(subject: str, client: str) -> tuple[str, str]:
    """Keys under which a failed eligibility proof (census entry, access code) counts: its
    subject and the client. Logins count under keys of their own (pb.services.throttle), so
    failed logins never use up a client's budget for proving eligibility, nor the reverse."""
    subject_key = "ps:" + hashlib.sha256(normalize_email(subject).encode()).hexdigest()[:40]
    return subject_key, "pc:" + hashlib.sha256(client.encode()).hexdigest()[:40]


def is_throttled(
    session: Session,
    account_key: str,
    client_key: str,
    account_limits: tuple[tuple[int, int], ...],
    client_limits: tuple[tuple[int, int], ...],
) -> bool:
    now = clock.now()
    for key, limits in ((account_key, account_limits), (client_key, client_limits)):
        for window, limit in limits:
            count = session.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(
                    LoginFailure.key == key, LoginFailure.at > now - dt.timedelta(seconds=window)
                )
            )
            if (count or 0) >= limit:
                return True
    return False


def record_failure(session: Session, account_key: str, client_key: str) -> None:
    now = clock.now()
    session.add_all([LoginFailure(key=account_key, at=now), LoginFailure(key=client_key, at=now)])
    # Forget what no window can see any more.
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - dt.timedelta(days=1)))


# --- sessions ---------------------------------------------------------------------------------


def start_session(session: Session, user_id: int, user_agent: str = "") -> str:
    """Open a new login session and return its secret token (to be signed into the cookie)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        UserSession(
            token_hash=token_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:200],
        )
    )
    session.flush()
    return token


_LOAD_SESSION = (
    select(
        UserSession.id.label("session_id"),
        UserSession.revoked_at,
        UserSession.last_seen_at,
        UserSession.created_at,
        User.id,
        User.email,
        User.display_name,
        User.role,
        User.locale,
        User.email_verified_at,
    )
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def load_session(
    session: Session, token: str, idle: dt.timedelta, absolute: dt.timedelta
) -> tuple[CurrentUser, bool] | None:
    """The user behind ``token`` if the session is live, and whether it wants a touch. (Every
    request asks: one Core query, no ORM objects.)"""
    row = session.connection().execute(_LOAD_SESSION, {"token_hash": token_digest(token)}).first()
    if row is None:
        return None
    now = clock.now()
    if (
        row.revoked_at is not None
        or now - row.last_seen_at > idle
        or now - row.created_at > absolute
    ):
        return None
    current = CurrentUser(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        locale=row.locale,
        session_id=row.session_id,
        email_verified=row.email_verified_at is not None,
    )
    return current, now - row.last_seen_at > min(TOUCH_EVERY, idle / 4)


def touch_session(session: Session, session_id: int) -> None:
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=clock.now())
    )


def revoke_session(session: Session, token: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_digest(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def purge_ended_sessions(session: Session, idle: dt.timedelta, absolute: dt.timedelta) -> int:
    """Delete the sessions that have ended (logged out, revoked, idle or too old); return how
    many. Run when a round's voting ends: their times of login and last use would give the
    order in which account voters were active, close to the order of the ballot log."""
    now = clock.now()
    result = session.execute(
        delete(UserSession).where(
            (UserSession.revoked_at.is_not(None))
            | (UserSession.last_seen_at < now - idle)
            | (UserSession.created_at < now - absolute)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_all_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, password_changed_at=clock.now())
    )


def change_password(session: Session, user_id: int, new_hash: str, user_agent: str) -> str:
    """Store the new hash, revoke every session of the user, and open a fresh one."""
    set_password_hash(session, user_id, new_hash)
    revoke_all_sessions(session, user_id)
    return start_session(session, user_id, user_agent)


def is_verified(session: Session, user_id: int) -> bool:
    """Whether the account's owner has shown they read mail at its address."""
    verified = session.scalar(select(User.email_verified_at).where(User.id == user_id))
    return verified is not None


def set_locale(session: Session, user_id: int, locale: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(locale=locale))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def change_role(session: Session, actor_id: int, user_id: int, role: Role) -> None:
    """Give an account another role; recorded in the audit log."""
    from pb.services import audit

    user = session.get(User, user_id)
    if user is None:
        raise ValidationError({"": _("No such account.")})
    if user.role == role:
        return
    audit.record(
        session,
        actor_id,
        "user.role",
        f"user:{user.id}",
        before={"role": user.role.value},
        after={"role": role.value},
    )
    user.role = role
