"""The outbox: mails written in the caller's transaction, de-duplicated by key, rendered in the
recipient's language."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pb.db import Database
from pb.models import OutboxMail
from pb.services import outbox
from tests import frozen


def count(db: Database) -> int:
    return db.read_sync(lambda s: s.scalar(select(func.count()).select_from(OutboxMail)))


def test_enqueue_is_part_of_the_callers_transaction(db: Database) -> None:
    def announce_then_fail(session) -> None:  # type: ignore[no-untyped-def]
        outbox.enqueue(session, to="a@example.org", subject="Hi", text="Body", kind="test")
        raise RuntimeError("the announced change failed")

    with pytest.raises(RuntimeError):
        db.write_sync(announce_then_fail)
    assert count(db) == 0
    db.write_sync(
        lambda s: outbox.enqueue(s, to="a@example.org", subject="Hi\r\nBcc: x", text="B", kind="t")
    )
    mail = db.read_sync(lambda s: s.scalars(select(OutboxMail)).one())
    assert (mail.recipient, mail.subject, mail.text, mail.kind) == (
        "a@example.org",
        "Hi Bcc: x",
        "B",
        "t",
    )
    assert mail.created_at == frozen.NOW and mail.next_attempt_at == frozen.NOW
    assert mail.sent_at is None and mail.attempts == 0


def test_dedupe_key_makes_a_second_enqueue_a_no_op(db: Database) -> None:
    def enqueue_twice(session) -> None:  # type: ignore[no-untyped-def]
        for text in ("first", "second"):
            outbox.enqueue(
                session, to="a@example.org", subject="S", text=text, kind="k", dedupe_key="pay:7"
            )

    db.write_sync(enqueue_twice)
    db.write_sync(
        lambda s: outbox.enqueue(
            s, to="a@example.org", subject="S", text="third", kind="k", dedupe_key="pay:7"
        )
    )
    db.write_sync(lambda s: outbox.enqueue(s, to="a@example.org", subject="S", text="x", kind="k"))
    texts = db.read_sync(lambda s: list(s.scalars(select(OutboxMail.text).order_by(OutboxMail.id))))
    assert texts == ["first", "x"]


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b.org, c@d.org", "a@b.org\r\nBcc: c@d.org"])
def test_enqueue_refuses_anything_but_one_address(db: Database, bad: str) -> None:
    with pytest.raises(ValueError, match="single mail address"):
        db.write_sync(lambda s: outbox.enqueue(s, to=bad, subject="S", text="T", kind="k"))
    assert count(db) == 0


@pytest.mark.parametrize(
    "bad",
    ["ftp://x.example/u", "https://x.example/u\r\nBcc: c@d.org", "https://x.example/a>b", "x"],
)
def test_enqueue_refuses_anything_but_one_unsubscribe_url(db: Database, bad: str) -> None:
    with pytest.raises(ValueError, match="single unsubscribe URL"):
        db.write_sync(
            lambda s: outbox.enqueue(
                s, to="a@b.org", subject="S", text="T", kind="k", list_unsubscribe=bad
            )
        )
    assert count(db) == 0


def test_render_in_the_recipients_language() -> None:
    values = {"site": "pb", "name": "Rosa", "link": "https://pb.example/v/abc", "hours": 72}
    english = outbox.render("verify_email", "en", **values)
    french = outbox.render("verify_email", "fr", **values)
    assert english.subject == "Confirm your email address for pb"
    assert "https://pb.example/v/abc" in english.text and "Hello Rosa," in english.text
    assert french.subject == "Confirmez votre adresse e-mail pour pb"
    assert "Bonjour Rosa," in french.text and "https://pb.example/v/abc" in french.text
    assert english.html is None
