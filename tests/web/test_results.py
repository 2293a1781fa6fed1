"""Results through the web: staff count and publish; everyone reads them and how the winners
were chosen, downloads the bundle, and `pb audit` holds it (and catches tampering)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Role, VotingMethod
from pb.services import rounds, voting
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from

TODAY = frozen.TODAY


@pytest.fixture
def closed_round(db: Database) -> dict[str, object]:
    r = make_voting_round(
        db, method=VotingMethod.APPROVAL, rule="equalshares/add1", min_choices=None, max_choices=3
    )
    p = r["projects"]  # type: ignore[index]
    receipts = []
    for n in range(12):
        receipt = db.write_sync(
            voting.cast,
            r["round_id"],
            "citywide",
            "citywide",
            f"v{n}",
            {p["citywide"][n % 2]: 1, p["citywide"][2]: 1},
            "online",
            TODAY,
        )
        receipts.append(receipt.code)
    db.write_sync(rounds.advance_phase, None, r["round_id"], TODAY)
    return {**r, "receipts": receipts}


def test_staff_count_review_and_publish(
    client: TestClient, auth: AuthActions, closed_round: dict[str, object], tmp_path: Path
) -> None:
    rid = closed_round["round_id"]
    assert client.get(f"/rounds/{rid}/results").status_code == 404  # nothing public yet
    assert client.get(f"/rounds/{rid}/bundle.zip").status_code == 404
    auth.login_as(Role.STAFF)
    before = client.get(f"/rounds/{rid}/results")
    assert before.status_code == 200 and "The ballots have not been counted yet." in before.text
    token = csrf_from(before.text)
    draft = client.post(f"/rounds/{rid}/tally", data={"csrf_token": token})
    assert "Review the results, then publish them." in draft.text
    assert "Draft: only staff can see these results" in draft.text
    confirm = client.post(f"/rounds/{rid}/publish", data={"csrf_token": token})
    assert "Publish the results?" in confirm.text and "never be counted again" in confirm.text
    assert TestClient(client.app).get(f"/rounds/{rid}/results").status_code == 404
    published = client.post(f"/rounds/{rid}/publish", data={"csrf_token": token, "confirm": "yes"})
    assert "The results are published." in published.text
    hub = client.get(f"/rounds/{rid}/vote").text  # closed early: the phase, not the dates
    assert "Voting is closed." in hub and "It runs from" not in hub and "See the results" in hub
    again = client.post(f"/rounds/{rid}/tally", data={"csrf_token": token})
    assert "published and final" in again.text

    public = TestClient(client.app).get(f"/rounds/{rid}/results")
    html = public.text
    assert public.status_code == 200 and "Funded projects" in html
    assert "How the winners were chosen" in html
    assert "Every voter starts with an equal share of the budget" in html
    assert "supporters paid" in html
    assert "12 ballots were cast." in html and '<svg class="chart"' in html
    assert "<table>" in html and "Ballots by day" in html
    assert "Download the ballot bundle" in html

    bundle = TestClient(client.app).get(f"/rounds/{rid}/bundle.zip")
    assert bundle.headers["content-type"] == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle.content)
    ok = subprocess.run(
        [sys.executable, "-m", "pb.cli", "audit", str(path)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "All 6 checks hold." in ok.stdout

    # Tamper with one ballot of the published files: the audit fails and names it.
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    pb_file = members["districts/citywide.pb"].decode()
    receipt = closed_round["receipts"][0]  # type: ignore[index]
    line = next(x for x in pb_file.splitlines() if x.startswith(receipt))
    members["districts/citywide.pb"] = pb_file.replace(
        line, re.sub(r";[^;]*$", ";" + closed_round["projects"]["citywide"][0], line)
    ).encode()  # type: ignore[index]
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    bad = subprocess.run(
        [sys.executable, "-m", "pb.cli", "audit", str(tampered)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "districts/citywide.pb" in bad.stdout and receipt in bad.stdout


def test_receipt_shows_the_published_file(
    client: TestClient, auth: AuthActions, closed_round: dict[str, object]
) -> None:
    rid = closed_round["round_id"]
    code = closed_round["receipts"][3]  # type: ignore[index]
    token = csrf_from(client.get("/receipts").text)
    before = client.post("/receipts", data={"code": code, "csrf_token": token})
    assert "This ballot is in the ballot log." in before.text
    assert "published ballot files" not in before.text
    staff = TestClient(client.app)
    AuthActions(staff, auth.db, auth.settings).login_as(Role.STAFF)
    staff_token = csrf_from(staff.get(f"/rounds/{rid}/results").text)
    staff.post(f"/rounds/{rid}/tally", data={"csrf_token": staff_token})
    staff.post(f"/rounds/{rid}/publish", data={"csrf_token": staff_token, "confirm": "yes"})
    after = client.post("/receipts", data={"code": code, "csrf_token": token})
    assert "in the published ballot files: districts/citywide.pb" in after.text


def test_results_page_in_french(
    client: TestClient, auth: AuthActions, closed_round: dict[str, object], db: Database
) -> None:
    from pb.services import results

    rid = closed_round["round_id"]
    db.write_sync(results.tally_round, None, rid, TODAY)
    db.write_sync(results.publish, None, rid, TODAY)
    html = client.get(f"/rounds/{rid}/results", headers={"Accept-Language": "fr"}).text
    assert "Comment les projets retenus ont été choisis" in html
    # The city-wide ballot is named in the reader's language, not by the locked config's key name.
    assert "Toute la ville" in html and "City-wide" not in html
    document = json.loads(db.read_sync(lambda s: results.get_result(s, rid).results))
    assert document["format"] == "pb-results/1"
