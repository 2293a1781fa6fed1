"""Layout, friendly errors, hardening headers."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from pb.db import Database
from pb.web.routing import Access, route
from tests.builders import make_districts, make_round, make_voting_round

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_home_page_layout(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'href="#main"' in html and '<main id="main"' in html
    assert re.search(r'src="/static/[0-9a-f]{12}/htmx-2\.0\.11\.min\.js"', html)
    assert "HX-Request" in response.headers["vary"]
    assert "Accept-Language" in response.headers["vary"]


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"


def test_templates_have_no_inline_script_or_style() -> None:
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\sstyle=", text), path
        assert "<style" not in text, path
        assert not re.search(r"<[a-zA-Z][^>]*\son[a-z]+=", text), path


def test_friendly_404(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text and "<html" in response.text


def test_friendly_405(client: TestClient) -> None:
    response = client.delete("/")
    assert response.status_code == 405
    assert "<html" in response.text


def test_friendly_500_keeps_headers(app: Starlette) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("kaboom")

    app.router.routes.append(route("/boom", boom, access=Access.PUBLIC))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "kaboom" not in response.text
    assert "content-security-policy" in response.headers


def test_static_files_are_served(client: TestClient) -> None:
    assert client.get("/static/style.css").status_code == 200
    js = client.get("/static/htmx-2.0.11.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:200]


def test_health(client: TestClient) -> None:
    assert client.get("/health").text == "ok"


def test_static_files_set_no_cookies(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/static/style.css").headers
    assert "pb_anon=" in client.get("/").headers["set-cookie"]


def test_home_page_leads_to_the_vote(client: TestClient, db: Database) -> None:
    from tests import frozen

    districts = make_districts(db)
    proposing = make_round(db, districts, None, "proposals", title="Ideas 2028")  # type: ignore[arg-type]
    make_round(db, districts, None, "draft", title="Secret draft")  # type: ignore[arg-type]
    voting = make_voting_round(db, title="Budget 2027")["round_id"]
    html = client.get("/").text
    assert "Open now" in html and "Budget 2027" in html and "Ideas 2028" in html
    assert f'href="/rounds/{voting}/vote"' in html
    end = frozen.days(10)
    assert f"Voting is open until {end:%b} {end.day}, {end.year}." in html
    assert html.index("Budget 2027") < html.index("Ideas 2028")  # voting first
    assert f'href="/rounds/{proposing}/proposals/new"' in html
    assert "Secret draft" not in html
    assert "Districts" not in html  # names that looked tappable and led nowhere
