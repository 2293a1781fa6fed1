"""The sender delivers to a real SMTP server (aiosmtpd): once, with retries and back-off,
never twice across restarts, and safely with several senders at once."""

from __future__ import annotations

import datetime as dt
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from pb import clock
from pb.config import Settings
from pb.db import Database, make_engine
from pb.errors import ConfigError
from pb.mail import sender as sending
from pb.mail.transport import FileTransport, SmtpTransport, parse_smtp_url
from pb.models import OutboxMail
from pb.services import outbox
from tests import frozen
from tests.smtp import SmtpServer, free_port, self_signed, server_tls_context, start_server

SECRET = "s" * 40


def enqueue(db: Database, n: int = 1, to: str = "rosa@example.org") -> None:
    def add(session) -> None:  # type: ignore[no-untyped-def]
        for i in range(n):
            outbox.enqueue(session, to=to, subject=f"Mail {i}", text=f"Body {i}\n", kind="test")

    db.write_sync(add)


def smtp_sender(db: Database, url: str) -> sending.Sender:
    return sending.Sender(db, SmtpTransport(parse_smtp_url(url)), "Town <pb@town.example>", SECRET)


def rows(db: Database) -> list[OutboxMail]:
    return db.read_sync(lambda s: list(s.scalars(select(OutboxMail).order_by(OutboxMail.id))))


def advance(delta: dt.timedelta) -> None:
    later = clock.now() + delta
    clock.set_now(lambda: later)


def test_delivers_once_and_never_again_after_a_restart(
    db: Database, smtp_server: SmtpServer
) -> None:
    enqueue(db, 3)
    report = smtp_sender(db, smtp_server.url()).send_due()
    assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
    inbox = smtp_server.inbox.messages
    assert [m["Subject"] for m in inbox] == ["Mail 0", "Mail 1", "Mail 2"]
    first = inbox[0]
    assert first["To"] == "rosa@example.org"
    assert first["From"] == "Town <pb@town.example>"
    assert first["Message-ID"].startswith(f"<pb.{rows(db)[0].id}.")
    assert first["Message-ID"].endswith("@town.example>")
    assert smtp_server.inbox.texts()[0] == "Body 0\n"
    assert all(r.sent_at == frozen.NOW and r.attempts == 1 for r in rows(db))
    assert all(r.delivered_to == f"smtp 127.0.0.1:{smtp_server.port}" for r in rows(db))
    # A restarted server (a new sender on the same database) finds nothing to send.
    advance(dt.timedelta(days=2))
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 0
    assert len(smtp_server.inbox.messages) == 3


def test_an_unsubscribable_mail_carries_the_one_click_headers(
    db: Database, smtp_server: SmtpServer
) -> None:
    """RFC 8058: the address the outbox row keeps, and the POST body mail clients send to it;
    a mail without one has neither header."""
    url = "https://pb.example/unfollow/abc.def/one-click"
    db.write_sync(
        lambda s: outbox.enqueue(
            s, to="rosa@example.org", subject="Update", text="T\n", kind="project_update",
            list_unsubscribe=url,
        )
    )  # fmt: skip
    enqueue(db)
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 2
    update, plain = smtp_server.inbox.messages
    assert update["List-Unsubscribe"] == f"<{url}>"
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert plain["List-Unsubscribe"] is None and plain["List-Unsubscribe-Post"] is None


def test_a_refusing_server_means_retries_with_growing_delays(db: Database) -> None:
    enqueue(db)
    port = free_port()  # nothing listens here yet
    url = f"smtp://127.0.0.1:{port}"
    delays = []
    for attempt in range(1, 5):
        report = smtp_sender(db, url).send_due()
        assert report.retrying == 1 and report.sent == 0
        (mail,) = rows(db)
        assert mail.attempts == attempt and mail.sent_at is None and mail.failed_at is None
        assert mail.last_error and "Connection" in mail.last_error
        delays.append(mail.next_attempt_at - clock.now())
        # Not due yet: nothing is claimed.
        assert smtp_sender(db, url).send_due().retrying == 0
        advance(delays[-1])
    assert delays == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240)]
    server = start_server()
    try:
        # The server is back (on another port here): the mail goes, once.
        assert smtp_sender(db, server.url()).send_due().sent == 1
        assert len(server.inbox.messages) == 1
        assert rows(db)[0].attempts == 5
    finally:
        server.stop()


def test_temporary_refusal_is_retried_and_permanent_refusal_gives_up(
    db: Database, smtp_server: SmtpServer
) -> None:
    enqueue(db, 2)
    smtp_server.inbox.refuse = ["451 4.3.0 Try again later", "550 5.1.1 No such user"]
    report = smtp_sender(db, smtp_server.url()).send_due()
    assert (report.sent, report.retrying, report.failed) == (0, 1, 1)
    first, second = rows(db)
    assert first.failed_at is None and first.last_error and "451" in first.last_error
    assert second.failed_at == frozen.NOW and second.last_error and "550" in second.last_error
    advance(dt.timedelta(seconds=30))
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 1
    assert [m["Subject"] for m in smtp_server.inbox.messages] == ["Mail 0"]
    advance(dt.timedelta(days=3))
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 0  # a failed mail stays failed


def test_out_of_attempts_is_failed(db: Database) -> None:
    enqueue(db)
    url = f"smtp://127.0.0.1:{free_port()}"
    for _ in range(sending.MAX_ATTEMPTS):
        smtp_sender(db, url).send_due()
        advance(sending.MAX_DELAY)
    (mail,) = rows(db)
    assert mail.attempts == sending.MAX_ATTEMPTS and mail.failed_at is not None
    assert outbox.status_of(mail) == "failed"


