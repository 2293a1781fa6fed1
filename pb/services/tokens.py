"""Signed, expiring, single-use tokens for the links pb mails (verify, reset, unlock).

Each purpose has its own salt, so a token made for one purpose is refused by every other, and
its own lifetime. Timestamps come from :mod:`pb.clock` (itsdangerous' ``get_timestamp`` is the
override point), so tests move time with ``clock.set_now``. A token is made single-use by
:func:`spend`, which records its digest in ``used_token`` in the transaction that does what the
token allows; a unique key makes two concurrent uses of one token a single use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import BadToken
from pb.models import UsedToken

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"  # noqa: S105 (a purpose, not a password)
UNLOCK_LOGIN = "unlock-login"
UNFOLLOW = "unfollow"  # the one-click link under each project update mail (not single-use)

LIFETIMES = {
    VERIFY_EMAIL: dt.timedelta(days=3),
    RESET_PASSWORD: dt.timedelta(hours=1),
    UNLOCK_LOGIN: dt.timedelta(hours=1),
    UNFOLLOW: dt.timedelta(days=730),
}


class ClockSigner(TimestampSigner):
    """itsdangerous' timestamp signer, on pb's clock."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"pb.token.{purpose}", signer=ClockSigner)


def make(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(secret, purpose).dumps(payload)


def read(secret: str, purpose: str, token: str) -> dict[str, Any]:
    """The payload of a token made for ``purpose`` and not yet expired; :class:`BadToken`
    otherwise (``expired`` or ``invalid``). Does not say whether it was used: see spend."""
    max_age = int(LIFETIMES[purpose].total_seconds())
    try:
        payload = _serializer(secret, purpose).loads(token[:2000], max_age=max_age)
    except SignatureExpired:
        raise BadToken("expired") from None
    except BadSignature:
        raise BadToken("invalid") from None
    if not isinstance(payload, dict):
        raise BadToken("invalid")
    return payload


def _digest(purpose: str, token: str) -> str:
    return hashlib.sha256(f"{purpose}:{token}".encode()).hexdigest()


def check(session: Session, secret: str, purpose: str, token: str) -> dict[str, Any]:
    """:func:`read`, and :class:`BadToken` ``used`` if the token has been spent already."""
    payload = read(secret, purpose, token)
    if session.get(UsedToken, _digest(purpose, token)) is not None:
        raise BadToken("used")
    return payload


def spend(session: Session, purpose: str, token: str) -> None:
    """Mark ``token`` used in the caller's transaction; :class:`BadToken` ``used`` if it was."""
    now = clock.now()
    session.execute(delete(UsedToken).where(UsedToken.expires_at < now))
    values = {"digest": _digest(purpose, token), "expires_at": now + LIFETIMES[purpose]}
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(UsedToken).values(**values)
    inserted = session.execute(
        statement.on_conflict_do_nothing(index_elements=["digest"]).returning(UsedToken.digest)
    ).first()
    if inserted is None:
        raise BadToken("used")
