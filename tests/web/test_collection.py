"""Collection through the web: the resident's payment page (QR code, details), staff close
pledging, import statements (camt.053, CSV with a column mapping), match by hand, record
town-hall payments, and compute, publish and download the match's funding bundle."""

from __future__ import annotations

import io
import re
from pathlib import Path
from string import Template

from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.audit.funding_verify import audit_funding_bundle
from pb.config import Settings
from pb.db import Database
from pb.models import BankLine, Pledge, PledgeState, Role, StatementImport
from pb.services import payments
from tests import frozen
from tests.collection_builders import Funding, close, make_funding
from tests.conftest import AuthActions, csrf_from

DATA = Path(__file__).resolve().parents[1] / "data" / "statements"


def garden(db: Database, settings: Settings, **kw: object) -> Funding:
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
        **kw,  # type: ignore[arg-type]
    )


def camt(f: Funding) -> bytes:
    refs = [payments.reference_for(i) for i in f.pledge_ids]
    text = Template((DATA / "camt053_v02.xml").read_text(encoding="utf-8")).substitute(
        REF_A=refs[0], REF_B_SPACED=payments.grouped(refs[1]).lower(), REF_C=refs[2]
    )
    return text.encode()


def staff_post(client: TestClient, auth: AuthActions, f: Funding, path: str, **kw: object) -> str:
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    data = {"csrf_token": token, **kw.pop("data", {})}  # type: ignore[dict-item]
    response = client.post(path, data=data, follow_redirects=False, **kw)  # type: ignore[arg-type]
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def test_payment_page_shows_a_scan_ready_qr_and_the_details(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings)
    auth.login(f.emails["marie"])
    page = client.get(f"/pledges/{f.pledge_ids[0]}/pay")
    assert page.status_code == 200
    assert "Nothing to pay yet" in page.text and "<svg" not in page.text
    close(db, f)
    mine = client.get("/pledges").text
    assert f'href="/pledges/{f.pledge_ids[0]}/pay">Pay: details and QR code</a>' in mine
    page = client.get(f"/pledges/{f.pledge_ids[0]}/pay").text
    reference = payments.grouped(payments.reference_for(f.pledge_ids[0]))
    assert "Scan with your banking app" in page
    assert re.search(r'<div class="qr qr-payment" role="img" aria-label="[^"]+"><svg', page)
    assert "FR76 3000 6000 0112 3456 7890 189" in page and "AGRIFRPP" in page
    assert f'<code class="reference">{reference}</code>' in page
    assert "€25.00" in page and "Ville de Bellevue" in page
    assert "What happens next" in page
    # Someone else's pledge does not exist for this resident.
    assert client.get(f"/pledges/{f.pledge_ids[1]}/pay").status_code == 404
    # A released pledge has nothing to pay.
    auth.logout()
    auth.login(f.emails["lucie"])
    assert "you owe nothing" in client.get(f"/pledges/{f.pledge_ids[3]}/pay").text


def test_payment_page_without_qr_outside_the_euro(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings, currency="CHF")
    close(db, f)
    auth.login(f.emails["marie"])
    page = client.get(f"/pledges/{f.pledge_ids[0]}/pay").text
    assert "<svg" not in page
    assert "the European payment QR code (EPC) carries euros only" in page
    assert payments.grouped(payments.reference_for(f.pledge_ids[0])) in page


def test_staff_close_import_match_and_record_payments(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings)
    auth.login_as(Role.STAFF)
    page = client.get(f"/funding/{f.call_id}/collection").text
    assert "Close pledging" in page
    page = staff_post(client, auth, f, f"/funding/{f.call_id}/close")
    assert "Campaigns that succeeded: 1; failed: 1. Backers asked to pay: 3;" in page
    assert "Import a bank statement" in page
    # The camt.053 sample: two paid, one partial, one to match by hand, one repeated line.
    page = staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/statements",
        files={"file": ("releve.xml", camt(f), "application/xml")},
    )
    assert "5 payment lines read. 2 pledges fulfilled. 1 partial payment." in page
    assert "1 line was already imported and is ignored: Marie Dupont €25.00" in page
    assert "Location salle des fetes novembre" in page and "No payment reference." in page
    assert "Partly paid pledges" in page and "€8.50 of €50.00" in page
    # Again: everything is a duplicate.
    page = staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/statements",
        files={"file": ("releve.xml", camt(f), "application/xml")},
    )
    assert "0 pledges fulfilled" in page and "5 lines were already imported" in page
    # The association's 50 € is matched by hand to paul's pledge: with 8.50 € it is paid.
    line_id = db.read_sync(
        lambda s: s.scalar(select(BankLine.id).where(BankLine.status == "unmatched"))
    )
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    bad = client.post(
        f"/funding/{f.call_id}/lines/{line_id}/match",
        data={"csrf_token": token, "pledge": "RF00 0000"},
    )
    assert bad.status_code == 422 and "No pledge of this call has this reference." in bad.text
    page = staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/lines/{line_id}/match",
        data={"pledge": payments.reference_for(f.pledge_ids[2])},
    )
    assert "The payment is matched and the pledge fulfilled." in page
    assert "No line waits to be matched." in page
    states = db.read_sync(lambda s: [s.get(Pledge, i).state for i in f.pledge_ids[:3]])
    assert states == [PledgeState.FULFILLED] * 3


