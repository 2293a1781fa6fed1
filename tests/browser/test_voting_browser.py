"""On a phone, each ballot type with and without JavaScript: fill in, review, cast, keep the
receipt and check it. With JavaScript the live feedback updates as the voter chooses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from pb.config import Settings
from pb.db import Database
from pb.models import VotingMethod, VotingScope
from tests.builders import make_voting_round
from tests.conftest import make_user

pytestmark = pytest.mark.browser

# What the voter does on each ballot, and the feedback the page shows after it.
PLANS = {
    VotingMethod.APPROVAL: ("check", [0, 2], "2 of 2 chosen"),
    VotingMethod.KNAPSACK: ("check", [1, 2], "€50,000.00 of €100,000.00 used"),
    VotingMethod.QUADRATIC: ("number", {0: 3, 1: 4}, "25 of 25 voice credits used"),
    VotingMethod.CUMULATIVE: ("number", {0: 6, 2: 4}, "10 of 10 points given"),
}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("method", list(PLANS), ids=[m.value for m in PLANS])
def test_vote_on_a_phone(
    browser: Any,
    live_server: str,
    db: Database,
    settings: Settings,
    method: VotingMethod,
    javascript: bool,
) -> None:
    from tests.browser.conftest import PHONE

    r = make_voting_round(db, method=method, scope=VotingScope.CITYWIDE)
    rid, projects = r["round_id"], r["projects"]["citywide"]
    make_user(db, settings, "rosa@example.org")
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"/login?next=/rounds/{rid}/vote")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Fill in the city-wide ballot").click()

    kind, choices, feedback = PLANS[method]
    if kind == "check":
        for n in choices:
            page.get_by_label(f"citywide project {n}").check()
    else:
        for n, value in choices.items():
            page.get_by_label(f"citywide project {n}").fill(str(value))
            page.get_by_label(f"citywide project {n}").dispatch_event("change")
    if javascript:
        page.locator("#feedback").get_by_text(feedback).wait_for(timeout=5000)
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", name="Your city-wide ballot")).to_be_visible()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_role("heading", name="Thank you for voting").wait_for()
    code = page.locator(".receipt-code code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4,5}){5}", code)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto("/receipts")
    page.get_by_label("Receipt code").fill(code.lower())
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("This ballot is in the ballot log.")).to_be_visible()
    page.goto(f"/rounds/{rid}/vote")
    expect(page.get_by_text("Thank you. Ballots are final.")).to_be_visible()
    context.close()
    assert errors == []
    assert projects


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_lost_answer_then_cast_again_shows_the_receipt(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    """The cast reaches the server and is committed, but its answer never reaches the phone
    (the connection drops): pressing "Cast my ballot" again shows the receipt of that ballot."""
    from sqlalchemy import select

    from pb.models import BallotRecord
    from tests.browser.conftest import PHONE

    r = make_voting_round(db, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    make_user(db, settings, "lena@example.org")
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    page.goto(f"/login?next=/rounds/{rid}/vote")
    page.get_by_label("Email").fill("lena@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Fill in the city-wide ballot").click()
    page.get_by_label("citywide project 1").check()
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", name="Your city-wide ballot")).to_be_visible()

    delivered: list[int] = []

    def drop_the_answer(route: Any) -> None:
        delivered.append(route.fetch(max_redirects=0).status)  # the server casts and commits
        route.abort("connectionreset")  # and the phone never hears back

    page.route(f"**/rounds/{rid}/vote/citywide", drop_the_answer)
    page.get_by_role("button", name="Cast my ballot").click()
    page.wait_for_timeout(500)
    assert delivered == [303]
    page.unroute(f"**/rounds/{rid}/vote/citywide")
    expect(page.get_by_role("heading", name="Thank you for voting")).to_have_count(0)
    page.reload()  # the resident tries again: the browser sends the same cast form again
    page.get_by_role("heading", name="Thank you for voting").wait_for()
    code = page.locator(".receipt-code code").inner_text()
    stored = db.read_sync(
        lambda s: list(s.scalars(select(BallotRecord.receipt).where(BallotRecord.kind == "ballot")))
    )
    assert stored == [code]
    context.close()
