"""On a phone (issue 13 items 1, 2, 7, 8, 9): the Equal Shares explanation in counting order
with points paying; an ambiguous amount refused and kept; no default district and the district
named on review; a ballot link opened signed out and a cast ballot revisited; the points cap
warned live and, without JavaScript, on the review step."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pb.config import Settings
from pb.db import Database
from pb.models import VotingMethod, VotingScope
from pb.services import results, rounds, voting
from tests import frozen
from tests.browser.conftest import PHONE
from tests.builders import make_districts, make_round, make_voting_round
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def _log_in(page: Any, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def _context(browser: Any, live_server: str, javascript: bool = True) -> tuple[Any, Any, list]:
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    errors: list[str] = []

    def console(message: Any) -> None:
        # A refused form (422) and the sign-in page (403) are answers these tests expect.
        expected = ("status of 422", "status of 403")
        if message.type == "error" and not any(e in message.text for e in expected):
            errors.append(message.text)

    page.on("console", console)
    return context, page, errors


def test_equal_shares_explained_in_order_with_points_paying(
    browser: Any, live_server: str, db: Database
) -> None:
    r = make_voting_round(
        db,
        method=VotingMethod.CUMULATIVE,
        scope=VotingScope.CITYWIDE,
        rule="equalshares/add1",
    )
    rid, p = r["round_id"], r["projects"]["citywide"]
    for n, points in enumerate(({p[0]: 6, p[1]: 4}, {p[0]: 2, p[2]: 6}, {p[1]: 5, p[2]: 5})):
        db.write_sync(
            voting.cast, rid, "citywide", "citywide", f"v{n}", points, "online", frozen.TODAY
        )
    db.write_sync(rounds.advance_phase, None, rid, frozen.TODAY)
    db.write_sync(results.tally_round, None, rid, frozen.TODAY)
    db.write_sync(results.publish, None, rid, frozen.TODAY)
    context, page, errors = _context(browser, live_server)
    page.goto(f"/rounds/{rid}/results")
    steps = page.locator("ol.steps li")
    expect(steps.first).to_contain_text("is shared equally among the 3 voters")
    expect(steps.nth(1)).to_contain_text("Every point pays the same price")
    expect(page.locator("ol.steps").get_by_text("points in all").first).to_be_visible()
    expect(steps.last).to_contain_text("In all,")
    texts = steps.all_inner_texts()
    assert not any("raised 0 times" in t or " 1 supporters" in t for t in texts), texts
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
    assert errors == []


def test_an_ambiguous_estimate_is_refused_and_kept(
    browser: Any, live_server: str, db: Database, settings: Settings
) -> None:
    districts = make_districts(db)
    rid = make_round(db, districts, None)  # type: ignore[arg-type]
    make_user(db, settings, "rosa@example.org")
    context, page, errors = _context(browser, live_server)
    page.goto(f"/login?next=/rounds/{rid}/proposals/new")
    _log_in(page, "rosa@example.org")
    page.get_by_label("Title").fill("Benches")
    page.get_by_label("Summary").fill("Ten benches.")
    page.get_by_label("Description").fill("Ten benches on the square.")
    page.get_by_label("The need it answers").fill("Nowhere to sit.")
    page.get_by_label("Estimated cost (EUR)").fill("4.500")
    page.get_by_role("button", name="Publish my proposal").click()
    expect(page.get_by_text("“4.500” could mean €4.50 or €4,500.00.")).to_be_visible()
    expect(page.get_by_label("Estimated cost (EUR)")).to_have_value("4.500")
    page.get_by_label("Estimated cost (EUR)").fill("4,500")
    page.get_by_role("button", name="Publish my proposal").click()
    expect(page.get_by_text("€4,500.00")).to_be_visible()
    context.close()
    assert errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_no_default_district_and_the_review_names_it(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    r = make_voting_round(db)
    rid, south = r["round_id"], r["projects"]["south"]
    make_user(db, settings, "rosa@example.org")
    context, page, errors = _context(browser, live_server, javascript)
    page.goto(f"/login?next=/rounds/{rid}/vote")
    _log_in(page, "rosa@example.org")
    chooser = page.get_by_label("Your district")
    expect(chooser).to_have_value("")
    page.get_by_role("button", name="Fill in the district ballot").click()
    if javascript:  # the browser's own check on a required select stops the empty choice
        expect(page.get_by_label("Your district")).to_be_visible()
        page.goto(f"/rounds/{rid}/vote/district?district=")
    expect(page.get_by_text("Choose your district: the one where you live.")).to_be_visible()
    page.get_by_label("Your district").select_option("south")
    page.get_by_role("button", name="Fill in the district ballot").click()
    page.get_by_label("south project 0").check()
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", name="Your ballot for South")).to_be_visible()
    assert south
    context.close()
    assert errors == []


def test_signed_out_ballot_link_then_a_cast_ballot_revisited(
    browser: Any, live_server: str, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    make_user(db, settings, "rosa@example.org")
    context, page, errors = _context(browser, live_server)
    page.goto(f"/rounds/{rid}/vote/citywide")
    expect(page.get_by_role("heading", name="Voting needs you to sign in")).to_be_visible()
    expect(page.get_by_role("link", name="Create an account")).to_be_visible()
    page.locator("main").get_by_role("link", name="Log in").click()
    _log_in(page, "rosa@example.org")
    page.wait_for_url(f"**/rounds/{rid}/vote/citywide")
    page.get_by_label("citywide project 0").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Thank you for voting").wait_for()
    code = page.locator(".receipt-code code").inner_text()
    page.goto(f"/rounds/{rid}/vote/citywide")
    expect(page.get_by_role("heading", name="You have already voted")).to_be_visible()
    expect(page.get_by_role("link", name="Check a receipt").first).to_be_visible()
    assert code not in page.content()
    context.close()
    assert errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_points_cap_is_stated_and_warned(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    r = make_voting_round(db, method=VotingMethod.CUMULATIVE, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    make_user(db, settings, "rosa@example.org")
    context, page, errors = _context(browser, live_server, javascript)
    page.goto(f"/login?next=/rounds/{rid}/vote/citywide")
    _log_in(page, "rosa@example.org")
    expect(page.get_by_text("At most 6 points on one project.")).to_be_visible()
    page.get_by_label("citywide project 0").fill("7")
    page.get_by_label("citywide project 0").dispatch_event("change")
    page.get_by_label("citywide project 1").fill("2")
    page.get_by_label("citywide project 1").dispatch_event("change")
    warning = "citywide project 0: 7 points, more than the 6 one project can have."
    if javascript:
        expect(page.locator("#feedback").get_by_text(warning)).to_be_visible()
        expect(page.locator("#feedback").get_by_text("9 of 10 points given")).to_be_visible()
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.locator("#feedback").get_by_text("9 of 10 points given")).to_be_visible()
    expect(page.locator("#feedback").get_by_text(warning)).to_be_visible()
    page.get_by_label("citywide project 0").fill("5")
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_text("7 of 10 points given")).to_be_visible()
    expect(page.get_by_role("button", name="Cast my ballot")).to_be_visible()
    context.close()
    assert errors == []
