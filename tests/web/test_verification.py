"""Verified residents: sign-up mails a link, only verified accounts vote in "any account"
rounds, resets revoke every session, and nothing tells a stranger whether an address has an
account. Links are signed, expire, and work once."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.testclient import TestClient

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import OutboxMail, Role, User
from tests.builders import ballot_counts, make_voting_round
from tests.conftest import AuthActions, csrf_from, make_user
from tests.web.test_accounts import PASSWORD, register

LINK_RE = re.compile(r"http://testserver(/[^\s]+)")


def mails(db: Database, kind: str | None = None) -> list[OutboxMail]:
    def load(session):  # type: ignore[no-untyped-def]
        query = select(OutboxMail).order_by(OutboxMail.id)
        if kind:
            query = query.where(OutboxMail.kind == kind)
        return list(session.scalars(query))

    return db.read_sync(load)


def link_in(mail: OutboxMail, path: str) -> str:
    """The link to ``path`` in a mail, as a path with its query (for the test client)."""
    for match in LINK_RE.finditer(mail.text):
        if urlsplit(match.group(1)).path == path:
            return match.group(1)
    raise AssertionError(f"no {path} link in: {mail.text}")


def follow(client: TestClient, link: str, path: str) -> object:
    """Open a mailed link and press its button, as the owner does."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post(
        path,
        data={"token": token, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def cast(client: TestClient, round_id: int, project: str) -> int:
    token = csrf_from(client.get(f"/rounds/{round_id}/vote").text)
    response = client.post(
        f"/rounds/{round_id}/vote/citywide",
        data={"csrf_token": token, "district": "citywide", "step": "cast", "p": [project]},
        follow_redirects=False,
    )
    return response.status_code


def test_five_throwaway_accounts_cast_no_ballot_until_verified(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db)
    rid, project = r["round_id"], r["projects"]["citywide"][0]
    statuses = []
    for n in range(5):
        sockpuppet = TestClient(client.app)
        assert register(sockpuppet, f"throwaway{n}@example.org").status_code == 303
        AuthActions(sockpuppet, db, settings).login(f"throwaway{n}@example.org")
        hub = sockpuppet.get(f"/rounds/{rid}/vote").text
        assert "first confirm your email address" in hub and "Still to cast" not in hub
        assert sockpuppet.get(f"/rounds/{rid}/vote/citywide").status_code == 403
        statuses.append(cast(sockpuppet, rid, project))
    assert statuses == [403] * 5
    assert ballot_counts(db) == (0, 0)
    # The one who opens the mailed link votes.
    voter = TestClient(client.app)
    AuthActions(voter, db, settings).login("throwaway0@example.org")
    (mail,) = [m for m in mails(db, "verify_email") if m.recipient == "throwaway0@example.org"]
    confirmed = follow(voter, link_in(mail, "/account/verify"), "/account/verify")
    assert confirmed.status_code == 303  # type: ignore[attr-defined]
    assert "Your email address is confirmed." in voter.get("/account").text
    assert cast(voter, rid, project) == 303
    assert ballot_counts(db) == (1, 1)


def test_census_and_code_rounds_do_not_need_a_verified_account(
    client: TestClient, db: Database, settings: Settings
) -> None:
    from pb.models import Eligibility, VotingScope
    from pb.services import eligibility

    r = make_voting_round(db, eligibility=Eligibility.CENSUS, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    db.write_sync(
        eligibility.import_census, None, rid, b"identifier,proof\nA-1,1980\n", settings.secret_key
    )
    make_user(db, settings, "new@example.org", verified=False)
    AuthActions(client, db, settings).login("new@example.org")
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    client.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "A-1", "proof": "1980", "csrf_token": token},
    )
    assert cast(client, rid, r["projects"]["citywide"][0]) == 303


def test_sign_up_does_not_reveal_taken_addresses(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "taken@example.org", name="Owner")
    fresh = register(TestClient(client.app), "new@example.org")
    taken = register(TestClient(client.app), "TAKEN@example.org", password="another password")
    assert fresh.status_code == taken.status_code == 303
    assert fresh.headers["location"] == taken.headers["location"] == "/register/sent"
    assert "already exists" not in client.get("/register/sent").text
    # Only the mailboxes differ: a link for the new address, a warning for the owner.
    sent = [(m.recipient, m.kind) for m in mails(db)]
    assert sent == [
        ("new@example.org", "verify_email"),
        ("taken@example.org", "already_registered"),
    ]
    warning = mails(db, "already_registered")[0]
    assert "Someone just tried to create an account" in warning.text
    assert "http://testserver/password/forgot" in warning.text
    # The owner's account is untouched: the old password still works, the new one does not.
    owner = db.read_sync(
        lambda s: s.scalars(select(User).where(User.email == "taken@example.org")).one()
    )
    assert owner.display_name == "Owner"
    AuthActions(TestClient(client.app), db, settings).login("taken@example.org")


