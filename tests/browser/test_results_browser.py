"""On a phone: staff count and publish; a resident who voted reads the results, checks the
receipt, and the bundle downloaded from the page passes `pb audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from pb.audit import audit_bundle
from pb.config import Settings
from pb.db import Database
from pb.models import Role, VotingScope
from pb.services import rounds, voting
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


CHART_SIZES = (
    "Array.from(document.querySelectorAll('svg.chart'))"
    ".map(s => [s.classList.contains('days'), s.getBoundingClientRect().width,"
    " s.getBoundingClientRect().height])"
)


def charts_keep_their_height(page: Any, bars: int) -> None:
    """From a 320 px phone to a 1920 px screen, no chart grows taller than it is drawn (one day
    of ballots once made a 2,400 px bar at laptop width), and none is squashed to nothing."""
    natural = bars * 36 + 4
    for width in (320, 360, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        sizes = page.evaluate(CHART_SIZES)
        assert len(sizes) == 2, sizes
        for is_days, w, h in sizes:
            assert 0 < w <= width, (width, sizes)
            if is_days:
                assert h == 140, (width, sizes)
            else:
                assert natural * 0.5 <= h <= natural, (width, sizes)
    page.set_viewport_size({"width": 360, "height": 740})


def test_publish_read_check_and_audit(
    browser: Any, live_server: str, db: Database, settings: Settings, tmp_path: Path
) -> None:
    from tests.browser.conftest import PHONE

    today = frozen.TODAY
    r = make_voting_round(db, scope=VotingScope.CITYWIDE, min_choices=None, max_choices=3)
    rid, p = r["round_id"], r["projects"]["citywide"]
    receipt = db.write_sync(
        voting.cast, rid, "citywide", "citywide", "rosa", {p[1]: 1}, "online", today
    ).code
    for n in range(8):
        db.write_sync(
            voting.cast,
            rid,
            "citywide",
            "citywide",
            f"v{n}",
            {p[n % 3]: 1},
            "paper" if n == 0 else "online",
            today,
        )
    db.write_sync(rounds.advance_phase, None, rid, today)
    make_user(db, settings, "sam@example.org", role=Role.STAFF)
    context = browser.new_context(base_url=live_server, accept_downloads=True, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    login(page, "sam@example.org")
    page.goto(f"/rounds/{rid}")
    page.get_by_role("link", name="Results").click()
    page.get_by_role("button", name="Count the ballots").click()
    assert page.get_by_text("Review the results, then publish them.").is_visible()
    page.get_by_role("button", name="Publish the results").click()
    expect(page.get_by_text("Published results are final")).to_be_visible()
    page.get_by_role("button", name="Yes, publish them").click()
    assert page.get_by_text("The results are published.").is_visible()
    page.get_by_role("button", name="Log out").click()

    page.goto(f"/rounds/{rid}")
    page.get_by_role("link", name="Results").click()
    assert page.get_by_role("heading", name="How the winners were chosen").is_visible()
    assert page.get_by_text("9 ballots were cast.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    charts_keep_their_height(page, bars=3)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the ballot bundle (zip)").click()
    path = tmp_path / "bundle.zip"
    info.value.save_as(path)
    report = audit_bundle(path)
    assert report.ok, report.problems

    page.get_by_role("link", name="Check that your ballot is in the published files").click()
    page.get_by_label("Receipt code").fill(receipt)
    page.get_by_role("button", name="Check").click()
    assert page.get_by_text("this ballot is in the published ballot files").is_visible()
    context.close()
    assert errors == []
