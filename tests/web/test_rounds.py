"""Staff set up rounds from the browser's forms; a locked round refuses changes and logs it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import AuditEvent, ProposalStatus, Role, Round, RoundDistrict
from tests import frozen
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from


def round_form(districts: list[int], **overrides: str) -> dict[str, str]:
    today = frozen.TODAY
    form = {
        "title": "Budget 2027",
        "description": "Ideas.\n\nMore ideas.",
        "currency": "EUR",
        "total_budget": "300,000",
        "citywide_budget": "100,000",
        **{f"district_{d}": "100,000" for d in districts},
        "proposals_from": today.isoformat(),
        "review_from": (today + dt.timedelta(days=365)).isoformat(),
        "voting_from": (today + dt.timedelta(days=365)).isoformat(),
        "voting_until": (today + dt.timedelta(days=730)).isoformat(),
        "method": "approval",
        "min_choices": "1",
        "max_choices": "3",
        "rule": "greedy",
        "eligibility": "account",
        "scope": "both",
        "categories": "Parks\nMobility\n",
    }
    form.update(overrides)
    return form


def test_staff_create_a_round_from_the_form(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    auth.login_as(Role.STAFF)
    assert client.get("/rounds/new").status_code == 200
    data = {**round_form(districts), "csrf_token": auth.csrf("/rounds/new")}
    response = client.post("/rounds", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert "Budget 2027" in page.text and "€300,000.00" in page.text
    rnd = db.read_sync(lambda s: s.scalars(select(Round)).one())
    assert rnd.total_budget == 300_000_00
    budgets = db.read_sync(lambda s: sorted(s.scalars(select(RoundDistrict.budget))))
    assert budgets == [100_000_00, 100_000_00]


def test_money_is_read_in_the_users_language(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    auth.login_as(Role.STAFF)
    client.post("/language", data={"locale": "fr", "csrf_token": auth.csrf()})
    data = {
        **round_form(districts, total_budget="300 000,50", citywide_budget="100 000,50"),
        **{f"district_{d}": "100 000" for d in districts},
        "csrf_token": auth.csrf("/rounds/new"),
    }
    assert client.post("/rounds", data=data, follow_redirects=False).status_code == 303
    assert db.read_sync(lambda s: s.scalar(select(Round.total_budget))) == 300_000_50


def test_incoherent_round_is_shown_again_with_messages(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    auth.login_as(Role.STAFF)
    data = {
        **round_form(
            districts, total_budget="1", min_choices="5", max_choices="2", title="<b>kept</b>"
        ),
        "csrf_token": auth.csrf("/rounds/new"),
    }
    response = client.post("/rounds", data=data)
    assert response.status_code == 422
    assert "must add up to the total budget" in response.text
    assert "cannot be fewer than the fewest" in response.text
    assert 'value="&lt;b&gt;kept&lt;/b&gt;"' in response.text
    bad = {
        **round_form(districts, total_budget="lots", voting_from="soon"),
        "csrf_token": auth.csrf("/rounds/new"),
    }
    response = client.post("/rounds", data=bad)
    assert response.status_code == 422
    assert "Enter an amount" in response.text and "YYYY-MM-DD" in response.text
    assert db.read_sync(lambda s: s.scalar(select(Round.id))) is None


def test_draft_round_is_a_staff_preview(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, None, "draft")  # type: ignore[arg-type]
    assert client.get(f"/rounds/{round_id}").status_code == 404
    assert "Budget 2027" not in client.get("/rounds").text
    auth.login_as(Role.STAFF)
    page = client.get(f"/rounds/{round_id}")
    assert page.status_code == 200 and "Preview" in page.text


def test_editing_a_locked_round_is_refused_and_recorded(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, None, "voting")  # type: ignore[arg-type]
    make_proposal(
        db,
        round_id,
        None,
        status=ProposalStatus.ACCEPTED,  # type: ignore[arg-type]
        feasible_cost=100,
    )
    auth.login_as(Role.STAFF)
    page = client.get(f"/rounds/{round_id}/edit")
    assert "rules are locked" in page.text
    data = {
        **round_form(districts, title="Sneaky change"),
        "csrf_token": auth.csrf(f"/rounds/{round_id}"),
    }
    response = client.post(f"/rounds/{round_id}/edit", data=data)
    assert response.status_code == 409
    assert "cannot change" in response.text and "recorded" in response.text
    assert db.read_sync(lambda s: s.scalar(select(Round.title))) == "Budget 2027"
    event = db.read_sync(
        lambda s: s.scalars(
            select(AuditEvent).where(AuditEvent.action == "round.change_refused")
        ).one()
    )
    assert event.after is not None and event.after["title"] == "Sneaky change"
    # The round page shows the fingerprint of the locked rules.
    page = client.get(f"/rounds/{round_id}").text
    assert "The rules are locked" in page and "Technical details" in page


def test_edit_duplicate_and_advance(client: TestClient, auth: AuthActions, db: Database) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, None, "proposals")  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    form = client.get(f"/rounds/{round_id}/edit").text
    assert 'value="Budget 2027"' in form
    data = {**round_form(districts, title="Budget 2027, revised"), "csrf_token": csrf_from(form)}
    assert (
        client.post(f"/rounds/{round_id}/edit", data=data, follow_redirects=False).status_code
        == 303
    )
    token = auth.csrf(f"/rounds/{round_id}")
    response = client.post(
        f"/rounds/{round_id}/duplicate", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].endswith("/edit")
    # A confirmation step first, saying what the change does; nothing changes yet.
    confirm = client.post(f"/rounds/{round_id}/phase", data={"csrf_token": token})
    assert confirm.status_code == 200 and "Open the next phase now?" in confirm.text
    assert "can no longer propose projects" in confirm.text
    assert "Proposals open" in client.get(f"/rounds/{round_id}").text
    response = client.post(
        f"/rounds/{round_id}/phase", data={"csrf_token": token, "confirm": "yes"}
    )
    assert "The next phase is open." in response.text and "Under review" in response.text
    actions = db.read_sync(
        lambda s: list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    )
    assert actions[-4:] == ["round.update", "round.create", "round.duplicate", "round.phase"]


def test_round_page_warns_staff_of_an_empty_ballot(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, None, "review")  # type: ignore[arg-type]
    make_proposal(db, round_id, None, status=ProposalStatus.ACCEPTED, feasible_cost=1_00)  # type: ignore[arg-type]
    assert "no accepted project yet" not in client.get(f"/rounds/{round_id}").text  # residents
    auth.login_as(Role.STAFF)
    page = client.get(f"/rounds/{round_id}").text
    assert "Before voting opens" in page and "no accepted project yet: North, South" in page
    token = csrf_from(page)
    refused = client.post(f"/rounds/{round_id}/phase", data={"csrf_token": token, "confirm": "yes"})
    assert "These ballots have no accepted project: North, South" in refused.text
    assert db.read_sync(lambda s: s.get(Round, round_id).locked_at) is None


def test_staff_see_human_labels_not_codes(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    round_id = make_round(db, districts, None, "proposals", rule="equalshares/add1")  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    html = client.get(f"/rounds/{round_id}").text
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    assert "Method of Equal Shares with Add1 completion" in facts
    assert "Approval: choose projects" in facts and "Anyone with an account" in facts
    assert (
        "A tie goes to the cheaper project, then the project with more votes, then the lower "
        "project number." in facts
    )
    for code in ("equalshares/add1", "lower-cost", "<dd>account", "<dd>approval"):
        assert code not in facts
