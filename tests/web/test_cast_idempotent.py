"""A lost acknowledgement costs no receipt: the same cast sent again (its answer was dropped
after the commit) gets the voter's receipt back, never someone else's (issue 16, item 1)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import BallotRecord, Eligibility, Role, VotingScope
from tests.builders import ballot_counts, make_voting_round
from tests.conftest import AuthActions, csrf_from

RECEIPT_RE = re.compile(r'<p class="receipt-code"><code>([0-9A-Z-]+)</code>')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def review(client: TestClient, rid: int, slot: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """Ask for the review page; return its cast form's fields, as the browser would send them."""
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    page = client.post(
        f"/rounds/{rid}/vote/{slot}",
        data={"csrf_token": token, "district": "citywide", "step": "review", **data},
    )
    assert page.status_code == 200 and "Cast my ballot" in page.text
    return [*HIDDEN_RE.findall(page.text), ("step", "cast")]


def post(client: TestClient, rid: int, slot: str, fields: list[tuple[str, str]]) -> Any:
    return client.post(
        f"/rounds/{rid}/vote/{slot}",
        content=urlencode(fields).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def drop_receipt_cookie(client: TestClient) -> None:
    for name in list(client.cookies.keys()):
        if "pb_receipt" in name:
            del client.cookies[name]


def receipts(db: Database, rid: int) -> list[str]:
    return db.read_sync(
        lambda s: list(
            s.scalars(
                select(BallotRecord.receipt).where(
                    BallotRecord.round_id == rid, BallotRecord.kind == "ballot"
                )
            )
        )
    )


def shown_receipt(client: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/receipt")
    page = client.get(response.headers["location"])
    match = RECEIPT_RE.search(page.text)
    assert match, page.text
    return match.group(1)


def test_a_cast_whose_answer_was_lost_gets_its_receipt_on_retry(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0], p[1]]})
    assert any(name == "cast_token" for name, _v in fields)
    first = post(client, rid, "citywide", fields)
    assert first.status_code == 303  # committed; the answer and its cookie never arrive
    drop_receipt_cookie(client)
    assert ballot_counts(db) == (1, 1)
    again = post(client, rid, "citywide", fields)
    code = shown_receipt(client, again)
    assert receipts(db, rid) == [code]  # the stored ballot's own code, drawn at review
    assert ballot_counts(db) == (1, 1)
    # And again, any number of times: still that receipt, still one ballot.
    drop_receipt_cookie(client)
    assert shown_receipt(client, post(client, rid, "citywide", fields)) == code
    # The same choices with a tampered token or none: refused (the review page of a voter
    # who has voted is refused too, so no fresh token can be had).
    tampered = [(k, v[:-2] + "xx" if k == "cast_token" else v) for k, v in fields]
    assert post(client, rid, "citywide", tampered).status_code == 409
    bare = [(k, v) for k, v in fields if k != "cast_token"]
    assert post(client, rid, "citywide", bare).status_code == 409
    # A different ballot from a voter who has voted (changed choices under the same token):
    # refused, and no receipt shown.
    changed = [(k, v) for k, v in fields if k != "p"] + [("p", p[2])]
    refused = post(client, rid, "citywide", changed)
    assert refused.status_code == 409 and code not in refused.text
    assert ballot_counts(db) == (1, 1)


def test_a_token_replayed_by_another_voter_reveals_nothing(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    fields = review(client, rid, "citywide", {"p": [p[0]]})
    code = shown_receipt(client, post(client, rid, "citywide", fields))
    # Another voter, who has voted the same way, sends the first voter's form: 409.
    other = TestClient(client.app)
    AuthActions(other, db, settings).login_as(Role.RESIDENT)
    token = csrf_from(other.get(f"/rounds/{rid}/vote").text)
    mine = review(other, rid, "citywide", {"p": [p[0]]})
    assert shown_receipt(other, post(other, rid, "citywide", mine)) != code
    stolen = [("csrf_token", token) if k == "csrf_token" else (k, v) for k, v in fields]
    refused = post(other, rid, "citywide", stolen)
    assert refused.status_code == 409 and code not in refused.text
    # A third voter who has not voted casts with it: a ballot of their own, a new code.
    third = TestClient(client.app)
    AuthActions(third, db, settings).login_as(Role.RESIDENT)
    token = csrf_from(third.get(f"/rounds/{rid}/vote").text)
    stolen = [("csrf_token", token) if k == "csrf_token" else (k, v) for k, v in fields]
    assert shown_receipt(third, post(third, rid, "citywide", stolen)) != code
    assert len(set(receipts(db, rid))) == 3


def test_access_code_voter_retry_gets_the_receipt(
    client: TestClient, db: Database, settings: Settings
) -> None:
    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    staff = TestClient(client.app)
    AuthActions(staff, db, settings).login_as(Role.STAFF)
    token = csrf_from(staff.get(f"/rounds/{rid}/voters").text)
    letters = staff.post(f"/rounds/{rid}/codes", data={"count": "1", "csrf_token": token})
    (access,) = re.findall(r'<code class="receipt-code">([0-9A-Z-]+)</code>', letters.text)
    token = csrf_from(client.get(f"/rounds/{rid}/vote").text)
    proved = client.post(
        f"/rounds/{rid}/vote/code",
        data={"code": access, "csrf_token": token},
        follow_redirects=False,
    )
    assert proved.status_code == 303
    fields = review(client, rid, "citywide", {"p": [r["projects"]["citywide"][1]]})
    assert post(client, rid, "citywide", fields).status_code == 303
    drop_receipt_cookie(client)
    code = shown_receipt(client, post(client, rid, "citywide", fields))
    assert receipts(db, rid) == [code] and ballot_counts(db) == (1, 1)


def test_a_cast_whose_connection_dropped_after_commit_is_retried_by_the_server(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    """The commit went through but the connection was lost before the answer: the outcome is
    unknown to the server, which sends the idempotent cast again and finds it in the log."""
    r = make_voting_round(db)
    rid, p = r["round_id"], r["projects"]["citywide"]
    auth.login_as(Role.RESIDENT)
    batcher = client.app.state.pb.ballots  # type: ignore[attr-defined]
    real = batcher.submit
    calls = []

    async def lost_after_commit(item: Any) -> Any:
        calls.append(item)
        outcome = await real(item)
        if len(calls) == 1:
            raise OperationalError(
                "COMMIT", {}, Exception("server closed the connection"), connection_invalidated=True
            )
        return outcome

    batcher.submit = lost_after_commit
    fields = review(client, rid, "citywide", {"p": [p[1]]})
    code = shown_receipt(client, post(client, rid, "citywide", fields))
    assert len(calls) == 2 and receipts(db, rid) == [code] and ballot_counts(db) == (1, 1)