def test_reset_request_does_not_reveal_accounts(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "known@example.org")
    token = csrf_from(client.get("/password/forgot").text)
    known = client.post(
        "/password/forgot",
        data={"email": "known@example.org", "csrf_token": token},
        follow_redirects=False,
    )
    unknown = client.post(
        "/password/forgot",
        data={"email": "ghost@example.org", "csrf_token": token},
        follow_redirects=False,
    )
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/password/sent"
    assert "If an account uses this address" in client.get("/password/sent").text
    assert [(m.recipient, m.kind) for m in mails(db)] == [("known@example.org", "password_reset")]


def test_reset_sets_the_password_verifies_and_revokes_every_session(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "u@example.org", verified=False)
    phone, laptop = TestClient(client.app), TestClient(client.app)
    AuthActions(phone, db, settings).login("u@example.org")
    AuthActions(laptop, db, settings).login("u@example.org")
    token = csrf_from(client.get("/password/forgot").text)
    client.post("/password/forgot", data={"email": "u@example.org", "csrf_token": token})
    link = link_in(mails(db, "password_reset")[0], "/password/reset")
    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in page.text
    reset_token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    mismatch = client.post(
        "/password/reset",
        data={
            "token": reset_token,
            "new_password": "a new secret pass",
            "new_password_confirm": "something else",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert mismatch.status_code == 422 and "The two passwords do not match." in mismatch.text
    done = client.post(
        "/password/reset",
        data={
            "token": reset_token,
            "new_password": "a new secret pass",
            "new_password_confirm": "a new secret pass",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"
    for device in (phone, laptop):
        assert device.get("/account", follow_redirects=False).status_code == 303
    user = db.read_sync(lambda s: s.scalars(select(User)).one())
    assert user.email_verified_at == clock.now()  # the link reached the address
    fresh = TestClient(client.app)
    AuthActions(fresh, db, settings).login("u@example.org", "a new secret pass")
    old = TestClient(client.app)
    token = csrf_from(old.get("/login").text)
    refused = old.post(
        "/login", data={"email": "u@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 422
    # The link has done its work: a second use is refused, and the password stays.
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.text


def test_links_expire(client: TestClient, db: Database, settings: Settings) -> None:
    register(client, "late@example.org")
    verify_link = link_in(mails(db, "verify_email")[0], "/account/verify")
    token = csrf_from(client.get("/password/forgot").text)
    client.post("/password/forgot", data={"email": "late@example.org", "csrf_token": token})
    reset_link = link_in(mails(db, "password_reset")[0], "/password/reset")
    start = clock.now()
    clock.set_now(lambda: start + dt.timedelta(minutes=59))
    assert client.get(reset_link).status_code == 200
    clock.set_now(lambda: start + dt.timedelta(minutes=61))
    expired = client.get(reset_link)
    assert expired.status_code == 400 and "This link has expired." in expired.text
    assert client.get(verify_link).status_code == 200
    clock.set_now(lambda: start + dt.timedelta(days=3, seconds=1))
    page = client.get(verify_link)
    assert page.status_code == 400 and "This link has expired." in page.text
    # Even pressing the button of a page opened in time does nothing once expired.
    token = re.search(r"token=([^\s&]+)", verify_link).group(1)  # type: ignore[union-attr]
    late = client.post("/account/verify", data={"token": token, "csrf_token": csrf_from(page.text)})
    assert late.status_code == 400
    assert db.read_sync(lambda s: s.scalars(select(User)).one()).email_verified_at is None


def test_verification_link_works_once_and_only_for_its_purpose(
    client: TestClient, db: Database, settings: Settings
) -> None:
    register(client, "once@example.org")
    link = link_in(mails(db, "verify_email")[0], "/account/verify")
    assert follow(client, link, "/account/verify").status_code == 303  # type: ignore[attr-defined]
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.text
    # A verification token is no reset token (one salt per purpose).
    token = link.split("token=", 1)[1]
    wrong = client.get(f"/password/reset?token={token}")
    assert wrong.status_code == 400 and "not valid" in wrong.text
    tampered = client.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    assert tampered.status_code == 400 and "not valid" in tampered.text


def test_resend_from_the_account_and_vote_pages(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db)
    make_user(db, settings, "slow@example.org", verified=False)
    AuthActions(client, db, settings).login("slow@example.org")
    account = client.get("/account").text
    assert "Not confirmed yet" in account and "Send me a new link" in account
    hub = client.get(f"/rounds/{r['round_id']}/vote")
    response = client.post(
        "/account/verify/resend",
        data={"csrf_token": csrf_from(hub.text), "next": f"/rounds/{r['round_id']}/vote"},
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/rounds/{r['round_id']}/vote"
    assert (
        "We have sent a new link to slow@example.org."
        in client.get(response.headers["location"]).text
    )
    limit = settings.mail_request_limits[0][1]
    pages = [
        client.post("/account/verify/resend", data={"csrf_token": csrf_from(hub.text)}).text
        for _ in range(limit)
    ]
    assert len(mails(db, "verify_email")) == limit  # no mail-bombing through resends
    assert "sent several links lately" in pages[-1]


def test_registration_is_throttled_per_client(
    client: TestClient, db: Database, settings: Settings
) -> None:
    _window, limit = settings.registration_limits[0]
    for n in range(limit):
        assert register(client, f"r{n}@example.org").status_code == 303
    refused = register(client, "one-more@example.org")
    assert refused.status_code == 429 and "Too many accounts" in refused.text
    assert (
        db.read_sync(
            lambda s: s.scalar(select(User.id).where(User.email == "one-more@example.org"))
        )
        is None
    )
    later = clock.now() + dt.timedelta(hours=1, seconds=1)
    clock.set_now(lambda: later)
    assert register(client, "one-more@example.org").status_code == 303


def test_staff_read_the_demo_mailbox_but_not_with_smtp(
    client: TestClient, db: Database, settings: Settings
) -> None:
    import dataclasses

    from pb.web.app import create_app

    register(TestClient(client.app), "rosa@example.org")
    AuthActions(client, db, settings).login_as(Role.STAFF)
    listing = client.get("/admin/mail")
    assert listing.status_code == 200 and "rosa@example.org" in listing.text
    assert "Waiting" in listing.text and "1 mail waiting" in listing.text
    mail_id = mails(db)[0].id
    message = client.get(f"/admin/mail/{mail_id}")
    assert message.status_code == 200
    assert '<a href="http://testserver/account/verify?token=' in message.text
    # With a real mail server, message bodies (someone's links) stay out of staff's reach.
    smtp_app = create_app(dataclasses.replace(settings, smtp_url="smtp://127.0.0.1:1"), db)
    with TestClient(smtp_app) as staff:
        AuthActions(staff, db, settings).login_as(Role.STAFF)
        assert "rosa@example.org" in staff.get("/admin/mail").text
        assert f'href="/admin/mail/{mail_id}"' not in staff.get("/admin/mail").text
        assert staff.get(f"/admin/mail/{mail_id}").status_code == 404
    resident = TestClient(client.app)
    AuthActions(resident, db, settings).login_as(Role.RESIDENT)
    assert resident.get("/admin/mail").status_code == 403


def test_the_link_leads_back_to_where_the_resident_signed_up(
    client: TestClient, db: Database
) -> None:
    register(client, "back@example.org", next="/rounds/7/vote")
    register(TestClient(client.app), "evil@example.org", next="//evil.example/x")
    back, evil = mails(db, "verify_email")
    done = follow(client, link_in(back, "/account/verify"), "/account/verify")
    assert done.headers["location"] == "/login?next=%2Frounds%2F7%2Fvote"  # type: ignore[attr-defined]
    other = TestClient(client.app)
    done = follow(other, link_in(evil, "/account/verify"), "/account/verify")
    assert done.headers["location"] == "/login"  # type: ignore[attr-defined]


def test_mails_speak_the_residents_language(client: TestClient, db: Database) -> None:
    french = TestClient(client.app, headers={"accept-language": "fr-FR,fr;q=0.9"})
    register(french, "rosa@example.org")
    (mail,) = mails(db)
    assert mail.subject == "Confirmez votre adresse e-mail pour testserver"
    assert "Bonjour Rosa," in mail.text
