"""On a phone: a backer's payment page shows a QR code that a scanner reads as the right EPC
payment; staff close pledging, import a camt.053 statement, publish the match, and the funding
bundle downloaded from the page passes `pb audit`; the call's funded project is then listed
and its card reached from the call and the campaign."""

from __future__ import annotations

import io
from pathlib import Path
from string import Template
from typing import Any

import pytest
from playwright.sync_api import expect

from pb.audit.funding_verify import audit_funding_bundle
from pb.config import Settings
from pb.db import Database
from pb.models import Pledge, PledgeState, Role
from pb.services import payments
from tests import frozen
from tests.collection_builders import Funding, close, make_funding
from tests.conftest import make_user

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"


def login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def garden(db: Database, settings: Settings) -> Funding:
    return make_funding(
        db,
        settings,
        campaigns_spec=[("Jardin partagé", 100_00, 200_00), ("Banc public", 300_00, None)],
        pledges_spec=[
            ("marie", 0, 25_00, True),
            ("jean", 0, 40_00, True),
            ("paul", 0, 50_00, True),
            ("lucie", 1, 30_00, True),
        ],
        collection_until=frozen.days(-2),
    )


def test_payment_page_qr_code_scans_as_the_payment(
    phone: Any, db: Database, settings: Settings
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    f = garden(db, settings)
    close(db, f)
    login(phone, f.emails["marie"])
    phone.goto(f"/pledges/{f.pledge_ids[0]}/pay")
    expect(phone.get_by_role("heading", name="Scan with your banking app")).to_be_visible()
    qr = phone.get_by_role("img", name="Payment QR code")
    expect(qr).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    box = qr.bounding_box()
    assert box["width"] >= 200  # large enough for another phone's camera
    found = zxingcpp.read_barcodes(image.open(io.BytesIO(qr.screenshot())))
    assert len(found) == 1
    lines = found[0].text.split("\n")
    reference = payments.reference_for(f.pledge_ids[0])
    # EPC069-12: service tag, version, character set (2: ISO 8859-1), SEPA credit transfer,
    # BIC, name, IBAN, amount, purpose (none), structured reference.
    assert lines == [
        "BCD",
        "002",
        "2",
        "SCT",
        "AGRIFRPP",
        "Ville de Bellevue",
        "FR7630006000011234567890189",
        "EUR25",
        "",
        reference,
    ]
    expect(phone.get_by_text(payments.grouped(reference), exact=True)).to_be_visible()


def test_staff_import_a_statement_and_publish_the_match(
    browser: Any, live_server: str, db: Database, settings: Settings, tmp_path: Path
) -> None:
    from tests.browser.conftest import PHONE

    f = garden(db, settings)
    make_user(db, settings, "sam@example.org", role=Role.STAFF)
    context = browser.new_context(base_url=live_server, accept_downloads=True, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "sam@example.org")
    page.goto(f"/funding/{f.call_id}/collection")
    page.get_by_role("button", name="Close pledging").click()
    expect(page.get_by_text("Campaigns that succeeded: 1; failed: 1.")).to_be_visible()

    refs = [payments.reference_for(i) for i in f.pledge_ids]
    statement = Template((DATA / "camt053_v02.xml").read_text(encoding="utf-8")).substitute(
        REF_A=refs[0], REF_B_SPACED=payments.grouped(refs[1]).lower(), REF_C=refs[2]
    )
    path = tmp_path / "releve-2026-12-02.xml"
    path.write_text(statement, encoding="utf-8")
    page.get_by_label("Statement file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("2 pledges fulfilled. 1 partial payment.")).to_be_visible()
    expect(page.get_by_text("1 line was already imported and is ignored")).to_be_visible()
    # The hall rent is not a pledge: set it aside.
    page.get_by_role("button", name="Set aside: pays no pledge").click()
    expect(page.get_by_text("No line waits to be matched.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name="The match: draft and publication").click()
    page.get_by_role("button", name="Compute the match").click()
    expect(page.get_by_text("Review it, then publish it.")).to_be_visible()
    page.get_by_label("I have reviewed the match.").check()
    page.get_by_role("button", name="Publish the match").click()
    expect(page.get_by_text("The match is published. It is final.")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the funding bundle").click()
    bundle = tmp_path / "funding.zip"
    info.value.save_as(bundle)
    report = audit_funding_bundle(str(bundle))
    assert report.ok
    # The call belongs to no round: its own list leads to the funded project's card and back.
    page.goto(f"/funding/{f.call_id}")
    page.get_by_role("link", name="The 1 project it funded, and how far it is").click()
    expect(page.get_by_role("heading", name="Funded projects", exact=True)).to_be_visible()
    expect(page.get_by_text("Progress: 0%")).to_be_visible()
    page.get_by_role("link", name="Jardin partagé").click()
    expect(page.get_by_role("heading", name="Jardin partagé")).to_be_visible()
    page.get_by_role("link", name="The campaign").click()
    page.get_by_role("link", name="Funded: follow the project's progress").click()
    page.get_by_role("button", name="Follow this project").click()
    expect(page.get_by_text("You follow this project.")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
    assert errors == []
    paul = db.read_sync(lambda s: s.get(Pledge, f.pledge_ids[2]).state)
    assert paul is PledgeState.CANCELLED  # 8.50 € of 50 €, never completed
