"""Throttling that slows guessing without locking owners out: growing delays per account and
client, a lock on new devices only (with a mailed unlock link), and separate budgets for logins
and for proving eligibility (census, codes)."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import Eligibility, VotingScope
from pb.services import eligibility
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from, make_user
from tests.web.test_accounts import PASSWORD
from tests.web.test_verification import follow, link_in, mails

WAIT = "Too many failed attempts"


def attempt(client: TestClient, email: str, password: str = "wrong guess!") -> tuple[int, str]:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code, response.text


def advance(seconds: float) -> None:
    later = clock.now() + dt.timedelta(seconds=seconds)
    clock.set_now(lambda: later)


def test_delays_grow_per_account_and_client_the_same_for_unknown_accounts(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "victim@example.org")
    for _ in range(settings.login_pair_free):
        assert attempt(client, "victim@example.org")[0] == 422
        assert attempt(client, "nobody@example.org")[0] == 422
    real = attempt(client, "victim@example.org", PASSWORD)
    ghost = attempt(client, "nobody@example.org")
    assert real[0] == ghost[0] == 429 and WAIT in real[1] and WAIT in ghost[1]
    advance(2)
    assert attempt(client, "victim@example.org")[0] == 422  # one more try after 2 s
    advance(3)
    assert attempt(client, "victim@example.org", PASSWORD)[0] == 429  # now 4 s
    advance(1)
    assert attempt(client, "victim@example.org", PASSWORD)[0] == 303


def test_fifty_failed_logins_behind_one_address_block_no_one_else(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """A library's shared address: someone fails 50 logins; others there still log in and
    prove they are on the census."""
    r = make_voting_round(db, eligibility=Eligibility.CENSUS, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    data = b"identifier,proof\nA-1,1980\n"
    db.write_sync(eligibility.import_census, None, rid, data, settings.secret_key)
    make_user(db, settings, "reader@example.org")
    for n in range(50):
        assert attempt(client, f"guess{n % 25}@example.org")[0] == 422
    neighbour = TestClient(client.app)  # same address ("testclient"), another person
    assert attempt(neighbour, "reader@example.org", PASSWORD)[0] == 303
    voter = TestClient(client.app)
    token = csrf_from(voter.get(f"/rounds/{rid}/vote").text)
    proof = voter.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "A-1", "proof": "1980", "csrf_token": token},
        follow_redirects=False,
    )
    assert proof.status_code == 303
    assert "Fill in the city-wide ballot" in voter.get(f"/rounds/{rid}/vote").text


def test_census_guesses_do_not_block_logins(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CENSUS, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    data = b"identifier,proof\nA-1,1980\n"
    db.write_sync(eligibility.import_census, None, rid, data, settings.secret_key)
    make_user(db, settings, "u@example.org")
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    _window, limit = settings.client_failure_limits[0]
    for n in range(limit):
        client.post(
            f"/rounds/{rid}/vote/census",
            data={"identifier": f"X-{n}", "proof": "1", "csrf_token": token},
        )
    blocked = client.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "A-1", "proof": "1980", "csrf_token": token},
    )
    assert blocked.status_code == 429  # the eligibility budget is spent...
    assert attempt(TestClient(client.app), "u@example.org", PASSWORD)[0] == 303  # ...not logins'


def test_an_attacker_locks_new_devices_out_but_not_the_owners_phone(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, settings, "owner@example.org")
    phone = TestClient(client.app)
    AuthActions(phone, db, settings).login("owner@example.org")  # the phone is now known
    AuthActions(phone, db, settings).logout()
    attacker = client
    _window, limit = settings.login_account_limits[0]
    for _ in range(limit):
        assert attempt(attacker, "owner@example.org")[0] == 422
        advance(60)  # past the growing delay of this pair
    advance(30)  # the pair's own delay (64 s after 10 failures) is over; the lock is not
    laptop = TestClient(client.app)
    refused = attempt(laptop, "owner@example.org", PASSWORD)
    assert refused[0] == 429 and "mailed you a link" in refused[1]
    # The same lock, and the same answer, for an address without an account; no mail for it.
    for _ in range(limit):
        attempt(attacker, "nobody@example.org")
        advance(60)
    advance(30)
    assert attempt(laptop, "nobody@example.org") == (429, refused[1].replace("owner@", "nobody@"))
    (unlock,) = mails(db, "login_unlock")
    assert unlock.recipient == "owner@example.org"
    # The owner's phone, which has logged in before, is not locked out.
    assert attempt(phone, "owner@example.org", PASSWORD)[0] == 303
    # The link opened on the laptop lets the laptop in, once.
    link = link_in(unlock, "/login/unlock")
    assert follow(laptop, link, "/login/unlock").status_code == 303  # type: ignore[attr-defined]
    assert attempt(laptop, "owner@example.org", PASSWORD)[0] == 303
    again = TestClient(client.app).get(link)
    assert again.status_code == 400 and "already been used" in again.text
    # Other new devices get in once the window has passed.
    advance(3600)
    assert attempt(TestClient(client.app), "owner@example.org", PASSWORD)[0] == 303
