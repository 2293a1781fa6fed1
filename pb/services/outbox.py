"""The mail outbox: what pb wants to send, written in the caller's transaction.

A service that announces something by mail calls :func:`enqueue` in the same transaction as the
change it announces: if that transaction rolls back, the mail never existed; if it commits, the
mail is on its way, whatever happens to the process afterwards. Bodies are rendered by the caller
in the recipient's language with :func:`render` (Jinja templates under ``templates/mail/``).

The sender (:mod:`pb.mail.sender`) works through the rows with :func:`claim`, then
:func:`mark_sent`, :func:`retry_later` or :func:`give_up`. A claim is a lease: a sender owns a
row while its token is on the row and the lease has not run out; a sender that dies leaves the
row to be claimed again once the lease is over. Every claim is one conditional ``UPDATE`` per
row, so two senders (threads, processes or machines, on SQLite or PostgreSQL) never both own a
row: on SQLite writers are serialized, and on PostgreSQL the second ``UPDATE`` waits for the
first and re-checks its ``WHERE`` against the row the first committed.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any

import jinja2
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pb import clock, i18n, resources
from pb.models import OutboxMail

MAX_SUBJECT = 300
MAX_UNSUBSCRIBE = 500


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None = None


def _translate(message: str, **variables: Any) -> str:
    return i18n.gettext(message, **variables)


def _ntranslate(singular: str, plural: str, n: int, **variables: Any) -> str:
    return i18n.ngettext(singular, plural, n, **variables)


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.templates_dir()),
        autoescape=autoescape,  # noqa: S701 (plain-text mails are not HTML)
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_callables(_translate, _ntranslate, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = i18n.format_money
    env.filters["number"] = i18n.format_number
    env.filters["day"] = i18n.format_day
    env.filters["moment"] = i18n.format_moment
    env.filters["isoday"] = dt.date.fromisoformat  # dates kept as ISO text in JSON
    return env


def _block(env: jinja2.Environment, name: str, block: str, values: dict[str, Any]) -> str:
    template = env.get_template(name)
    context = template.new_context(values)
    return "".join(template.blocks[block](context))


def render(template_name: str, locale: str, **values: Any) -> RenderedMail:
    """Render ``templates/mail/<template_name>.txt`` in ``locale``.

    The ``.txt`` template defines two blocks, ``subject`` (one line) and ``text`` (the plain
    text body); a ``.html`` template of the same name, if there is one, gives an HTML
    alternative (block ``html``, autoescaped). Strings go through gettext as in page templates.
    """
    token = i18n.set_locale(locale)
    try:
        name = f"mail/{template_name}.txt"
        plain = _environment(autoescape=False)
        subject = " ".join(_block(plain, name, "subject", values).split())
        text = _block(plain, name, "text", values).strip() + "\n"
        html = None
        if (resources.templates_dir() / "mail" / f"{template_name}.html").exists():
            html = _block(
                _environment(autoescape=True), f"mail/{template_name}.html", "html", values
            )
    finally:
        i18n.reset_locale(token)
    return RenderedMail(subject=subject, text=text, html=html)


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    kind: str,
    html: str | None = None,
    dedupe_key: str | None = None,
    list_unsubscribe: str | None = None,
) -> None:
    """Add a mail to the outbox in the caller's transaction (nothing is sent before it commits).

    ``kind`` names what the mail is for (``verify_email``, ``password_reset``, ...), for the
    staff's outbox page. With ``dedupe_key``, a second mail with the same key is not added (a
    unique constraint decides, so concurrent callers cannot both add it). ``list_unsubscribe``
    is the address that stops such mails in one click (sent as RFC 8058's List-Unsubscribe
    headers). Raises ``ValueError`` for a recipient that is not one plain address, or an
    unsubscribe address that is not one plain http(s) URL (no header injection through them)."""
    recipient = to.strip()
    if not recipient or "@" not in recipient or any(c in recipient for c in "\r\n,;<> \t"):
        raise ValueError(f"not a single mail address: {to!r}")
    if list_unsubscribe is not None and (
        not list_unsubscribe.startswith(("https://", "http://"))
        or len(list_unsubscribe) > MAX_UNSUBSCRIBE
        or any(c in list_unsubscribe for c in "\r\n<> \t,")
    ):
        raise ValueError(f"not a single unsubscribe URL: {list_unsubscribe!r}")
    now = clock.now()
    values = {
        "kind": kind[:40],
        "recipient": recipient[:254],
        "subject": " ".join(subject.split())[:MAX_SUBJECT],
        "text": text,
        "html": html,
        "dedupe_key": dedupe_key,
        "list_unsubscribe": list_unsubscribe,
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }
    if dedupe_key is None:
        session.execute(insert(OutboxMail).values(**values))
        return
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(OutboxMail).values(**values)
    session.execute(statement.on_conflict_do_nothing(index_elements=["dedupe_key"]))


# --- the sender's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A mail a sender owns until ``lease_until``: everything needed to deliver it."""

    id: int
    kind: str
    recipient: str
    subject: str
    text: str
    html: str | None
    created_at: dt.datetime
    attempts: int  # including this one
    list_unsubscribe: str | None = None


