"""The ballot's dead ends and traps (issue 13 items 7, 8, 9): no default district, a ballot
link opened while signed out, a ballot already cast, and the points rules stated and checked
from what was sent (with or without JavaScript)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Eligibility, Role, VotingMethod, VotingScope
from pb.services import eligibility
from pb.web.views.voting import _sorted_by_name
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from
from tests.web.test_voting import RECEIPT_RE, stored, submit


def test_districts_sort_by_name_as_people_read_them() -> None:
    names = ["Zeta", "Écluse", "ahorn", "District 10", "District 9", "Eden"]
    ordered = [name for _, name in _sorted_by_name([(n, n) for n in names])]
    assert ordered == ["ahorn", "District 9", "District 10", "Écluse", "Eden", "Zeta"]


def test_the_district_chooser_has_no_default_and_says_when_none_is_chosen(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    rid = r["round_id"]
    auth.login_as(Role.RESIDENT)
    hub = client.get(f"/rounds/{rid}/vote").text
    select = hub[hub.index('<select id="f-district"') : hub.index("</select>")]
    options = re.findall(r'<option value="([^"]*)"( selected)?>', select)
    assert options == [("", " selected"), ("north", ""), ("south", "")]
    assert " required" in select
    none = client.get(f"/rounds/{rid}/vote/district?district=")
    assert none.status_code == 422
    assert "Choose your district: the one where you live." in none.text
    assert 'aria-invalid="true"' in none.text


def test_the_review_step_names_the_district(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    rid = r["round_id"]
    auth.login_as(Role.RESIDENT)
    south = r["projects"]["south"][0]
    review = submit(client, rid, "district", {"p": [south]}, step="review", district="south")
    assert review.status_code == 200
    assert re.search(r'<h1 class="ballot-for">Your ballot for South</h1>', review.text)
    assert "This ballot counts for South only." in review.text


def test_a_ballot_link_opened_signed_out_offers_log_in_and_comes_back(
    client: TestClient, db: Database
) -> None:
    r = make_voting_round(db)
    rid = r["round_id"]
    page = client.get(f"/rounds/{rid}/vote/district?district=south")
    assert page.status_code == 403
    assert "Voting needs you to sign in" in page.text
    assert "Not allowed" not in page.text
    back = f"/rounds/{rid}/vote/district%3Fdistrict%3Dsouth"
    assert f'href="/login?next={back}"' in page.text
    assert f'href="/register?next={back}"' in page.text
    login = client.get(f"/login?next=/rounds/{rid}/vote/district?district=south").text
    assert f'name="next" value="/rounds/{rid}/vote/district?district=south"' in login


def test_a_code_entered_from_a_ballot_link_returns_to_that_ballot(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    codes = db.write_sync(eligibility.generate_codes, None, rid, 1, None, auth.settings.secret_key)
    page = client.get(f"/rounds/{rid}/vote/citywide")
    assert page.status_code == 403 and "enter the access code from your letter" in page.text
    assert f'name="next" value="/rounds/{rid}/vote/citywide"' in page.text
    token = csrf_from(page.text)
    proved = client.post(
        f"/rounds/{rid}/vote/code",
        data={"code": codes[0], "csrf_token": token, "next": f"/rounds/{rid}/vote/citywide"},
        follow_redirects=False,
    )
    assert proved.status_code == 303
    assert proved.headers["location"] == f"/rounds/{rid}/vote/citywide"
    assert 'name="p"' in client.get(proved.headers["location"]).text
    # somewhere else than this round's ballots: the round's voting page
    elsewhere = client.post(
        f"/rounds/{rid}/vote/code",
        data={"code": codes[0], "csrf_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/rounds/{rid}/vote"


def test_going_back_to_a_cast_ballot_says_so_without_the_receipt(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    rid = r["round_id"]
    auth.login_as(Role.RESIDENT)
    cast = submit(client, rid, "citywide", {"p": [r["projects"]["citywide"][0]]})
    code = RECEIPT_RE.search(client.get(cast.headers["location"]).text).group(1)  # type: ignore[union-attr]
    back = client.get(f"/rounds/{rid}/vote/citywide", follow_redirects=False)
    assert back.status_code == 200
    assert "You have already voted" in back.text
    assert 'href="/receipts"' in back.text and f'href="/rounds/{rid}"' in back.text
    assert code not in back.text
    assert stored(db) == (1, 1)


def _points_ballot(db: Database, auth: AuthActions) -> tuple[int, list[str]]:
    r = make_voting_round(db, method=VotingMethod.CUMULATIVE, scope=VotingScope.CITYWIDE)
    auth.login_as(Role.RESIDENT)
    return r["round_id"], r["projects"]["citywide"]


def test_the_points_ballot_states_the_total_and_the_cap(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    rid, _ = _points_ballot(db, auth)
    page = client.get(f"/rounds/{rid}/vote/citywide").text
    assert "Share out 10 points among the projects." in page
    assert "At most 6 points on one project." in page


def test_live_feedback_warns_when_one_project_is_over_its_cap(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    rid, p = _points_ballot(db, auth)
    token = csrf_from(client.get(f"/rounds/{rid}/vote/citywide").text)
    data: dict[str, Any] = {"csrf_token": token, "district": "citywide", f"v_{p[0]}": "7"}
    fragment = client.post(
        f"/rounds/{rid}/vote/citywide/feedback", data=data, headers={"HX-Request": "true"}
    ).text
    assert fragment.lstrip().startswith('<div id="feedback"')
    assert "7 of 10 points given" in fragment
    assert "7 points, more than the 6 one project can have" in fragment


def test_without_javascript_the_review_step_counts_what_was_sent(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    rid, p = _points_ballot(db, auth)
    over = submit(client, rid, "citywide", {f"v_{p[0]}": "7", f"v_{p[1]}": "2"}, step="review")
    assert over.status_code == 422
    assert "9 of 10 points given" in over.text
    assert "7 points, more than the 6 one project can have" in over.text
    assert 'value="7"' in over.text
    ok = submit(client, rid, "citywide", {f"v_{p[0]}": "5", f"v_{p[1]}": "2"}, step="review")
    assert ok.status_code == 200 and "7 of 10 points given" in ok.text
    assert stored(db) == (0, 0)
