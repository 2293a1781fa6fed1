"""Page weight: text is compressed, static files are versioned and cached for a year, and a
ballot's first load (the page and everything it fetches before anyone scrolls or opens a
disclosure) stays within 25 KB transferred; a live update within 2 KB."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Role, VotingMethod
from pb.web.assets import IMMUTABLE
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from

FIRST_LOAD_BUDGET = 25 * 1024
LIVE_UPDATE_BUDGET = 2 * 1024
GZIP = {"accept-encoding": "gzip"}


class Subresources(HTMLParser):
    """What a browser fetches on first load: stylesheets, icons, scripts and eager images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "icon") and a.get("href"):
            self.urls.append(str(a["href"]))
        elif a.get("src") and (tag == "script" or (tag == "img" and a.get("loading") != "lazy")):
            self.urls.append(str(a["src"]))


def transferred(client: TestClient, url: str) -> int:
    """Bytes of the body as sent over the wire (gzip-encoded when the server compresses)."""
    response = client.get(url, headers=GZIP)
    assert response.status_code == 200, url
    return int(response.num_bytes_downloaded)


def test_static_files_are_versioned_and_immutable(client: TestClient) -> None:
    html = client.get("/").text
    url = re.search(r'src="(/static/[0-9a-f]{12}/htmx-2\.0\.11\.min\.js)"', html)
    assert url, "the page names htmx by a versioned URL"
    js = client.get(url.group(1), headers=GZIP)
    assert js.status_code == 200 and "htmx" in js.text[:200]
    assert js.headers["cache-control"] == IMMUTABLE
    assert js.headers["content-encoding"] == "gzip"
    assert js.num_bytes_downloaded < len(js.content) / 2
    # A stale or plain URL still works, but is revalidated rather than kept for a year.
    for stale in ("/static/000000000000/htmx-2.0.11.min.js", "/static/htmx-2.0.11.min.js"):
        old = client.get(stale)
        assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    assert client.get("/static/000000000000/nothing.js").status_code == 404


def test_html_is_compressed_and_not_cached(client: TestClient) -> None:
    page = client.get("/rounds", headers=GZIP)
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "private, no-cache"
    assert gzip.compress(page.content)  # decoded fine
    # Small bodies are not worth compressing.
    assert "content-encoding" not in client.get("/health", headers=GZIP).headers


def test_ballot_first_load_and_live_update_weights(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    costs = tuple(n * 1_000_00 for n in range(10, 22))  # a ballot of twelve projects
    r = make_voting_round(db, method=VotingMethod.QUADRATIC, costs=costs)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    page = client.get(f"/rounds/{rid}/vote/citywide", headers=GZIP)
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    parser = Subresources()
    parser.feed(page.text)
    assert any(u.endswith(".css") for u in parser.urls)
    assert any(u.endswith(".js") for u in parser.urls)
    sizes = {url: transferred(client, url) for url in parser.urls}
    total = int(page.num_bytes_downloaded) + sum(sizes.values())
    assert total <= FIRST_LOAD_BUDGET, (page.num_bytes_downloaded, sizes)

    token = csrf_from(page.text)
    update = client.post(
        f"/rounds/{rid}/vote/citywide/feedback",
        data={"csrf_token": token, "district": "citywide", f"v_{p[0]}": "3", f"v_{p[1]}": "2"},
        headers={"HX-Request": "true", **GZIP},
    )
    assert update.status_code == 200 and "13 of 25 voice credits used" in update.text
    assert update.num_bytes_downloaded <= LIVE_UPDATE_BUDGET
