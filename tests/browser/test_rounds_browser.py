"""On a phone, staff set up a round end to end: create it through the form (with a mistake the
server explains), preview it, open proposals early, and see it listed for residents."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pb.config import Settings
from pb.db import Database
from pb.models import Role
from tests import frozen
from tests.builders import make_districts
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def test_staff_create_a_round_on_a_phone(
    browser: Any, live_server: str, db: Database, settings: Settings
) -> None:
    from tests.browser.conftest import PHONE

    make_districts(db, ("Old Town", "Riverside"))
    make_user(db, settings, "sam@example.org", role=Role.STAFF)
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto("/rounds")
    page.get_by_role("link", name="New round").click()

    page.get_by_label("Title").fill("Budget 2027")
    page.get_by_label("Description").fill("Ideas for the town.")
    page.get_by_label("Categories").fill("Green spaces\nMobility")
    page.get_by_label("Total budget").fill("300,000")
    page.get_by_label("City-wide budget").fill("100,000")
    page.get_by_label("Budget of Old Town").fill("100,000")
    page.get_by_label("Budget of Riverside").fill("50,000")  # does not add up
    # Dates from the frozen clock, in order whatever day it is: proposals in a month, then
    # review, voting and its last day a few weeks apart.
    page.get_by_label("Proposals open on").fill(frozen.days(30).isoformat())
    page.get_by_label("Review starts on").fill(frozen.days(60).isoformat())
    page.get_by_label("Voting opens on").fill(frozen.days(70).isoformat())
    page.get_by_label("Last day of voting").fill(frozen.days(80).isoformat())
    page.get_by_label("Voting method").select_option("approval")
    page.get_by_label("Most projects to choose (approval)").fill("3")
    page.get_by_label("Where residents vote").select_option("both")
    page.get_by_role("button", name="Save the round").click()
    assert page.get_by_text("must add up to the total budget").first.is_visible()

    page.get_by_label("Budget of Riverside").fill("100,000")
    page.get_by_role("button", name="Save the round").click()
    assert page.get_by_text("The round is created.").is_visible()
    assert page.get_by_text("Preview: residents cannot see this round").is_visible()
    page.get_by_role("button", name="Open the next phase now: Proposals open").click()
    expect(page.get_by_text("Residents see the round and can propose projects")).to_be_visible()
    page.get_by_role("button", name="Yes, open it now").click()
    assert page.get_by_text("The next phase is open.").is_visible()
    assert page.get_by_role("link", name="Propose a project").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    resident = browser.new_context(base_url=live_server, **PHONE).new_page()
    resident.goto("/rounds")
    assert resident.get_by_role("link", name="Budget 2027").is_visible()
    context.close()
