"""The open-data API: publishes what is public and nothing else, with pagination, ETags, CSV
twins and an OpenAPI document that covers every route."""

from __future__ import annotations

import csv
import io
import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import ProposalStatus, Role
from pb.services.tracking import impact
from pb.services.tracking.projects import Editor
from pb.web.opendata import PREFIX, REGISTRY
from tests import frozen, tracking_builders
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, make_user
from tests.geo_builders import published_round


def test_rounds_proposals_and_results_of_a_published_round(
    client: TestClient, db: Database
) -> None:
    r = published_round(db)
    rid = r["round_id"]
    rounds = client.get(f"{PREFIX}/rounds").json()
    assert [x["id"] for x in rounds["data"]] == [rid]
    assert rounds["data"][0]["phase"] == "results" and rounds["data"][0]["results_published"]
    one = client.get(f"{PREFIX}/rounds/{rid}").json()
    assert one["id"] == rid and len(one["district_budgets"]) == 2
    results = client.get(f"{PREFIX}/rounds/{rid}/results").json()["data"]
    north = [x for x in results if x["ballot"] == "north"]
    assert [x["score"] for x in north] == [6, 0, 0]
    assert north[0]["selected"] and north[0]["funded_order"] == 1
    turnout = {
        x["ballot"]: x["ballots"]
        for x in client.get(f"{PREFIX}/rounds/{rid}/turnout").json()["data"]
    }
    assert turnout == {"citywide": 3, "north": 6, "south": 3}
    projects = client.get(f"{PREFIX}/projects").json()["data"]
    assert len(projects) == 6 and {p["funded_by"] for p in projects} == {"vote"}
    districts = client.get(f"{PREFIX}/districts").json()["data"]
    assert [(d["name"], d["population"], d["has_boundary"]) for d in districts] == [
        ("North", 1000, True),
        ("South", 2000, True),
    ]


