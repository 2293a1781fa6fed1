"""The auditors' tool on the web: pb serves ``pb-audit.pyz`` and every published results page
prints its SHA-256 beside the download link and the command to run, never ``pip install``."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from pb import auditool
from pb.db import Database
from pb.models import Role, VotingMethod
from pb.services import rounds, voting
from tests import frozen
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from


def test_pb_serves_the_zipapp(client: TestClient, tmp_path: Path) -> None:
    response = client.get("/audit/pb-audit.pyz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="pb-audit.pyz"'
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.content == auditool.build().data
    assert response.headers["etag"] == f'"{digest}"'
    # The file it serves runs.
    path = tmp_path / "pb-audit.pyz"
    path.write_bytes(response.content)
    version = subprocess.run(
        [sys.executable, "-I", path, "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert version.returncode == 0 and version.stdout.startswith("pb-audit ")
    again = client.get("/audit/pb-audit.pyz", headers={"if-none-match": f'"{digest}"'})
    assert again.status_code == 304 and again.content == b""


def test_a_published_results_page_gives_the_tool_and_its_digest(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db, method=VotingMethod.APPROVAL, rule="greedy", max_choices=2)
    project = r["projects"]["citywide"][0]
    db.write_sync(
        voting.cast,
        r["round_id"],
        "citywide",
        "citywide",
        "v1",
        {project: 1},
        "online",
        frozen.TODAY,
    )
    db.write_sync(rounds.advance_phase, None, r["round_id"], frozen.TODAY)
    rid = r["round_id"]
    auth.login_as(Role.STAFF)
    token = csrf_from(client.get(f"/rounds/{rid}/results").text)
    draft = client.post(f"/rounds/{rid}/tally", data={"csrf_token": token})
    assert "pb-audit.pyz" not in draft.text  # nothing to audit before publication
    published = client.post(f"/rounds/{rid}/publish", data={"csrf_token": token, "confirm": "yes"})
    assert "The results are published." in published.text

    for locale, phrase in (("en", "Its SHA-256:"), ("fr", "Son empreinte SHA-256 :")):
        html = TestClient(client.app).get(
            f"/rounds/{rid}/results", headers={"accept-language": locale}
        )
        text = html.text
        assert html.status_code == 200
        assert 'href="/audit/pb-audit.pyz"' in text
        assert (
            f'<code class="fingerprint" id="audit-tool-sha256">{auditool.build().sha256}</code>'
            in text
        )
        assert phrase in text
        assert f"python3 pb-audit.pyz audit pb-round-{rid}-bundle.zip" in text
        assert "python3 -m pb.auditool pb-audit.pyz" in text
        assert "pip install" not in text
