"""Request bodies are limited per route before anything parses them: a login form is small,
a census file may be large; past the limit the answer is 413 with a clear page."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Eligibility, Role
from pb.web.routing import FORM_BODY
from pb.web.views.voters import MAX_UPLOAD
from tests.builders import make_voting_round
from tests.conftest import AuthActions, csrf_from

MiB = 1024 * 1024


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A streamed body (no Content-Length: chunked), never held whole by the test."""
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    yield head
    sent = len(head)
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def test_a_large_form_is_refused_before_the_csrf_check(client: TestClient) -> None:
    body = b"email=a%40b.org&password=" + b"x" * FORM_BODY  # just past the limit, no token
    response = client.post(
        "/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413  # not 403: nothing was parsed
    assert "Too large" in response.text and "larger than this page accepts" in response.text
    small = client.post("/login", data={"email": "a@b.org", "password": "x"})
    assert small.status_code == 403  # within the limit: the CSRF check refuses it


def test_a_streamed_multipart_body_is_cut_off(client: TestClient) -> None:
    response = client.post(
        "/login",
        content=_chunks(4 * MiB),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413


def test_the_census_upload_takes_more_than_a_form(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    rid = make_voting_round(db, eligibility=Eligibility.CENSUS)["round_id"]
    auth.login_as(Role.STAFF)
    token = csrf_from(client.get(f"/rounds/{rid}/voters").text)
    rows = "".join(f"ID-{n:07d},75001\n" for n in range(20_000))  # 340 KiB
    assert len(rows) > FORM_BODY
    response = client.post(
        f"/rounds/{rid}/census",
        data={"csrf_token": token},
        files={"file": ("census.csv", "identifier,proof\n" + rows, "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    too_big = client.post(
        f"/rounds/{rid}/census",
        content=_chunks(MAX_UPLOAD + FORM_BODY + MiB),
        headers={"content-type": "multipart/form-data; boundary=b", "x-csrf-token": token},
    )
    assert too_big.status_code == 413