def test_a_sender_that_died_holding_mail_leaves_it_for_others_after_the_lease(
    db: Database, smtp_server: SmtpServer
) -> None:
    enqueue(db, 2)
    # A sender claims both, then its process dies before delivering anything.
    db.write_sync(outbox.claim, "dead-sender", sending.LEASE, 10)
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 0  # still leased
    advance(sending.LEASE)
    assert smtp_sender(db, smtp_server.url()).send_due().sent == 2
    assert len(smtp_server.inbox.messages) == 2
    # The dead sender, were it to come back, no longer owns them.
    assert not db.write_sync(outbox.mark_sent, rows(db)[0].id, "dead-sender", "x")


def test_the_one_duplicate_window_repeats_the_same_message_id(
    db: Database, smtp_server: SmtpServer
) -> None:
    """Crash between SMTP acceptance and recording it: sent again once, recognisably."""
    enqueue(db)
    sender = smtp_sender(db, smtp_server.url())
    (claimed,) = db.write_sync(outbox.claim, "crashing", sending.LEASE, 10)
    message = sending.build_message(claimed, sender.mail_from, SECRET)
    with sender.transport.connection() as connection:
        connection.deliver(claimed.id, claimed.kind, message)  # accepted, then "crash"
    advance(sending.LEASE)
    assert sender.send_due().sent == 1
    first, again = smtp_server.inbox.messages
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Date"] == again["Date"]
    advance(sending.LEASE)
    assert sender.send_due().sent == 0


def test_several_senders_at_once_send_each_mail_exactly_once(
    db: Database, smtp_server: SmtpServer, settings: Settings
) -> None:
    enqueue(db, 60)

    def run(_: int) -> int:
        # Each sender has its own engine, as separate worker processes would.
        with Database(make_engine(settings.database_url)) as own:
            return smtp_sender(own, smtp_server.url()).send_due().sent

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = sum(pool.map(run, range(4)))
    ids = [m["Message-ID"] for m in smtp_server.inbox.messages]
    assert sent == 60 and len(ids) == 60 and len(set(ids)) == 60
    assert all(r.sent_at is not None for r in rows(db))


def test_authenticated_smtp_after_starttls(db: Database, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = start_server(
        credentials=("mailer", "p@ss w:rd"), tls_context=server_tls_context(cert, key)
    )
    tls = f"starttls=1&cafile={cert}"
    try:
        enqueue(db)
        wrong = smtp_sender(db, server.url(tls, credentials="mailer:nope")).send_due()
        assert wrong.retrying == 1  # bad credentials: the mail waits for an operator's fix
        assert server.inbox.messages == []
        advance(dt.timedelta(seconds=30))
        right = smtp_sender(db, server.url(tls, credentials="mailer:p%40ss%20w%3Ard")).send_due()
        assert right.sent == 1
        assert server.inbox.logins[-1] == ("mailer", "p@ss w:rd")
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_starttls_with_a_verified_certificate(db: Database, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = start_server(tls_context=server_tls_context(cert, key), require_starttls=True)
    try:
        enqueue(db)
        # Without STARTTLS the server refuses to go on; without trusting the CA, TLS fails.
        assert smtp_sender(db, server.url()).send_due().retrying == 1
        advance(dt.timedelta(seconds=30))
        assert smtp_sender(db, server.url("starttls=1")).send_due().retrying == 1
        advance(dt.timedelta(seconds=60))
        assert smtp_sender(db, server.url(f"starttls=1&cafile={cert}")).send_due().sent == 1
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_without_smtp_mail_goes_to_owner_only_files(db: Database, tmp_path: Path) -> None:
    enqueue(db, 2)
    folder = tmp_path / "mail"
    sender = sending.Sender(db, FileTransport(folder), "pb <pb@localhost>", SECRET)
    assert sender.send_due().sent == 2
    files = sorted(folder.iterdir())
    first_id = rows(db)[0].id
    assert [f.name for f in files] == [f"{first_id:06d}-test.eml", f"{first_id + 1:06d}-test.eml"]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Mail 0" and parsed["To"] == "rosa@example.org"
    assert rows(db)[0].delivered_to == str(files[0])


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://mail.example.org", "smtp:// or smtps://"),
        ("smtp://", "needs a host"),
        ("smtps://mail.example.org?starttls=1", "TLS already"),
        ("smtp://mail.example.org?tls=yes", "unknown options"),
        ("smtp://mail.example.org:port", "malformed port"),
    ],
)
def test_malformed_smtp_url_is_a_config_error(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_smtp_url(url)


def test_smtp_url_forms() -> None:
    assert parse_smtp_url("smtps://u:p%2F@mail.example.org").port == 465
    config = parse_smtp_url("smtp://u:p%2F@mail.example.org:587?starttls=1&timeout=5")
    assert (config.host, config.port, config.security) == ("mail.example.org", 587, "starttls")
    assert (config.username, config.password, config.timeout) == ("u", "p/", 5.0)
    assert parse_smtp_url("smtp://mail.example.org").security == "none"


def test_a_server_without_starttls_gets_no_mail_and_the_mail_waits(
    db: Database, smtp_server: SmtpServer
) -> None:
    enqueue(db)
    report = smtp_sender(db, smtp_server.url("starttls=1")).send_due()
    assert report.retrying == 1 and report.failed == 0
    assert smtp_server.inbox.messages == []
    assert "STARTTLS" in (rows(db)[0].last_error or "")