def new_claim_token() -> str:
    return secrets.token_hex(16)


def _claimable(now: dt.datetime) -> Any:
    return (
        OutboxMail.sent_at.is_(None)
        & OutboxMail.failed_at.is_(None)
        & (OutboxMail.next_attempt_at <= now)
        & or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now)
    )


def claim(session: Session, token: str, lease: dt.timedelta, limit: int = 20) -> list[Claimed]:
    """Take up to ``limit`` due mails (oldest first) for the sender holding ``token``.

    Each row is taken by its own conditional ``UPDATE`` (due, unsent, lease free), so a row
    another sender took in the meantime is skipped. Counts the attempt now: a sender that dies
    while delivering has used it."""
    now = clock.now()
    candidates = list(
        session.scalars(
            select(OutboxMail.id).where(_claimable(now)).order_by(OutboxMail.id).limit(limit)
        )
    )
    taken: list[int] = []
    for mail_id in candidates:
        result = session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, _claimable(now))
            .values(
                claim_token=token,
                claimed_until=now + lease,
                attempts=OutboxMail.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            taken.append(mail_id)
    if not taken:
        return []
    rows = session.scalars(
        select(OutboxMail).where(OutboxMail.id.in_(taken), OutboxMail.claim_token == token)
    )
    return [
        Claimed(
            id=m.id,
            kind=m.kind,
            recipient=m.recipient,
            subject=m.subject,
            text=m.text,
            html=m.html,
            created_at=m.created_at,
            attempts=m.attempts,
            list_unsubscribe=m.list_unsubscribe,
        )
        for m in sorted(rows, key=lambda m: m.id)
    ]


def _owned(mail_id: int, token: str) -> Any:
    return (OutboxMail.id == mail_id) & (OutboxMail.claim_token == token)


def mark_sent(session: Session, mail_id: int, token: str, delivered_to: str) -> bool:
    """Record a delivery; False if the lease was lost meanwhile (someone else owns it now)."""
    result = session.execute(
        update(OutboxMail)
        .where(_owned(mail_id, token), OutboxMail.sent_at.is_(None))
        .values(
            sent_at=clock.now(),
            claim_token=None,
            claimed_until=None,
            last_error=None,
            delivered_to=delivered_to[:300],
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def retry_later(session: Session, mail_id: int, token: str, error: str, at: dt.datetime) -> None:
    """Give the row back, due again at ``at`` (the back-off the sender chose)."""
    session.execute(
        update(OutboxMail)
        .where(_owned(mail_id, token))
        .values(claim_token=None, claimed_until=None, next_attempt_at=at, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


def give_up(session: Session, mail_id: int, token: str, error: str) -> None:
    """The mail cannot be delivered (refused for good, or out of attempts): stop trying."""
    session.execute(
        update(OutboxMail)
        .where(_owned(mail_id, token))
        .values(failed_at=clock.now(), claim_token=None, claimed_until=None, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


# --- what staff see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def counts(session: Session) -> OutboxCounts:
    rows = session.execute(
        select(
            func.count().filter(OutboxMail.sent_at.is_(None), OutboxMail.failed_at.is_(None)),
            func.count().filter(OutboxMail.sent_at.is_not(None)),
            func.count().filter(OutboxMail.failed_at.is_not(None)),
        )
    ).one()
    return OutboxCounts(pending=rows[0], sent=rows[1], failed=rows[2])


def recent(session: Session, limit: int = 100) -> list[OutboxMail]:
    """The latest mails, newest first."""
    return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)))


def get(session: Session, mail_id: int) -> OutboxMail | None:
    return session.get(OutboxMail, mail_id)


def status_of(mail: OutboxMail) -> str:
    """``sent``, ``failed``, ``retrying`` (tried, will try again) or ``pending``."""
    if mail.sent_at is not None:
        return "sent"
    if mail.failed_at is not None:
        return "failed"
    return "retrying" if mail.attempts else "pending"
