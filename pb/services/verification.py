"""Proving an address is the owner's: sign-up with a verification mail, password reset, and the
unlock link of a login lock — without ever telling anyone else whether an address has an account.

Every function answers the same way, and does the same kind of work, whether or not the address
has an account; only the mail (which reaches the owner alone) differs. Mails are enqueued in the
caller's transaction (:mod:`pb.services.outbox`) and rendered in the owner's language.

Links carry tokens from :mod:`pb.services.tokens`: signed, expiring, and spent in the
transaction that uses them. A reset token also names a digest of the password hash it was made
for, so it dies with the first password change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pb import clock
from pb.errors import BadToken
from pb.models import Role, User
from pb.services import accounts, outbox, throttle, tokens


@dataclass(frozen=True)
class Links:
    """What a mail needs to build links: the app's public address and the signing key."""

    base_url: str
    secret: str

    @property
    def site(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    def url(self, path: str, token: str) -> str:
        return f"{self.base_url}{path}?{urlencode({'token': token})}"


def _hours(purpose: str) -> int:
    return int(tokens.LIFETIMES[purpose].total_seconds() // 3600)


def _password_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(
        select(User).where(User.email == accounts.normalize_email(email))
    ).first()


def _may_mail(session: Session, email: str, limits: throttle.Limits) -> bool:
    """At most so many requested mails to one address (no mail-bombing through pb)."""
    event = throttle.key("mail", accounts.normalize_email(email))
    if throttle.over(session, event, limits):
        return False
    throttle.note(session, event)
    return True


def _mail_verification(
    session: Session, user: User, links: Links, locale: str, then: str = ""
) -> None:
    payload = {"u": user.id, "e": user.email, **({"n": then} if then else {})}
    token = tokens.make(links.secret, tokens.VERIFY_EMAIL, payload)
    mail = outbox.render(
        "verify_email",
        user.locale or locale,
        site=links.site,
        name=user.display_name,
        link=links.url("/account/verify", token),
        hours=_hours(tokens.VERIFY_EMAIL),
    )
    outbox.enqueue(
        session, to=user.email, subject=mail.subject, text=mail.text, kind="verify_email"
    )


def register(
    session: Session,
    email: str,
    display_name: str,
    password_hash: str,
    locale: str,
    links: Links,
    mail_limits: throttle.Limits,
    then: str = "",
) -> None:
    """Sign up: a new address gets an unverified account and a verification mail; an address
    that has an account gets a mail telling its owner (who may reset their password), and
    nothing else changes. The caller cannot tell which happened. ``then``: the local page the
    resident was headed for (a round's voting page), where the verified link leads back."""
    existing = _user_by_email(session, email)
    if existing is None:
        user = accounts.create_user(session, email, display_name, password_hash, Role.RESIDENT)
        _mail_verification(session, user, links, locale, then)
        return
    notify_existing(session, existing.email, links, locale, mail_limits)


def notify_existing(
    session: Session, email: str, links: Links, locale: str, mail_limits: throttle.Limits
) -> None:
    """Tell the owner of ``email`` that someone tried to sign up with it."""
    user = _user_by_email(session, email)
    if user is None or not _may_mail(session, user.email, mail_limits):
        return
    mail = outbox.render(
        "already_registered",
        user.locale or locale,
        site=links.site,
        name=user.display_name,
        login=f"{links.base_url}/login",
        reset=f"{links.base_url}/password/forgot",
    )
    outbox.enqueue(
        session, to=user.email, subject=mail.subject, text=mail.text, kind="already_registered"
    )


def resend_verification(
    session: Session, user_id: int, links: Links, locale: str, mail_limits: throttle.Limits
) -> bool:
    """Mail a new verification link; False when the address had too many mails lately."""
    user = session.get(User, user_id)
    if user is None or user.email_verified_at is not None:
        return False
    if not _may_mail(session, user.email, mail_limits):
        return False
    _mail_verification(session, user, links, locale)
    return True


def _verification_user(session: Session, token: str, secret: str) -> tuple[User, str]:
    payload = tokens.check(session, secret, tokens.VERIFY_EMAIL, token)
    user = session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e"):
        raise BadToken("invalid")
    then = payload.get("n")
    return user, then if isinstance(then, str) else ""


def check_verification(session: Session, token: str, secret: str) -> None:
    """Whether a verification link can still be used (:class:`BadToken` if not)."""
    _verification_user(session, token, secret)


def verify_email(session: Session, token: str, secret: str) -> str:
    """Use a verification link: the account's address is verified. Returns the page the
    resident was headed for when signing up ("" if none); :class:`BadToken` when the link is
    invalid, expired, used, or for another address."""
    user, then = _verification_user(session, token, secret)
    tokens.spend(session, tokens.VERIFY_EMAIL, token)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return then


def request_reset(
    session: Session, email: str, links: Links, locale: str, mail_limits: throttle.Limits
) -> None:
    """Mail a reset link if ``email`` has an account (and has not had too many mails)."""
    user = _user_by_email(session, email)
    if user is None or not _may_mail(session, user.email, mail_limits):
        return
    token = tokens.make(
        links.secret,
        tokens.RESET_PASSWORD,
        {"u": user.id, "p": _password_tag(user.password_hash)},
    )
    mail = outbox.render(
        "password_reset",
        user.locale or locale,
        site=links.site,
        name=user.display_name,
        link=links.url("/password/reset", token),
        minutes=int(tokens.LIFETIMES[tokens.RESET_PASSWORD].total_seconds() // 60),
    )
    outbox.enqueue(
        session, to=user.email, subject=mail.subject, text=mail.text, kind="password_reset"
    )


def _reset_user(session: Session, token: str, secret: str) -> User:
    payload = tokens.check(session, secret, tokens.RESET_PASSWORD, token)
    user = session.get(User, payload.get("u"))
    if user is None or _password_tag(user.password_hash) != payload.get("p"):
        raise BadToken("used")  # the password changed since: the link has done its work
    return user


def check_reset(session: Session, token: str, secret: str) -> None:
    """Whether a reset link can still be used (:class:`BadToken` if not); changes nothing."""
    _reset_user(session, token, secret)


def reset_password(session: Session, token: str, secret: str, new_hash: str) -> str:
    """Use a reset link: set the new password, end every session of the account, verify its
    address (the link reached it), and lift the lock on new devices. Returns the email."""
    user = _reset_user(session, token, secret)
    tokens.spend(session, tokens.RESET_PASSWORD, token)
    now = clock.now()
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            password_hash=new_hash,
            password_changed_at=now,
            email_verified_at=user.email_verified_at or now,
        )
    )
    accounts.revoke_all_sessions(session, user.id)
    throttle.forget(session, throttle.key("la", throttle.account_tag(user.email)))
    return user.email


def mail_unlock(session: Session, email: str, links: Links, locale: str) -> None:
    """The account of ``email`` (if any) was just closed to new devices: mail its owner a link
    that opens it again for the browser that follows the link. At most one per quarter hour."""
    user = _user_by_email(session, email)
    if user is None:
        return
    token = tokens.make(links.secret, tokens.UNLOCK_LOGIN, {"a": throttle.account_tag(email)})
    mail = outbox.render(
        "login_unlock",
        user.locale or locale,
        site=links.site,
        name=user.display_name,
        link=links.url("/login/unlock", token),
        reset=f"{links.base_url}/password/forgot",
    )
    quarter = int(clock.now().timestamp() // 900)
    outbox.enqueue(
        session,
        to=user.email,
        subject=mail.subject,
        text=mail.text,
        kind="login_unlock",
        dedupe_key=f"login_unlock:{user.id}:{quarter}",
    )


def check_unlock(session: Session, token: str, secret: str) -> None:
    """Whether an unlock link can still be used (:class:`BadToken` if not)."""
    tokens.check(session, secret, tokens.UNLOCK_LOGIN, token)


def use_unlock(session: Session, token: str, secret: str) -> str:
    """Use an unlock link; returns the account tag the browser may now log in to."""
    payload = tokens.check(session, secret, tokens.UNLOCK_LOGIN, token)
    tag = payload.get("a")
    if not isinstance(tag, str):
        raise BadToken("invalid")
    tokens.spend(session, tokens.UNLOCK_LOGIN, token)
    return tag
