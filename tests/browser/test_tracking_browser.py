"""On a phone: a resident follows a funded project, a project's lead adds a milestone's photo,
a resident checks what became of the projects on their ballot and reads the round's impact
page (charts keep their size from 320 to 1920 px)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from pb.config import Settings
from pb.db import Database
from pb.models import Indicator, ProjectStatus, User
from pb.services import demo_photos
from pb.services.tracking import impact, projects
from pb.services.tracking.projects import Editor
from tests import frozen
from tests.conftest import make_user
from tests.tracking_builders import mailing, published_round

pytestmark = pytest.mark.browser

# Where the screenshots for the closing note go (a folder that exists on the build machine).
SHOTS = Path(os.environ.get("PB_TEST_SHOTS", "/work/briefs/shots"))


def login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def shot(page: Any, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"track-{name}.png"), full_page=True)


def reported(db: Database, settings: Settings) -> dict[str, Any]:
    """A published round whose first project is under way, with money spent and impact."""
    r = published_round(db)
    staff = Editor(make_user(db, settings, "staff@example.org"), staff=True)
    mail = mailing(settings.secret_key)
    card = r["cards"][r["projects"]["citywide"][0]]
    other = r["cards"][r["projects"]["north"][0]]

    def report(s: Any) -> None:
        trees = s.scalar(select(Indicator.id).where(Indicator.name == "Trees planted"))
        people = s.scalar(select(Indicator.id).where(Indicator.name == "People reached"))
        done = projects.add_milestone(s, staff, card, "Trees ordered", frozen.days(-20), mail)
        day = frozen.days(-18)
        projects.complete_milestone(s, staff, done.id, day, "Oak and lime.", frozen.TODAY, mail)
        projects.add_milestone(s, staff, card, "Planting day", frozen.days(25), mail)
        projects.set_status(s, staff, card, ProjectStatus.IN_PROGRESS, "", mail)
        line = projects.lines_of(s, card)[0]
        projects.set_spent(s, staff, line.id, line.approved // 3, mail)
        projects.set_status(s, staff, other, ProjectStatus.DELAYED, "Permit pending.", mail)
        for project, indicator, target, value in (
            (card, trees, 12, 5),
            (other, trees, 8, 8),
            (card, people, 900, 420),
        ):
            row = impact.add_project_indicator(s, staff, project, indicator, "", "", 0, target)
            impact.add_measurement(
                s, staff, row.id, frozen.TODAY, value, "Count", frozen.TODAY, mail
            )

    db.write_sync(report)
    return {**r, "card": card}


def test_follow_a_project(phone: Any, db: Database, settings: Settings) -> None:
    r = reported(db, settings)
    make_user(db, settings, "fan@example.org")
    login(phone, "fan@example.org")
    phone.goto(f"/rounds/{r['round_id']}/results")
    phone.get_by_role("link", name="citywide project 0").click()
    expect(phone.get_by_role("heading", name="citywide project 0")).to_be_visible()
    expect(phone.get_by_text("In progress").first).to_be_visible()
    phone.get_by_role("button", name="Follow this project").click()
    expect(
        phone.get_by_text("You follow this project: each update comes to you by mail.")
    ).to_be_visible()
    expect(phone.get_by_role("button", name="Stop following")).to_be_visible()
    followers = db.read_sync(
        lambda s: s.scalar(select(User.id).where(User.email == "fan@example.org"))
    )
    assert followers is not None
    shot(phone, "card")


def test_lead_adds_a_photo_of_a_milestone(phone: Any, db: Database, settings: Settings) -> None:
    """The project's lead, on a phone: a picture of the reached milestone, from the progress
    page, then shown on the public card."""
    r = reported(db, settings)
    make_user(db, settings, "lead@example.org")
    staff = db.read_sync(
        lambda s: s.scalar(select(User.id).where(User.email == "staff@example.org"))
    )
    db.write_sync(projects.appoint_lead, staff, r["card"], "lead@example.org")
    login(phone, "lead@example.org")
    phone.goto(f"/projects/{r['card']}/manage")
    milestone = phone.locator(".milestone").filter(
        has=phone.get_by_role("heading", name="Trees ordered")
    )
    milestone.get_by_label("Add a photo of this milestone").set_input_files(
        {"name": "trees.png", "mimeType": "image/png", "buffer": demo_photos.scene(7)}
    )
    milestone.get_by_label("Describe the photo").fill("Young oaks in their pots")
    milestone.get_by_role("button", name="Add the photo").click()
    expect(phone.get_by_text("The photo is added.")).to_be_visible()
    phone.goto(f"/projects/{r['card']}")
    picture = phone.get_by_role("img", name="Young oaks in their pots")
    expect(picture).to_be_visible()
    picture.scroll_into_view_if_needed()
    phone.wait_for_function(
        "alt => [...document.images].some(i => i.alt === alt && i.complete && i.naturalWidth > 0)",
        arg="Young oaks in their pots",
    )
    # The stored photo is wider than a phone (up to 1280 px): it shrinks to the page.
    assert int(picture.get_attribute("width")) > 360  # its stored size, in the markup
    assert picture.bounding_box()["width"] <= 360
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    shot(phone, "milestone-photo")


def test_check_a_receipts_projects(phone: Any, db: Database, settings: Settings) -> None:
    r = reported(db, settings)
    phone.goto("/receipts")
    phone.get_by_label("Receipt code").fill(r["receipts"][-1])
    phone.get_by_role("button", name="Check").click()
    phone.get_by_role("link", name="What happened to the projects on this ballot?").click()
    phone.get_by_label("Receipt code").fill(r["receipts"][-1])
    phone.get_by_role("button", name="Show the projects").click()
    expect(phone.get_by_role("link", name="citywide project 0")).to_be_visible()
    expect(phone.get_by_text("Not funded by the vote.")).to_be_visible()
    expect(phone.get_by_text("In progress").first).to_be_visible()
    shot(phone, "ballot")


SIZES = (
    "Array.from(document.querySelectorAll('svg.chart'))"
    ".map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])"
)


def test_read_the_impact_page(phone: Any, db: Database, settings: Settings) -> None:
    r = reported(db, settings)
    phone.goto(f"/rounds/{r['round_id']}")
    phone.get_by_role("link", name="Social impact").click()
    expect(phone.get_by_role("heading", name="Social impact")).to_be_visible()
    expect(
        phone.get_by_role("img", name="Progress to target of the round's indicators, in percent")
    ).to_be_visible()
    table = phone.get_by_role("table").first
    expect(table.get_by_role("cell", name="Trees planted")).to_be_visible()
    expect(table.get_by_role("cell", name="13 trees")).to_be_visible()
    shot(phone, "impact")
    for width in (320, 360, 1280, 1920):
        phone.set_viewport_size({"width": width, "height": 900})
        sizes = phone.evaluate(SIZES)
        assert len(sizes) == 3, sizes  # the round's, and two projects'
        for w, h in sizes:
            assert 0 < w <= 304 and 0 < h <= 3 * 36 + 4, (width, sizes)
