"""The map through the web: staff upload boundaries (errors named, 422, nothing lost) and place
projects; everyone reads a round's map, its text alternative and its tables."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import District, Proposal, ProposalStatus, Role
from pb.services.tracking.public import card_ids
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from
from tests.geo_builders import collection, published_round, square


def upload(client: TestClient, token: str, data: bytes, **fields: str) -> object:
    return client.post(
        "/admin/districts/boundaries",
        data={"csrf_token": token, "property": "name", "district": "", **fields},
        files={"file": ("districts.geojson", data, "application/geo+json")},
        follow_redirects=False,
    )


def test_staff_upload_boundaries_and_see_named_errors(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    make_districts(db)
    auth.login_as(Role.STAFF)
    page = client.get("/admin/districts")
    assert page.status_code == 200 and "North" in page.text and "none" in page.text
    token = csrf_from(page.text)
    bad = upload(client, token, collection(North=[[0, 0], [1, 0], [1, 1]]))
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "Feature 1 (North), ring 1 has 3 points" in bad.text  # type: ignore[attr-defined]
    unknown = upload(client, token, collection(East=square(8, 49)), property="name")
    assert unknown.status_code == 422  # type: ignore[attr-defined]
    assert "No district is named &#34;East&#34;" in unknown.text  # type: ignore[attr-defined]
    renamed = upload(client, token, collection(North=square(8, 49)), property="label")
    assert 'value="label"' in renamed.text  # type: ignore[attr-defined]  # kept on re-render
    ok = upload(client, token, collection(North=square(8, 49), South=square(8.01, 49)))
    assert ok.status_code == 303  # type: ignore[attr-defined]
    after = client.get("/admin/districts").text
    assert "The boundaries of 2 districts are saved: North, South." in after
    assert after.count("5 points") == 2
    geo = TestClient(client.app).get("/api/v1/districts.geojson").json()
    assert [f["properties"]["name"] for f in geo["features"]] == ["North", "South"]


def test_a_resident_cannot_upload(client: TestClient, auth: AuthActions, db: Database) -> None:
    make_districts(db)
    auth.login_as(Role.RESIDENT)
    token = auth.csrf("/account")
    assert upload(client, token, collection(North=square(8, 49))).status_code == 403  # type: ignore[attr-defined]


def test_staff_place_a_project(client: TestClient, auth: AuthActions, db: Database) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    pid = make_proposal(db, rid, None)  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    assert "Place it on the map" in client.get(f"/proposals/{pid}").text
    form = client.get(f"/proposals/{pid}/location")
    token = csrf_from(form.text)
    bad = client.post(
        f"/proposals/{pid}/location",
        data={"csrf_token": token, "latitude": "123", "longitude": "2.35"},
    )
    assert bad.status_code == 422 and "between −90 and 90" in bad.text
    assert 'value="123"' in bad.text and 'value="2.35"' in bad.text
    good = client.post(
        f"/proposals/{pid}/location",
        data={"csrf_token": token, "latitude": "48,8566", "longitude": "2.3522"},
    )
    assert good.status_code == 200 and "The project is placed on the map." in good.text
    assert 'value="48.8566"' in client.get(f"/proposals/{pid}/location").text


def test_the_published_map(client: TestClient, db: Database) -> None:
    r = published_round(db)
    rid = r["round_id"]
    assert f'href="/rounds/{rid}/map"' in client.get(f"/rounds/{rid}/results").text
    page = client.get(f"/rounds/{rid}/map")
    html = page.text
    assert page.status_code == 200
    svg = re.search(r"<svg class=\"map-svg\".*?</svg>", html, re.S)
    assert svg is not None
    # A group, not an image: it holds the projects' links (axe: nested-interactive).
    assert 'role="group" aria-labelledby="map-title" aria-describedby="map-desc"' in svg.group(0)
    assert '<title id="map-title">' in svg.group(0)
    desc = re.search(r'<desc id="map-desc">(.*?)</desc>', html, re.S)
    assert desc is not None
    assert "Districts shaded by turnout, darker is higher: North 0.6 %, South 0.2 %." in desc.group(
        1
    )
    assert "9 projects are drawn as numbered points." in desc.group(1)
    assert svg.group(0).count('class="district shade-') == 2
    # A funded project's point links to its card; the others to their proposal.
    cards = db.read_sync(card_ids, rid)
    for pid in (p for ps in r["projects"].values() for p in ps):
        target = f"/projects/{cards[str(pid)]}" if str(pid) in cards else f"/proposals/{pid}"
        assert f'href="{target}"' in svg.group(0), pid
    assert str(r["projects"]["north"][1]) in cards
    # The same figures in the table; the other shade is a link.
    assert "<td>0.6 %</td>" in html and "<td>0.2 %</td>" in html and "<td>6</td>" in html
    assert f'href="/rounds/{rid}/map?shade=funding"' in html
    funding = client.get(f"/rounds/{rid}/map?shade=funding").text
    assert "Districts shaded by funding per resident" in funding
    assert "€50.00" in funding and "€65.00" in funding
    assert 'aria-current="page">Funding per resident' in funding


def test_the_map_before_results_shows_no_figures(client: TestClient, db: Database) -> None:
    r = published_round(db, publish=False)
    html = client.get(f"/rounds/{r['round_id']}/map").text
    assert "shaded by turnout and funding once the results are published" in html
    assert "%" not in re.sub(r"<style.*?</style>", "", html.split("<main")[1])
    assert "Districts shaded" not in html and "shade-0" in html


def test_a_draft_round_has_no_map(client: TestClient, auth: AuthActions, db: Database) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None, phase="draft")  # type: ignore[arg-type]
    assert client.get(f"/rounds/{rid}/map").status_code == 404
    auth.login_as(Role.STAFF)
    assert client.get(f"/rounds/{rid}/map").status_code == 404  # not even for staff
    assert json.loads("{}") == {}


def pabulib_file(rows: list[str]) -> str:
    return "\n".join(
        [
            "META",
            "key;value",
            f"num_projects;{len(rows)}",
            "num_votes;1",
            "budget;1000000",
            "vote_type;approval",
            "PROJECTS",
            "project_id;cost;name;latitude;longitude",
            *rows,
            "VOTES",
            "voter_id;vote",
            "v1;" + rows[0].split(";")[0],
            "",
        ]
    )


def test_staff_place_projects_from_a_pabulib_file(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    first, second = (
        make_proposal(db, rid, None, title, status=ProposalStatus.ACCEPTED, feasible_cost=100)  # type: ignore[arg-type]
        for title in ("First", "Second")
    )
    auth.login_as(Role.STAFF)
    page = client.get(f"/rounds/{rid}/map")
    assert "Place projects from a pabulib file" in page.text
    assert "Place projects" not in TestClient(client.app).get(f"/rounds/{rid}/map").text
    token = csrf_from(page.text)

    def send(data: str | bytes) -> object:
        return client.post(
            f"/rounds/{rid}/places",
            data={"csrf_token": token},
            files={"file": ("places.pb", data, "text/plain")},
        )

    bad = send("not a pabulib file")
    assert bad.status_code == 422 and "The file is not a pabulib file" in bad.text  # type: ignore[attr-defined]
    text = pabulib_file(
        [f"{first};100;First;49.01;8.02", f"{second};100;Second;;", "999;100;Other;49;8"]
    )
    done = send(text)
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert "1 project placed on the map." in done.text  # type: ignore[attr-defined]
    assert "Not projects of this round: 999." in done.text  # type: ignore[attr-defined]
    places = db.read_sync(
        lambda s: {p.id: (p.latitude, p.longitude) for p in s.scalars(select(Proposal))}
    )
    assert places == {first: (49.01, 8.02), second: (None, None)}


def test_staff_set_the_numbers_of_residents(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    north, south = make_districts(db)
    auth.login_as(Role.STAFF)
    token = auth.csrf("/admin/districts")
    bad = client.post(
        "/admin/districts/population",
        data={"csrf_token": token, f"population_{north}": "lots", f"population_{south}": "2000"},
    )
    assert bad.status_code == 422 and "Enter a whole number of residents" in bad.text
    assert 'value="lots"' in bad.text and 'value="2000"' in bad.text
    ok = client.post(
        "/admin/districts/population",
        data={"csrf_token": token, f"population_{north}": "12,100", f"population_{south}": ""},
    )
    assert "The numbers of residents are saved." in ok.text
    populations = db.read_sync(lambda s: {d.id: d.population for d in s.scalars(select(District))})
    assert populations == {north: 12100, south: None}
