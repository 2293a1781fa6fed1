"""Where mail goes: an SMTP server (``PB_SMTP_URL``) or, without one, ``.eml`` files.

``PB_SMTP_URL`` is ``smtp://[user:password@]host[:port][?starttls=1]`` (port 25 by default, 587
is usual with STARTTLS) or ``smtps://[user:password@]host[:port]`` (TLS from the first byte,
port 465 by default). User and password are percent-encoded. ``cafile=/path`` trusts an extra
certificate authority (a private relay); ``timeout=`` is in seconds (default 30).

Every message carries a ``Message-ID`` derived from its outbox id (and an installation-specific
digest), and the ``Date`` of its enqueueing, so a message sent twice (see :mod:`pb.mail.sender`)
is the same message twice, which receivers and mail clients recognise.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from pb.errors import ConfigError
from pb.services.outbox import Claimed


class DeliveryError(Exception):
    """A mail could not be delivered this time."""


class TemporaryFailure(DeliveryError):
    """Try again later: the server is down, busy, or said 4xx (or our credentials are wrong,
    which an operator fixes: the mail must wait, not be dropped)."""


class PermanentFailure(DeliveryError):
    """The server refused this message for good (5xx for its recipient or content)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    cafile: str | None = None


def parse_smtp_url(url: str) -> SmtpConfig:
    """Read ``PB_SMTP_URL``; :class:`ConfigError` naming the problem when it is malformed."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"PB_SMTP_URL must start with smtp:// or smtps://, got {url!r}")
    if not parts.hostname:
        raise ConfigError("PB_SMTP_URL needs a host name, e.g. smtp://mail.example.org:587")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "cafile"}
    if unknown:
        raise ConfigError(f"PB_SMTP_URL has unknown options: {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "0").lower() in ("1", "true", "yes")
    if parts.scheme == "smtps" and starttls:
        raise ConfigError("PB_SMTP_URL: smtps:// is TLS already; starttls=1 is for smtp://")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise ConfigError("PB_SMTP_URL has a malformed port or timeout") from None
    if timeout <= 0:
        raise ConfigError("PB_SMTP_URL timeout must be positive")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        security="tls" if parts.scheme == "smtps" else ("starttls" if starttls else "none"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        cafile=query.get("cafile"),
    )


def check_sender_address(mail_from: str) -> str:
    """The address part of ``PB_MAIL_FROM`` (``Name <addr>`` or ``addr``), or ConfigError."""
    _name, address = parseaddr(mail_from)
    if "@" not in address or any(c in mail_from for c in "\r\n"):
        raise ConfigError(f"PB_MAIL_FROM is not a mail address: {mail_from!r}")
    return address


def message_id(mail_id: int, secret_key: str, mail_from: str) -> str:
    """``<pb.<id>.<installation>@<domain of the sender>>``: stable for a given outbox row."""
    installation = hmac.new(secret_key.encode(), b"pb.mail.message-id", hashlib.sha256)
    domain = check_sender_address(mail_from).rpartition("@")[2]
    return f"<pb.{mail_id}.{installation.hexdigest()[:16]}@{domain}>"


def build_message(mail: Claimed, mail_from: str, secret_key: str) -> EmailMessage:
    message = EmailMessage()
    name, address = parseaddr(mail_from)
    user, _at, domain = address.rpartition("@")
    message["From"] = Address(display_name=name, username=user, domain=domain)
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail.id, secret_key, mail_from)
    message["Auto-Submitted"] = "auto-generated"
    if mail.list_unsubscribe:
        # RFC 2369 and 8058: mail clients offer "unsubscribe" and POST
        # ``List-Unsubscribe=One-Click`` to the address, without opening a page.
        message["List-Unsubscribe"] = f"<{mail.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class Transport(Protocol):
    def connection(self) -> contextlib.AbstractContextManager[Connection]: ...


class Connection(Protocol):
    def deliver(self, mail_id: int, kind: str, message: EmailMessage) -> str:
        """Deliver or raise :class:`DeliveryError`; return where it went (for the outbox)."""
        ...


class SmtpTransport:
    """One SMTP connection per batch of mails, opened when the first is sent."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @contextlib.contextmanager
    def connection(self) -> Iterator[SmtpConnection]:
        conn = SmtpConnection(self.config)
        try:
            yield conn
        finally:
            conn.close()


class SmtpConnection:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.cafile)

    def _open(self) -> smtplib.SMTP:
        c = self.config
        smtp: smtplib.SMTP
        if c.security == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if c.username is not None:
                smtp.login(c.username, c.password or "")
        except BaseException:
            with contextlib.suppress(Exception):
                smtp.close()
            raise
        return smtp

    def deliver(self, mail_id: int, kind: str, message: EmailMessage) -> str:
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (smtplib.SMTPException, OSError) as exc:
                # Unreachable, no STARTTLS, bad certificate or credentials: an operator's
                # matter; the mail waits.
                raise TemporaryFailure(_describe(exc)) from None
        try:
            refused = self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            codes = [code for code, _msg in exc.recipients.values()]
            raise _by_code(min(codes) if codes else 450, str(exc.recipients)) from None
        except smtplib.SMTPDataError as exc:
            self._reset()
            raise _by_code(exc.smtp_code, _describe(exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection lost, sender refused, a message too big for now: the next try may go.
            self.close()
            raise TemporaryFailure(_describe(exc)) from None
        if refused:
            raise PermanentFailure(f"refused: {refused}")
        return f"smtp {self.config.host}:{self.config.port}"

    def _reset(self) -> None:
        """After a refused message, clear the transaction so the connection serves the next."""
        if self.smtp is not None:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.quit()
            with contextlib.suppress(Exception):
                self.smtp.close()
            self.smtp = None


def _by_code(code: int, text: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentFailure(f"{code} {text}")
    return TemporaryFailure(f"{code} {text}")


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:480]


class FileTransport:
    """Without SMTP: each mail becomes ``<folder>/<outbox id>-<kind>.eml`` (owner-only).

    Writing the same mail again replaces its file, so a retried mail is never doubled here."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def connection(self) -> Iterator[FileTransport]:
        yield self

    def deliver(self, mail_id: int, kind: str, message: EmailMessage) -> str:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            safe_kind = "".join(c if c.isalnum() or c in "-_" else "_" for c in kind)[:40]
            path = self.folder / f"{mail_id:06d}-{safe_kind}.eml"
            temporary = path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            raise TemporaryFailure(_describe(exc)) from None
        return str(path)


def transport_for(smtp_url: str, var_dir: Path) -> SmtpTransport | FileTransport:
    if smtp_url:
        return SmtpTransport(parse_smtp_url(smtp_url))
    return FileTransport(var_dir / "mail")
