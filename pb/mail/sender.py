"""The sender: claim due mails from the outbox, deliver them, record what happened.

Guarantees (with the outbox rows written in the transactions that announce them):

- **Never lost.** A mail stays in the outbox until a delivery succeeded (``sent_at``) or it was
  refused for good or ran out of attempts (``failed_at``, shown to staff with the reason). A
  sender that stops at any point leaves its claimed rows to be claimed again when their lease
  (:data:`LEASE`) runs out.
- **Not sent twice, except after one narrow crash.** A row is owned by one sender at a time
  (see :mod:`pb.services.outbox`), and a sent row is never claimed again. The one window is
  between the SMTP server accepting a message and the ``sent_at`` commit: if the process dies
  (or the database is unreachable) exactly then, the mail is sent again once its lease is over
  — with the same ``Message-ID``, so receivers can recognise the duplicate. Files under
  ``var/mail`` are written under the outbox id, so a repeat replaces the file: never doubled.
- **Retries with exponential back-off**: 30 s after the first failed attempt, then 1, 2, 4 ...
  minutes, at most an hour apart, for :data:`MAX_ATTEMPTS` attempts (about a day), then the
  mail is marked failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.mail.transport import (
    DeliveryError,
    FileTransport,
    PermanentFailure,
    SmtpTransport,
    build_message,
    transport_for,
)
from pb.services import outbox

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # far longer than an SMTP timeout (30 s) times a batch
BATCH = 20
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=1)
MAX_ATTEMPTS = 30


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    exponent = max(0, min(attempts - 1, 20))
    return min(MAX_DELAY, FIRST_DELAY * (1 << exponent))


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: Report) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


class Sender:
    """Delivers the outbox of one database through one transport."""

    def __init__(
        self,
        db: Database,
        transport: SmtpTransport | FileTransport,
        mail_from: str,
        secret_key: str,
    ) -> None:
        self.db = db
        self.transport = transport
        self.mail_from = mail_from
        self.secret_key = secret_key

    def send_batch(self) -> Report:
        """Claim up to :data:`BATCH` due mails and try each once."""
        token = outbox.new_claim_token()
        claimed = self.db.write_sync(outbox.claim, token, LEASE, BATCH)
        report = Report()
        if not claimed:
            return report
        with self.transport.connection() as connection:
            for mail in claimed:
                message = build_message(mail, self.mail_from, self.secret_key)
                try:
                    where = connection.deliver(mail.id, mail.kind, message)
                except DeliveryError as exc:
                    if isinstance(exc, PermanentFailure) or mail.attempts >= MAX_ATTEMPTS:
                        log.warning("mail %s failed for good: %s", mail.id, exc)
                        self.db.write_sync(outbox.give_up, mail.id, token, str(exc))
                        report.failed += 1
                    else:
                        log.info("mail %s will be retried: %s", mail.id, exc)
                        at = clock.now() + backoff(mail.attempts)
                        self.db.write_sync(outbox.retry_later, mail.id, token, str(exc), at)
                        report.retrying += 1
                    continue
                if not self.db.write_sync(outbox.mark_sent, mail.id, token, where):
                    log.warning("mail %s was sent after its lease ran out", mail.id)
                report.sent += 1
        return report

    def send_due(self) -> Report:
        """Send batches until nothing is due (what ``pb mail send --once`` does)."""
        total = Report()
        while True:
            report = self.send_batch()
            total.add(report)
            if report.sent + report.retrying + report.failed < BATCH:
                return total


class BackgroundSender:
    """A thread that sends due mail every ``poll`` seconds, or at once when woken.

    ``pb serve`` starts one in every worker; claims keep them from sending a mail twice."""

    def __init__(self, sender: Sender, poll: float) -> None:
        self.sender = sender
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pb-mail-sender", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Something was just enqueued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sender.send_due()
            except Exception:
                # The database may be away for a moment; the mails wait in the outbox.
                log.exception("sending mail failed; will try again")
            self._wake.wait(self.poll)
            self._wake.clear()


def sender_for(db: Database, settings: Settings) -> Sender:
    """The sender the settings describe: SMTP with ``PB_SMTP_URL``, else ``var/mail`` files."""
    transport = transport_for(settings.smtp_url, settings.var_dir)
    return Sender(db, transport, settings.mail_from, settings.secret_key)