def test_town_hall_payment_form(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings)
    close(db, f)
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    bad = client.post(
        f"/funding/{f.call_id}/payments",
        data={"csrf_token": token, "pay_pledge": str(f.pledge_ids[1]), "pay_amount": "4O"},
    )
    assert bad.status_code == 422 and "Enter an amount such as 25 or 25.50." in bad.text
    bad = client.post(
        f"/funding/{f.call_id}/payments",
        data={
            "csrf_token": token,
            "pay_pledge": str(f.pledge_ids[3]),
            "pay_amount": "30",
            "pay_channel": "cash",
        },
    )
    assert bad.status_code == 422 and "This pledge is not waiting for a payment." in bad.text
    page = staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/payments",
        data={"pay_pledge": str(f.pledge_ids[1]), "pay_amount": "40", "pay_channel": "card"},
    )
    assert "The payment is recorded and the pledge fulfilled." in page
    pledge = db.read_sync(lambda s: s.get(Pledge, f.pledge_ids[1]))
    assert (pledge.state, pledge.channel) == (PledgeState.FULFILLED, "card")


def test_csv_import_asks_for_the_columns_then_imports(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings)
    close(db, f)
    auth.login_as(Role.STAFF)
    raw = (DATA / "bank_fr_latin1.csv").read_bytes()
    raw = raw.replace(b"$REF_A", payments.reference_for(f.pledge_ids[0]).encode())
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    first = client.post(
        f"/funding/{f.call_id}/statements",
        data={"csrf_token": token},
        files={"file": ("export.csv", raw, "text/csv")},
    )
    assert first.status_code == 422
    assert "Say which column holds what, then import." in first.text
    assert '<option value="Libellé"' in first.text  # read as Latin-1
    carried = re.search(r'name="carried" value="([^"]+)"', first.text)
    assert carried
    page = staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/statements",
        data={
            "carried": carried.group(1),
            "carried_name": "export.csv",
            "col_amount": "Montant",
            "col_date": "Date opération",
            "col_text": "Libellé",
            "col_name": "Contrepartie",
            "decimal": "comma",
        },
    )
    assert "3 payment lines read. 1 pledge fulfilled." in page
    assert "2 lines to match by hand." in page


def test_bad_statement_changes_nothing(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings)
    close(db, f)
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    broken = camt(f).replace(b'<Amt Ccy="EUR">8.50</Amt>', b'<Amt Ccy="EUR">8,50</Amt>')
    response = client.post(
        f"/funding/{f.call_id}/statements",
        data={"csrf_token": token},
        files={"file": ("releve.xml", broken, "application/xml")},
    )
    assert response.status_code == 422
    assert "statement 1, entry 5 (Ntry): “8,50” is not an amount." in response.text
    counts = db.read_sync(
        lambda s: (
            s.scalar(select(func.count()).select_from(BankLine)),
            s.scalar(select(func.count()).select_from(StatementImport)),
        )
    )
    assert counts == (0, 0)


def test_compute_publish_and_download_the_bundle(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    f = garden(db, settings, collection_until=frozen.days(-2))
    close(db, f)
    auth.login_as(Role.STAFF)
    staff_post(
        client,
        auth,
        f,
        f"/funding/{f.call_id}/statements",
        files={"file": ("releve.xml", camt(f), "application/xml")},
    )
    page = staff_post(client, auth, f, f"/funding/{f.call_id}/matches/compute")
    assert "Draft: only staff can see this match" in page
    assert "Jardin partagé" in page and "€65.00" in page
    token = csrf_from(page)
    refused = client.post(f"/funding/{f.call_id}/publish", data={"csrf_token": token})
    assert refused.status_code == 422 and "Tick the box to confirm" in refused.text
    anonymous = TestClient(client.app)
    before = anonymous.get(f"/funding/{f.call_id}/matches")
    assert before.status_code == 200 and "The match is not published yet." in before.text
    assert "€65.00" not in before.text
    assert anonymous.get(f"/funding/{f.call_id}/bundle.zip").status_code == 404
    page = staff_post(client, auth, f, f"/funding/{f.call_id}/publish", data={"confirm": "yes"})
    assert "The match is published. It is final." in page
    public = anonymous.get(f"/funding/{f.call_id}/matches")
    assert public.status_code == 200 and "Download the funding bundle" in public.text
    bundle = anonymous.get(f"/funding/{f.call_id}/bundle.zip")
    assert bundle.headers["content-type"] == "application/zip"
    assert audit_funding_bundle(io.BytesIO(bundle.content)).ok
    # Published is final: no more imports.
    token = auth.csrf(f"/funding/{f.call_id}/collection")
    assert "published and final" in client.get(f"/funding/{f.call_id}/collection").text
