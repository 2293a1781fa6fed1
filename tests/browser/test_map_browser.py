"""On a phone: a resident opens the results, follows the link to the map, reads it (its text
alternative, the legend, the tables), switches the shading and follows a project's point."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pb.db import Database
from pb.services.tracking.public import card_ids
from tests.geo_builders import published_round

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("PB_TEST_SHOTS", "/work/briefs/shots"))


def shoot(page: Any, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / name), full_page=True)


def test_read_the_map_on_a_phone(phone: Any, db: Database) -> None:
    r = published_round(db)
    rid = r["round_id"]
    page = phone
    page.goto(f"/rounds/{rid}/results")
    page.get_by_role("link", name="See the results on a map").click()
    page.wait_for_url(f"**/rounds/{rid}/map")
    expect(page.get_by_role("heading", name="Map", exact=True)).to_be_visible()
    drawing = page.get_by_role("group", name="Map of the districts and projects of Budget 2027")
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box is not None and 300 <= box["width"] <= 360 and 100 <= box["height"] <= 740
    expect(page.locator("#map-desc")).to_contain_text("North 0.6 %, South 0.2 %")
    expect(page.get_by_text("Turnout", exact=True).first).to_be_visible()
    expect(page.locator(".legend").first).to_contain_text("0.0 % – 0.1 %")
    districts = page.get_by_role("table", name="Districts")
    expect(districts.get_by_role("row", name="North")).to_contain_text("0.6 %")
    shoot(page, "geo-map-phone.png")

    page.get_by_role("link", name="Funding per resident").click()
    expect(page.locator("#map-desc")).to_contain_text("funding per resident")
    expect(page.get_by_role("link", name="Funding per resident")).to_have_attribute(
        "aria-current", "page"
    )
    expect(districts.get_by_role("row", name="South")).to_contain_text("€65.00")

    # Each point is a target a thumb can hit (WCAG 2.2: 24 × 24 CSS px).
    point = page.locator("svg.map-svg circle").first.bounding_box()
    assert point is not None and point["width"] >= 24 and point["height"] >= 24
    # A funded project's point leads to its card (what became of it), another to its proposal.
    cards = db.read_sync(card_ids, rid)
    pid = r["projects"]["north"][1]  # six votes: funded
    card = cards[str(pid)]
    page.locator(f'svg.map-svg a[href="/projects/{card}"]').click()
    page.wait_for_url(f"**/projects/{card}")
    expect(page.get_by_role("heading", name="north project 1")).to_be_visible()
    page.go_back()
    other = next(p for ps in r["projects"].values() for p in ps if str(p) not in cards)
    page.locator(f'svg.map-svg a[href="/proposals/{other}"]').click()
    page.wait_for_url(f"**/proposals/{other}")
    # The funded project's proposal page leads on to its card too.
    page.goto(f"/proposals/{pid}")
    page.get_by_role("link", name="Funded: follow the project's progress").click()
    page.wait_for_url(f"**/projects/{card}")


def test_the_map_keeps_a_sensible_height(phone: Any, db: Database) -> None:
    r = published_round(db)
    page = phone
    page.goto(f"/rounds/{r['round_id']}/map")
    for width in (320, 360, 768, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        size = page.evaluate(
            "(() => { const b = document.querySelector('svg.map-svg').getBoundingClientRect();"
            " return [b.width, b.height]; })()"
        )
        assert 0 < size[0] <= width and 100 <= size[1] <= 900 * 0.8 + 1, (width, size)
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "geo-map-desktop.png")
