"""The projects a funding call funded, listed for the call: the only list that shows those of a
call that belongs to no round. Reached from the call page, the campaign page and each card; the
same rows in the open-data API."""

from __future__ import annotations

from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import Role
from pb.services.tracking import projects
from pb.services.tracking.projects import Editor
from pb.web.opendata import PREFIX
from tests.collection_builders import collected, draft, publish
from tests.conftest import AuthActions, make_user
from tests.funding_builders import make_call
from tests.tracking_builders import mailing


def test_a_standalone_calls_funded_projects_have_a_list(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = collected(db, settings)  # a call of no round: garden succeeds, bench fails
    garden, bench = f.campaign_ids
    draft(db, f)
    before = client.get(f"/funding/{f.call_id}/projects")
    assert before.status_code == 200
    assert "No project of this call is funded yet" in before.text
    assert client.get(f"{PREFIX}/funding/calls/{f.call_id}/tracking").json()["data"] == []
    assert f"/funding/{f.call_id}/projects" not in client.get(f"/funding/{f.call_id}").text

    publish(db, f)
    page = client.get(f"/funding/{f.call_id}/projects")
    assert page.status_code == 200
    assert "Jardin partagé" in page.text and "Banc public" not in page.text  # failed: no card
    assert "Whole call" in page.text and f'href="/funding/{f.call_id}"' in page.text
    rows = client.get(f"{PREFIX}/funding/calls/{f.call_id}/tracking").json()["data"]
    assert [(r["title"], r["call_id"], r["round_id"], r["funded_by"]) for r in rows] == [
        ("Jardin partagé", f.call_id, None, "crowdfunding")
    ]
    card = rows[0]["project_id"]
    assert f'href="/projects/{card}"' in page.text
    assert rows[0]["approved"] > 0 and rows[0]["spent"] == 0
    table = client.get(f"{PREFIX}/funding/calls/{f.call_id}/tracking.csv")
    assert table.status_code == 200 and "Jardin partagé" in table.content.decode("utf-8-sig")

    # Every way to the list and back: the call page, the campaign, the card.
    call_page = client.get(f"/funding/{f.call_id}").text
    assert f'href="/funding/{f.call_id}/projects"' in call_page
    assert "The 1 project it funded, and how far it is" in call_page
    assert f'href="/projects/{card}"' in client.get(f"/campaigns/{garden}").text
    assert "/projects/" not in client.get(f"/campaigns/{bench}").text.split("<main")[1]
    card_page = client.get(f"/projects/{card}").text
    assert f'href="/funding/{f.call_id}/projects"' in card_page
    assert f'href="/campaigns/{garden}"' in card_page
    # Once published, pages show the match itself, and the card what the money came to.
    assert (
        "Crowdfunding brought €125.00 from backers and €65.00 from the matching pool: €190.00."
        in card_page
    )
    assert "€65.00 of matching (published)" in client.get(f"/campaigns/{garden}").text
    assert "About " not in client.get(f"/funding/{f.call_id}").text.split("<main")[1]

    # A backer finds it from "My pledges" too.
    auth.login(f.emails["marie"])
    mine = client.get("/pledges").text
    assert f'href="/projects/{card}"' in mine and "follow the project's progress" in mine
    auth.logout()

    # Progress reported on the card shows in the list and the API.
    staff = make_user(db, settings, "staff-call@example.org", role=Role.STAFF)
    db.write_sync(projects.set_progress, Editor(staff, True), card, 40, mailing())
    assert "Progress: 40%" in client.get(f"/funding/{f.call_id}/projects").text
    rows = client.get(f"{PREFIX}/funding/calls/{f.call_id}/tracking").json()["data"]
    assert rows[0]["progress"] == 40


def test_a_draft_calls_list_is_not_public(client: TestClient, db: Database) -> None:
    call = make_call(db, "draft", title="Secret call")
    assert client.get(f"/funding/{call}/projects").status_code == 404
    assert client.get(f"{PREFIX}/funding/calls/{call}/tracking").status_code == 404
    assert client.get("/funding/999999/projects").status_code == 404