def test_nothing_unpublished_leaks(client: TestClient, auth: AuthActions, db: Database) -> None:
    """A draft round, counted but unpublished results, rejected and merged proposals, and
    authors' names and emails never appear, whoever asks (staff too)."""
    author = make_user(db, auth.settings, "secret.author@example.org", name="Secret Author")
    unpublished = published_round(db, publish=False)["round_id"]
    districts = make_districts(db)
    draft = make_round(db, districts, author, phase="draft", title="Hidden draft")
    live = make_round(db, districts, author, phase="proposals", title="Open round")
    shown = make_proposal(db, live, author, "Visible idea")
    for status, title in (
        (ProposalStatus.REJECTED, "Rejected idea"),
        (ProposalStatus.MERGED, "Merged idea"),
    ):
        make_proposal(db, live, author, title, status=status)
    make_proposal(db, draft, author, "Draft idea")
    auth.login_as(Role.STAFF)  # staff see drafts on the site; never through the API
    bodies = []
    for path in [
        "/rounds", f"/rounds/{live}/proposals", "/projects", "/districts", "/funding/calls",
        "/rounds.csv", f"/rounds/{live}/proposals.csv", "/projects.csv",
    ]:  # fmt: skip
        response = client.get(PREFIX + path)
        assert response.status_code == 200, path
        bodies.append(response.text)
    text = "\n".join(bodies)
    for secret in ("Hidden draft", "Draft idea", "Rejected idea", "Merged idea", "Secret Author",
                   "secret.author@example.org", "author"):  # fmt: skip
        assert secret not in text, secret
    assert "Visible idea" in text
    assert [p["id"] for p in client.get(f"{PREFIX}/rounds/{live}/proposals").json()["data"]] == [
        shown
    ]
    for path in (f"/rounds/{draft}", f"/rounds/{draft}/proposals", f"/rounds/{unpublished}/results",
                 f"/rounds/{unpublished}/turnout", f"/rounds/{unpublished}/results.csv",
                 f"/rounds/{live}/results"):  # fmt: skip
        response = client.get(PREFIX + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    assert client.get(f"{PREFIX}/projects").json()["data"] == []  # nothing published yet


def test_pagination_with_next_links(client: TestClient, db: Database) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    ids = [make_proposal(db, rid, None, f"Idea {n}") for n in range(5)]  # type: ignore[arg-type]
    first = client.get(f"{PREFIX}/rounds/{rid}/proposals?limit=2").json()
    assert [p["id"] for p in first["data"]] == ids[:2]
    assert first["meta"] == {"page": 1, "limit": 2, "total": 5, "pages": 3}
    seen = []
    url = first["links"]["self"]
    while url:
        page = client.get(url).json()
        seen += [p["id"] for p in page["data"]]
        url = page["links"].get("next")
    assert seen == ids
    assert "prev" in client.get(f"{PREFIX}/rounds/{rid}/proposals?limit=2&page=3").json()["links"]
    for query in ("page=0", "limit=501", "limit=x", "page=-1", "page=１"):
        bad = client.get(f"{PREFIX}/rounds/{rid}/proposals?{query}")
        assert bad.status_code == 400, query
        assert "limit" in bad.json()["detail"]
    assert client.get(f"{PREFIX}/rounds/{rid}/proposals?page=4&limit=2").status_code == 404


def test_etag_and_not_modified(client: TestClient, db: Database) -> None:
    published_round(db)
    first = client.get(f"{PREFIX}/rounds")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "public, max-age=60"
    assert "set-cookie" not in first.headers  # public, cacheable: no cookie
    again = client.get(f"{PREFIX}/rounds", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = client.get(f"{PREFIX}/rounds", headers={"if-none-match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = client.get(f"{PREFIX}/rounds", headers={"if-none-match": '"0000"'})
    assert stale.status_code == 200 and stale.content == first.content
    csv_first = client.get(f"{PREFIX}/rounds.csv")
    assert (
        client.get(
            f"{PREFIX}/rounds.csv", headers={"if-none-match": csv_first.headers["etag"]}
        ).status_code
        == 304
    )


def test_csv_opens_in_a_spreadsheet(client: TestClient, db: Database) -> None:
    r = published_round(db)
    response = client.get(f"{PREFIX}/rounds/{r['round_id']}/results.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="pb-rounds-{r["round_id"]}-results.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 9
    assert list(rows[0])[:4] == ["round_id", "ballot", "ballot_name", "district_id"]
    assert {r["selected"] for r in rows} == {"true", "false"}
    assert b"\r\n" in response.content


def test_calls_and_campaigns_show_totals_never_backers(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    from pb.models import Campaign, CampaignState
    from tests.funding_builders import make_call, make_campaign, pledge

    draft_call = make_call(db, "draft", title="Secret call")
    make_campaign(db, draft_call, title="Secret campaign")
    call = make_call(db, "pledging", title="Open call")
    campaign = make_campaign(db, call, title="Shared oven", minimum=400_00)
    backer = make_user(db, auth.settings, "backer@example.org", name="Bea Backer")
    pledge(db, backer, campaign, 25_00, public_name="Bea the baker")
    calls = client.get(f"{PREFIX}/funding/calls").json()["data"]
    assert [c["title"] for c in calls] == ["Open call"]
    assert calls[0]["phase"] == "pledging" and calls[0]["matching_rule"]
    assert client.get(f"{PREFIX}/funding/calls/{draft_call}/campaigns").status_code == 404
    body = client.get(f"{PREFIX}/funding/calls/{call}/campaigns")
    rows = body.json()["data"]
    assert [(r["title"], r["backers"], r["raised"], r["state"]) for r in rows] == [
        ("Shared oven", 1, 25_00, "open")
    ]
    assert [c["label"] for c in rows[0]["costs"]] == ["Tools", "Seeds"]
    table = client.get(f"{PREFIX}/funding/calls/{call}/campaigns.csv").content.decode("utf-8-sig")
    assert "costs" not in table.splitlines()[0] and "Shared oven" in table
    everything = body.text + table + client.get(f"{PREFIX}/funding/calls.csv").text
    for secret in ("Bea", "backer@example.org", "Secret call", "Secret campaign"):
        assert secret not in everything
    assert client.get(f"{PREFIX}/projects").json()["data"] == []

    def fund(session: object) -> None:
        session.get(Campaign, campaign).state = CampaignState.FUNDED  # type: ignore[attr-defined]

    db.write_sync(fund)
    funded = client.get(f"{PREFIX}/projects").json()["data"]
    assert [(p["funded_by"], p["campaign_id"], p["amount"]) for p in funded] == [
        ("crowdfunding", campaign, 25_00)
    ]


def test_openapi_documents_every_route(client: TestClient, app: Starlette) -> None:
    doc = client.get(f"{PREFIX}/openapi.json").json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"]
    api_paths = {
        re.sub(r"{(\w+):id}", r"{\1}", r.path)
        for r in app.routes
        if getattr(r, "path", "").startswith(PREFIX)
    }
    assert api_paths == set(doc["paths"]), api_paths ^ set(doc["paths"])
    schemas = doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        operation = item["get"]
        assert operation["operationId"] and operation["responses"]["200"], path
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"])
        for ref in re.findall(
            r'"\$ref": "#/components/schemas/(\w+)"', str(operation).replace("'", '"')
        ):
            assert ref in schemas, (path, ref)
    ids = [item["get"]["operationId"] for item in doc["paths"].values()]
    assert len(ids) == len(set(ids))
    for endpoint in REGISTRY:
        assert set(schemas[endpoint.schema]["properties"]) == {f.name for f in endpoint.fields}


@pytest.mark.parametrize("path", ["/api/v1/rounds/9999999999", "/api/v1/rounds/0/results"])
def test_json_errors_for_odd_ids(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_tracking_and_indicators_of_a_published_round_only(
    client: TestClient, db: Database, settings: Settings
) -> None:
    """After the vote: each funded project's status, progress and money, and its indicators,
    as JSON and CSV; 404 while the results are only counted."""
    counted = tracking_builders.counted_round(db)["round_id"]
    for path in (f"/rounds/{counted}/tracking", f"/rounds/{counted}/indicators.csv"):
        assert client.get(PREFIX + path).status_code == 404, path
    r = tracking_builders.published_round(db)
    rid = r["round_id"]
    staff_id = make_user(db, settings, "lead-staff@example.org", role=Role.STAFF)
    staff = Editor(user_id=staff_id, staff=True)
    card = r["cards"][r["projects"]["citywide"][0]]
    row = db.write_sync(
        lambda s: impact.add_project_indicator(s, staff, card, None, "Benches", "benches", 2, 6).id
    )
    db.write_sync(
        impact.add_measurement,
        staff,
        row,
        frozen.TODAY,
        4,
        "Count",
        frozen.TODAY,
        tracking_builders.mailing(),
    )
    tracked = client.get(f"{PREFIX}/rounds/{rid}/tracking").json()["data"]
    assert {t["project_id"] for t in tracked} == set(r["cards"].values())
    assert {t["status"] for t in tracked} == {"planned"} and tracked[0]["currency"] == "EUR"
    indicators = client.get(f"{PREFIX}/rounds/{rid}/indicators").json()["data"]
    assert [
        (i["project_id"], i["indicator"], i["baseline"], i["target"], i["current"], i["percent"])
        for i in indicators
    ] == [(card, "Benches", 2, 6, 4, 50)]
    assert indicators[0]["last_measured_on"] == frozen.TODAY.isoformat()
    as_csv = client.get(f"{PREFIX}/rounds/{rid}/indicators.csv")
    assert as_csv.status_code == 200 and "Benches" in as_csv.text
