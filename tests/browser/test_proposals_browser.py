"""On a phone: a resident proposes a project, staff accept it with a cost (htmx inline review),
and it appears among the round's projects. Then the same without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pb.config import Settings
from pb.db import Database
from pb.models import Role
from tests.builders import make_districts, make_round
from tests.conftest import make_user

pytestmark = pytest.mark.browser


def login(page: Any, email: str, password: str = "correct horse battery") -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def logout(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_propose_review_and_see_on_the_ballot(
    browser: Any, live_server: str, db: Database, settings: Settings, javascript: bool
) -> None:
    from tests.browser.conftest import PHONE

    districts = make_districts(db, ("Old Town", "Riverside"))
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    make_user(db, settings, "rosa@example.org", name="Rosa")
    make_user(db, settings, "sam@example.org", role=Role.STAFF, name="Sam")
    context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    login(page, "rosa@example.org")
    page.goto(f"/rounds/{round_id}")
    page.get_by_role("link", name="Propose a project").click()
    page.get_by_label("Title").fill("Benches on the river walk")
    page.get_by_label("Summary").fill("Ten benches between the mill and the marina.")
    page.get_by_label("Description").fill("Ten wooden benches, one every 100 metres.")
    page.get_by_label("The need it answers").fill("Older residents have nowhere to rest.")
    page.get_by_label("Estimated cost (EUR)").fill("12,000")
    page.get_by_label("Area").select_option(label="Riverside")
    page.get_by_role("button", name="Publish my proposal").click()
    expect(page.get_by_text("Thank you! Your proposal is published.")).to_be_visible()
    proposal_url = page.url
    logout(page)

    login(page, "sam@example.org")
    page.goto(proposal_url)
    page.get_by_label("Feasible cost (EUR)").fill("13,500")
    page.get_by_role("button", name="Accept", exact=True).click()
    review = page.locator("#review")
    review.get_by_text("€13,500.00").wait_for()
    assert "Accepted" in review.inner_text()

    page.goto(f"/rounds/{round_id}")
    ballot = page.locator("#projects-title").locator("..")
    assert "Benches on the river walk" in ballot.inner_text()
    assert "€13,500.00" in ballot.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
    assert errors == []
