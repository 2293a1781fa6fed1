"""Voting through the web: eligibility, the four ballots, review, receipts, paper ballots."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.audit import verify_chain
from pb.config import Settings
from pb.db import Database
from pb.models import (
    AuditEvent,
    BallotRecord,
    CensusEntry,
    Eligibility,
    Role,
    User,
    VotingMethod,
    VotingScope,
)
from pb.services import eligibility
from tests.builders import ballot_counts, chain_of, make_voting_round
from tests.conftest import AuthActions, csrf_from

RECEIPT_RE = re.compile(r'<p class="receipt-code"><code>([0-9A-Z-]+)</code>')


def stored(db: Database) -> tuple[int, int]:
    return ballot_counts(db)


def chain_ok(db: Database, round_id: int) -> bool:
    return verify_chain(*chain_of(db, round_id)) == []


def submit(
    client: TestClient,
    round_id: int,
    slot: str,
    data: dict[str, Any],
    step: str = "cast",
    district: str = "citywide",
) -> Any:
    token = csrf_from(client.get(f"/rounds/{round_id}/vote").text)
    return client.post(
        f"/rounds/{round_id}/vote/{slot}",
        data={"csrf_token": token, "district": district, "step": step, **data},
        follow_redirects=False,
    )


def test_account_voter_reviews_casts_and_gets_a_receipt(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    p = r["projects"]["citywide"]
    rid = r["round_id"]
    assert "Log in with your account to vote." in client.get(f"/rounds/{rid}/vote").text
    auth.login_as(Role.RESIDENT)
    hub = client.get(f"/rounds/{rid}/vote").text
    assert hub.count("Still to cast") == 2 and "Your district" in hub
    ballot = client.get(f"/rounds/{rid}/vote/citywide").text
    assert "Choose between 1 and 2 projects." in ballot and 'name="p"' in ballot
    review = submit(client, rid, "citywide", {"p": [p[0], p[1]]}, step="review")
    assert review.status_code == 200 and "Cast my ballot" in review.text
    assert "citywide project 0" in review.text and "citywide project 2" not in review.text
    assert stored(db) == (0, 0)
    cast = submit(client, rid, "citywide", {"p": [p[0], p[1]]})
    assert cast.status_code == 303 and cast.headers["location"] == f"/rounds/{rid}/receipt"
    assert "receipt" not in cast.headers["location"].split("/")[-1][8:]  # no code in the URL
    receipt = client.get(cast.headers["location"])
    code = RECEIPT_RE.search(receipt.text).group(1)  # type: ignore[union-attr]
    assert "Ballot log fingerprint" in receipt.text
    assert stored(db) == (1, 1) and chain_ok(db, rid)
    # Reloaded once the short-lived receipt cookie is gone (ten minutes, another device): a
    # page that says why and where to check a saved code, never the receipt again.
    client.cookies.delete("pb_receipt")
    gone = client.get(f"/rounds/{rid}/receipt")
    assert gone.status_code == 200 and "Your receipt is no longer shown" in gone.text
    assert 'href="/receipts"' in gone.text and code not in gone.text
    hub = client.get(f"/rounds/{rid}/vote").text
    assert hub.count("Still to cast") == 1 and "Thank you. Ballots are final." in hub
    again = submit(client, rid, "citywide", {"p": [p[2]]})
    assert again.status_code == 409 and "You have already voted" in again.text
    # Anyone can check the receipt: position and hash, nothing of the choices.
    token = csrf_from(client.get("/receipts").text)
    found = TestClient(client.app).post(
        "/receipts", data={"code": code.lower(), "csrf_token": token}
    )
    lookup = client.post(
        "/receipts", data={"code": code.lower().replace("-", " "), "csrf_token": token}
    )
    assert found.status_code in (200, 403)
    assert lookup.status_code == 200 and "This ballot is in the ballot log." in lookup.text
    assert "citywide project" not in lookup.text
    missing = client.post("/receipts", data={"code": "AAAA", "csrf_token": token})
    assert missing.status_code == 404 and "No ballot has this receipt code" in missing.text
    empty = client.post("/receipts", data={"code": "", "csrf_token": token})
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    assert "Enter the receipt code." in empty.text and "No ballot has" not in empty.text


def test_district_ballot_for_the_chosen_district(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    rid = r["round_id"]
    auth.login_as(Role.RESIDENT)
    page = client.get(f"/rounds/{rid}/vote/district?district=south").text
    assert "south project 0" in page and "north project 0" not in page
    wrong = submit(client, rid, "district", {"p": [r["projects"]["north"][0]]}, district="south")
    assert wrong.status_code == 422 and "not on it" in wrong.text
    ok = submit(client, rid, "district", {"p": [r["projects"]["south"][0]]}, district="south")
    assert ok.status_code == 303
    other = submit(client, rid, "district", {"p": [r["projects"]["north"][0]]}, district="north")
    assert other.status_code == 409
    assert stored(db) == (1, 1)


@pytest.mark.parametrize(
    "method, good, bad, message",
    [
        (VotingMethod.APPROVAL, {"p": [0]}, {"p": [0, 0]}, "names a project twice"),
        (VotingMethod.APPROVAL, {"p": [0]}, {"p": [0, 1, 2]}, "at most 2"),
        (VotingMethod.KNAPSACK, {"p": [1, 2]}, {"p": [0, 1, 2]}, "more than the budget"),
        (VotingMethod.QUADRATIC, {"v": {0: 3, 1: 4}}, {"v": {0: 4, 1: 4}}, "more voice credits"),
        (VotingMethod.QUADRATIC, {"v": {0: 1}}, {"v": {0: -2}}, "0 or more"),
        (VotingMethod.CUMULATIVE, {"v": {0: 6, 2: 4}}, {"v": {0: 6, 1: 6}}, "more points"),
        (VotingMethod.CUMULATIVE, {"v": {1: 2}}, {"v": {1: "two"}}, "whole number"),
        (VotingMethod.CUMULATIVE, {"v": {1: 2}}, {"v": {"9999": 1}}, "not on it"),
    ],
)
def test_each_ballot_type_and_its_tampered_forms(
    client: TestClient,
    auth: AuthActions,
    db: Database,
    method: VotingMethod,
    good: dict[str, Any],
    bad: dict[str, Any],
    message: str,
) -> None:
    r = make_voting_round(db, method=method)
    rid, p = r["round_id"], r["projects"]["citywide"]

    def form(spec: dict[str, Any]) -> dict[str, Any]:
        if "p" in spec:
            return {"p": [p[i] for i in spec["p"]]}
        return {f"v_{p[k] if isinstance(k, int) else k}": str(v) for k, v in spec["v"].items()}

    auth.login_as(Role.RESIDENT)
    page = client.get(f"/rounds/{rid}/vote/citywide").text
    assert ('type="number"' in page) == (
        method in (VotingMethod.QUADRATIC, VotingMethod.CUMULATIVE)
    )
    rejected = submit(client, rid, "citywide", form(bad))
    assert rejected.status_code == 422, rejected.text
    assert message in rejected.text
    assert stored(db) == (0, 0)
    assert submit(client, rid, "citywide", form(good)).status_code == 303
    assert stored(db) == (1, 1)


def test_live_feedback_fragment(client: TestClient, auth: AuthActions, db: Database) -> None:
    r = make_voting_round(db, method=VotingMethod.QUADRATIC)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get(f"/rounds/{rid}/vote/citywide").text)
    response = client.post(
        f"/rounds/{rid}/vote/citywide/feedback",
        data={"csrf_token": token, "district": "citywide", f"v_{p[0]}": "3", f"v_{p[1]}": "2"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="feedback"')
    assert "13 of 25 voice credits used" in response.text
    assert "7 credits" in response.text  # one more vote for the first project: 4² − 3²
    over = client.post(
        f"/rounds/{rid}/vote/citywide/feedback",
        data={"csrf_token": token, "district": "citywide", f"v_{p[0]}": "6"},
        headers={"HX-Request": "true"},
    )
    assert "too many" in over.text and "more voice credits" in over.text
    assert stored(db) == (0, 0)


def test_census_voting(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CENSUS)
    rid = r["round_id"]
    staff = TestClient(client.app)
    AuthActions(staff, db, settings).login_as(Role.STAFF)
    token = csrf_from(staff.get(f"/rounds/{rid}/voters").text)
    bad = "identifier,proof,district\nA-1,75001,North\nA-2,,South\n"
    response = staff.post(
        f"/rounds/{rid}/census",
        data={"csrf_token": token},
        files={"file": ("census.csv", bad.encode(), "text/csv")},
    )
    assert (
        response.status_code == 422 and "Line 3: give an identifier and a proof." in response.text
    )
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(CensusEntry))) == 0
    good = "\ufeffidentifier,proof,district\nA-1,75001,North\nA-2,1980,South\n"
    response = staff.post(
        f"/rounds/{rid}/census",
        data={"csrf_token": token},
        files={"file": ("census.csv", good.encode(), "text/csv")},
    )
    assert "2 residents added" in response.text
    stored_hashes = db.read_sync(lambda s: list(s.scalars(select(CensusEntry.id_hash))))
    assert "A-1" not in "".join(stored_hashes)

    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    wrong = client.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "a-1", "proof": "99999", "csrf_token": token},
    )
    assert wrong.status_code == 422 and "could not find you" in wrong.text
    client.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "a-1 ", "proof": "75001", "csrf_token": token},
    )
    hub = client.get(f"/rounds/{rid}/vote").text
    assert "Fill in your district ballot" in hub  # the census knows the district
    page = client.get(f"/rounds/{rid}/vote/district").text
    assert "north project 0" in page
    assert (
        submit(
            client, rid, "district", {"p": [r["projects"]["north"][0]]}, district="north"
        ).status_code
        == 303
    )
    assert stored(db) == (1, 1)


def test_access_codes_letters_and_single_use(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    staff = TestClient(client.app)
    AuthActions(staff, db, settings).login_as(Role.STAFF)
    token = csrf_from(staff.get(f"/rounds/{rid}/voters").text)
    assert (
        staff.post(f"/rounds/{rid}/codes", data={"count": "0", "csrf_token": token}).status_code
        == 422
    )
    letters = staff.post(f"/rounds/{rid}/codes", data={"count": "3", "csrf_token": token})
    assert letters.headers["cache-control"] == "no-store"
    codes = re.findall(r'<code class="receipt-code">([0-9A-Z-]+)</code>', letters.text)
    assert len(codes) == 3 and letters.text.count("<svg") == 3
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    bogus = client.post(f"/rounds/{rid}/vote/code", data={"code": "NOPE", "csrf_token": token})
    assert bogus.status_code == 422 and "not valid for this round" in bogus.text
    client.post(
        f"/rounds/{rid}/vote/code",
        data={"code": codes[0].lower().replace("-", ""), "csrf_token": token},
    )
    assert submit(client, rid, "citywide", {"p": [r["projects"]["citywide"][0]]}).status_code == 303
    later = TestClient(client.app)
    token = csrf_from(later.get(f"/rounds/{rid}/vote").text)
    used = later.post(f"/rounds/{rid}/vote/code", data={"code": codes[0], "csrf_token": token})
    assert used.status_code == 422 and "already been used" in used.text


def test_paper_ballots_share_the_chain(client: TestClient, auth: AuthActions, db: Database) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid, p = r["round_id"], r["projects"]["citywide"]
    codes = db.write_sync(eligibility.generate_codes, None, rid, 2, None, auth.settings.secret_key)
    auth.login_as(Role.STAFF)
    page = client.get(f"/rounds/{rid}/paper").text
    assert "Record paper ballot" in page and 'name="code"' in page
    french = client.get(f"/rounds/{rid}/paper", headers={"Accept-Language": "fr"}).text
    assert "Toute la ville" in french and "City-wide" not in french
    token = csrf_from(page)
    data = {
        "csrf_token": token,
        "slot": "citywide",
        "district": "citywide",
        "code": codes[0],
        "p": [p[1]],
    }
    done = client.post(f"/rounds/{rid}/paper", data=data)
    assert done.status_code == 200 and "Recorded. Receipt code for the voter" in done.text
    again = client.post(f"/rounds/{rid}/paper", data=data)
    assert again.status_code == 409 and "already voted" in again.text
    bad = client.post(f"/rounds/{rid}/paper", data={**data, "code": "WRONG"})
    assert bad.status_code == 422 and "not eligible" in bad.text
    channels = db.read_sync(
        lambda s: list(s.scalars(select(BallotRecord.channel).where(BallotRecord.kind == "ballot")))
    )
    assert channels == ["paper"] and chain_ok(db, rid)
    # The audit log says who entered it, for which round and district; never the choices.
    events = db.read_sync(
        lambda s: [
            (e.actor_id, e.target, e.after)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "ballot.paper"))
        ]
    )
    staff_id = db.read_sync(lambda s: s.scalar(select(User.id).where(User.role == Role.STAFF)))
    assert events == [(staff_id, f"round:{rid}", {"district": "citywide"})]
    log = client.get("/admin/audit")
    assert log.status_code == 403  # staff cannot read it; auditors can
    # The code used on paper cannot vote online any more.
    voter = TestClient(client.app)
    token = csrf_from(voter.get(f"/rounds/{rid}/vote").text)
    used = voter.post(f"/rounds/{rid}/vote/code", data={"code": codes[0], "csrf_token": token})
    assert "already been used" in used.text


def test_no_counts_before_results(client: TestClient, auth: AuthActions, db: Database) -> None:
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    for _ in range(3):
        c = TestClient(client.app)
        AuthActions(c, db, auth.settings).login_as(Role.RESIDENT)
        submit(c, rid, "citywide", {"p": [p[0]]})
    pages = [
        client.get(u).text
        for u in (f"/rounds/{rid}", f"/rounds/{rid}/proposals", f"/proposals/{p[0]}", "/rounds")
    ]
    for html in pages:
        assert not re.search(r"\b3 (votes?|approvals?|ballots?)\b", html)
        assert (
            "citywide project 0" not in html
            or "vote" not in html.split("citywide project 0")[1][:60]
        )


def test_200_simultaneous_web_submissions(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid, p = r["round_id"], r["projects"]["citywide"]
    codes = db.write_sync(eligibility.generate_codes, None, rid, 100, None, settings.secret_key)
    voters = []
    for code in codes:
        c = TestClient(client.app)
        token = csrf_from(c.get(f"/rounds/{rid}/vote").text)
        c.post(f"/rounds/{rid}/vote/code", data={"code": code, "csrf_token": token})
        voters.append((c, token))

    def cast(n: int) -> int:
        # 100 voters once each, and the first voter 100 more times, all at once.
        c, token = voters[n] if n < 100 else voters[0]
        return c.post(
            f"/rounds/{rid}/vote/citywide",
            data={"csrf_token": token, "district": "citywide", "step": "cast", "p": [p[n % 3]]},
            follow_redirects=False,
        ).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(cast, range(200)))
    assert all(s in (303, 409) for s in statuses), sorted(set(statuses))
    assert statuses.count(303) == 100
    assert stored(db) == (100, 100) and chain_ok(db, rid)


def test_census_guessing_is_throttled(client: TestClient, db: Database, settings: Settings) -> None:
    """A proof may be a birth year: guessing it is limited like a password."""
    r = make_voting_round(db, eligibility=Eligibility.CENSUS, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    data = b"identifier,proof\nA-1,1980\n"
    db.write_sync(eligibility.import_census, None, rid, data, settings.secret_key)
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    _window, limit = settings.account_failure_limits[0]
    for year in range(1900, 1900 + limit):
        wrong = client.post(
            f"/rounds/{rid}/vote/census",
            data={"identifier": "A-1", "proof": str(year), "csrf_token": token},
        )
        assert wrong.status_code == 422
    blocked = client.post(
        f"/rounds/{rid}/vote/census",
        data={"identifier": "A-1", "proof": "1980", "csrf_token": token},
    )
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
    assert "Fill in the city-wide ballot" not in client.get(f"/rounds/{rid}/vote").text
    # Every spelling the census lookup takes for the same resident counts against the same
    # budget: inner spaces, case, full-width forms.
    for variant in ("A -1", "a-1", " A - 1 ", "\uff21-\uff11", "A\u00a0-1"):
        blocked = client.post(
            f"/rounds/{rid}/vote/census",
            data={"identifier": variant, "proof": "1980", "csrf_token": token},
        )
        assert blocked.status_code == 429, variant
    assert "Fill in the city-wide ballot" not in client.get(f"/rounds/{rid}/vote").text


def test_access_codes_travel_only_in_post_bodies(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    staff = TestClient(client.app)
    AuthActions(staff, db, settings).login_as(Role.STAFF)
    token = csrf_from(staff.get(f"/rounds/{rid}/voters").text)
    letters = staff.post(f"/rounds/{rid}/codes", data={"count": "2", "csrf_token": token}).text
    codes = re.findall(r'<code class="receipt-code">([0-9A-Z-]+)</code>', letters)
    assert len(codes) == 2
    assert "/c/" not in letters and "http://testserver/c</strong>" in letters
    # A letter from before: the old short URL lands on the form, and forgets the code.
    old = client.get(f"/c/{codes[0]}", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == "/c"
    page = client.get("/c")
    assert 'id="code-form"' in page.text and '/code.js"' in page.text
    token = csrf_from(page.text)
    bogus = client.post("/c", data={"code": "ABCDE-FGHJK-MNPQR", "csrf_token": token})
    assert bogus.status_code == 422 and "not valid" in bogus.text
    done = client.post(
        "/c", data={"code": codes[1].lower(), "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/rounds/{rid}/vote"
    hub = client.get(done.headers["location"]).text
    assert "Fill in the city-wide ballot" in hub
    assert all(code not in hub for code in codes)
