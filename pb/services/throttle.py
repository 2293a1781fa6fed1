"""Throttling without handing attackers a denial of service.

Events (failed logins, sign-ups, mails asked for) are rows of ``login_failure`` under a key that
says what they count: a digest of an account, a client address, a device, or a pair of them.

**Logins.** Three counters, so that guessing is slow but the owner is not locked out:

- *Per account and client (or device) pair*: ``pair_free`` failures free, then every further try
  must wait twice as long as the one before (2 s, 4 s, ... at most 15 minutes). Mistyping one's
  own password costs seconds; guessing one account from one place costs hours.
- *Per account, from new devices*: ``account`` limits (10 in 15 minutes, 30 an hour) close the
  account to devices that have never logged in to it (the window passes, or the owner opens
  the unlock link mailed when the lock starts). A device that has logged in to the account
  before (a signed cookie says so) only meets its own pair counter: an attacker elsewhere cannot
  lock the owner out of their phone.
- *Per client, from new devices*: ``client`` limits (200 in 15 minutes) slow one address trying
  many accounts; it never closes the client to a device that knows its account, and 50 failures
  behind a shared address (a library, a school, a mobile network) block nobody.

Eligibility proofs (census, codes) count under their own keys (``pb.services.accounts``), so
login failures never block voting and census guesses never block logging in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pb import clock
from pb.models import LoginFailure

Limits = tuple[tuple[int, int], ...]  # (window in seconds, most events in it)

PAIR_WINDOW = dt.timedelta(hours=24)
PAIR_FIRST_DELAY = 2  # seconds
PAIR_MAX_DELAY = 900
KEEP = dt.timedelta(days=1)


def key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def account_tag(email: str) -> str:
    """What identifies an account (known or not) in throttling and device cookies."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def count(session: Session, event_key: str, window: dt.timedelta) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == event_key, LoginFailure.at > clock.now() - window)
        )
        or 0
    )


def over(session: Session, event_key: str, limits: Limits) -> bool:
    """Whether ``event_key`` has reached any of its limits."""
    return any(
        count(session, event_key, dt.timedelta(seconds=window)) >= limit for window, limit in limits
    )


def note(session: Session, *event_keys: str) -> None:
    """Record one event under each key, and forget what no window can see any more."""
    now = clock.now()
    session.add_all(LoginFailure(key=k, at=now) for k in event_keys)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))


def forget(session: Session, *event_keys: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(event_keys)))


# --- logins -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginLimits:
    pair_free: int
    account: Limits
    client: Limits


@dataclass(frozen=True)
class LoginSource:
    """Who is trying: the account asked for, the client address, and the device id when the
    device has logged in to this account before (``None`` for a new device)."""

    email: str
    client: str
    known_device: str | None = None

    @property
    def account(self) -> str:
        return key("la", account_tag(self.email))

    @property
    def client_key(self) -> str:
        return key("lc", self.client)

    @property
    def pair(self) -> str:
        if self.known_device is not None:
            return key("ld", account_tag(self.email), self.known_device)
        return key("lp", account_tag(self.email), self.client)


def pair_delay(failures: int, free: int) -> dt.timedelta:
    """How long after the last failure the next try must wait, after ``failures`` failures."""
    if failures < free:
        return dt.timedelta(0)
    exponent = min(failures - free, 20)
    return dt.timedelta(seconds=min(PAIR_MAX_DELAY, PAIR_FIRST_DELAY * (1 << exponent)))


def login_blocked(session: Session, source: LoginSource, limits: LoginLimits) -> str | None:
    """Why this try must be refused: ``"wait"`` (the pair's delay is running) or ``"locked"``
    (the account or the client is closed to new devices); ``None`` if it may go ahead. The
    answer is the same whether or not the account exists."""
    now = clock.now()
    failures, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.key == source.pair, LoginFailure.at > now - PAIR_WINDOW
        )
    ).one()
    if last is not None:
        last_at = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
        if now < last_at + pair_delay(failures, limits.pair_free):
            return "wait"
    if source.known_device is not None:
        return None
    if over(session, source.account, limits.account):
        return "locked"
    if over(session, source.client_key, limits.client):
        return "locked"
    return None


def record_login_failure(session: Session, source: LoginSource, limits: LoginLimits) -> bool:
    """Count a failed login; True when this failure has just closed the account to new
    devices (the moment to mail its owner an unlock link)."""
    if source.known_device is not None:
        note(session, source.pair)
        return False
    note(session, source.pair, source.account, source.client_key)
    session.flush()
    return any(
        count(session, source.account, dt.timedelta(seconds=window)) == limit
        for window, limit in limits.account
    )


def record_login_success(session: Session, source: LoginSource) -> None:
    """The owner got in: their own typos from this place are forgiven."""
    forget(session, source.pair)
