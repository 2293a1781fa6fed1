"""On a phone, with and without JavaScript: pledge to a campaign (with JavaScript the live
estimate follows the amount typed), see it in "My pledges", cancel it; sign up for a task."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from pb.config import Settings
from pb.db import Database
from pb.models import Pledge, PledgeState, TaskSignup
from tests.conftest import make_user
from tests.funding_builders import make_call, make_campaign, make_task, pledge

pytestmark = pytest.mark.browser


def log_in(page: Any, email: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_pledge_and_cancel_on_a_phone(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    from tests.browser.conftest import PHONE

    campaign_id = make_campaign(db, make_call(db))
    first = make_user(db, settings, "first@example.org")
    pledge(db, first, campaign_id, 100_00)
    make_user(db, settings, "rosa@example.org")
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    log_in(page, "rosa@example.org", f"/campaigns/{campaign_id}")
    expect(page.get_by_role("heading", name="Community garden")).to_be_visible()
    expect(page.get_by_text("1 backer")).to_be_visible()
    estimate = page.locator("#estimate")
    assert "Your €10.00 brings about" in estimate.inner_text()
    page.get_by_label("Amount (EUR)").fill("100")
    if javascript:
        # (10 + 10)^2 - 200 = 200 € from the pool, shown as the amount is typed
        estimate.get_by_text("Your €100.00 brings about €200.00").wait_for(timeout=5000)
    page.get_by_label("Name shown to others (optional)").fill("Rosa")
    page.get_by_role("button", name="Pledge", exact=True).click()
    page.get_by_role("heading", name="My pledges").wait_for()
    expect(page.get_by_text("Your pledge of €100.00 is recorded")).to_be_visible()
    expect(page.get_by_text("shown as Rosa")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("button", name="Cancel this pledge").click()
    page.get_by_text("Your pledge is cancelled.").wait_for()
    expect(page.locator(".badge", has_text="Cancelled")).to_be_visible()
    context.close()
    assert errors == []
    states = db.read_sync(
        lambda s: [p.state for p in s.scalars(select(Pledge).order_by(Pledge.id))]
    )
    assert states == [PledgeState.PLEDGED, PledgeState.CANCELLED]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_up_for_a_task_on_a_phone(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    from tests.browser.conftest import PHONE

    campaign_id = make_campaign(db, make_call(db))
    make_task(db, campaign_id, capacity=2, minutes_each=120)
    make_user(db, settings, "rosa@example.org")
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    log_in(page, "rosa@example.org", f"/campaigns/{campaign_id}")
    expect(page.get_by_text("2 volunteers needed")).to_be_visible()
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("Thank you! Your place is booked.").wait_for()
    expect(page.get_by_text("1 of 2 places taken")).to_be_visible()
    page.goto("/pledges")
    expect(page.get_by_text("Time pledged: 2 hours. Time given: 0 hours.")).to_be_visible()
    context.close()
    assert db.read_sync(lambda s: len(s.scalars(select(TaskSignup)).all())) == 1
