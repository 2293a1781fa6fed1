"""Residents propose, discuss and endorse; staff review; htmx updates in place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import AuditEvent, Comment, Endorsement, Proposal, ProposalStatus, Role, User
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from


def proposal_form(**overrides: str) -> dict[str, str]:
    form = {
        "title": "Shade trees on the square",
        "summary": "Twelve trees and benches.",
        "description": "Plant twelve trees.\n\nAdd benches.",
        "need": "Too hot in summer.",
        "beneficiaries": "Everyone",
        "partners": "Garden club",
        "estimated_cost": "12,500.50",
        "district": "citywide",
        "category": "",
        "place": "Market Square",
    }
    form.update(overrides)
    return form


@pytest.fixture
def districts(db: Database) -> list[int]:
    return make_districts(db)


def user_id(db: Database, email: str) -> int:
    return db.read_sync(lambda s: s.scalar(select(User.id).where(User.email == email)))


def test_resident_proposes_and_reads_it_back(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get(f"/rounds/{round_id}/proposals/new").text)
    response = client.post(
        f"/rounds/{round_id}/proposals",
        data={**proposal_form(district=str(districts[0])), "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Shade trees on the square" in page.text and "€12,500.50" in page.text
    assert "North" in page.text
    p = db.read_sync(lambda s: s.scalars(select(Proposal)).one())
    assert p.estimated_cost == 12_500_50 and p.status is ProposalStatus.SUBMITTED


def test_markup_is_rendered_inert(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get(f"/rounds/{round_id}/proposals/new").text)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = client.post(
        f"/rounds/{round_id}/proposals",
        data={**proposal_form(title=evil[:120], description=evil, need=evil), "csrf_token": token},
    )
    assert response.status_code == 200
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    listing = client.get(f"/rounds/{round_id}/proposals").text
    assert "<script>alert" not in listing and "&lt;script&gt;" in listing


def test_bad_proposal_gets_messages_and_nothing_is_stored(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = csrf_from(client.get(f"/rounds/{round_id}/proposals/new").text)
    response = client.post(
        f"/rounds/{round_id}/proposals",
        data={
            **proposal_form(title="", summary="x" * 301, estimated_cost="a lot", district="999"),
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert "Enter an amount" in response.text
    response = client.post(
        f"/rounds/{round_id}/proposals",
        data={**proposal_form(title="", summary="x" * 301, district="999"), "csrf_token": token},
    )
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Use at most 300 characters." in response.text
    assert "among this round" in response.text
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Proposal))) == 0


def test_proposals_only_during_the_proposal_phase(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None, "review")  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = auth.csrf(f"/rounds/{round_id}")
    response = client.post(
        f"/rounds/{round_id}/proposals", data={**proposal_form(), "csrf_token": token}
    )
    assert response.status_code == 422 and "not taking proposals" in response.text


def test_author_edits_until_review_starts(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int], settings: Settings
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    email = auth.login_as(Role.RESIDENT)
    pid = make_proposal(db, round_id, user_id(db, email))
    form = client.get(f"/proposals/{pid}/edit")
    assert form.status_code == 200
    data = {**proposal_form(title="Shade trees, revised"), "csrf_token": csrf_from(form.text)}
    assert (
        client.post(f"/proposals/{pid}/edit", data=data, follow_redirects=False).status_code == 303
    )
    assert db.read_sync(lambda s: s.get(Proposal, pid).title) == "Shade trees, revised"
    # Somebody else may not edit it.
    other = TestClient(client.app)
    AuthActions(other, db, settings).login_as(Role.RESIDENT)
    assert other.get(f"/proposals/{pid}/edit").status_code == 403
    response = other.post(
        f"/proposals/{pid}/edit",
        data={**proposal_form(title="Hijacked"), "csrf_token": csrf_from(other.get("/").text)},
    )
    assert response.status_code == 403
    assert db.read_sync(lambda s: s.get(Proposal, pid).title) == "Shade trees, revised"


def test_filters_search_and_htmx_fragment(
    client: TestClient, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    make_proposal(db, round_id, None, "Shade trees", district_id=districts[0])  # type: ignore[arg-type]
    make_proposal(
        db,
        round_id,
        None,
        "Bike lane",
        district_id=districts[1],  # type: ignore[arg-type]
        status=ProposalStatus.ACCEPTED,
        feasible_cost=5_00,
    )
    make_proposal(db, round_id, None, "Night bus 100%")  # type: ignore[arg-type]
    base = f"/rounds/{round_id}/proposals"
    assert "3 proposals" in client.get(base).text
    by_district = client.get(f"{base}?district={districts[1]}").text
    assert "Bike lane" in by_district and "Shade trees" not in by_district
    assert "Night bus" in client.get(f"{base}?district=citywide").text
    accepted = client.get(f"{base}?status=accepted").text
    assert "Bike lane" in accepted and "Night bus" not in accepted
    searched = client.get(f"{base}?q=SHADE").text
    assert "Shade trees" in searched and "Bike lane" not in searched
    assert "1 proposal" in client.get(f"{base}?q=100%25").text
    fragment = client.get(f"{base}?q=bike", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="proposal_list"')
    assert "<html" not in fragment.text and "Bike lane" in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    assert "Accept-Language" in fragment.headers["vary"]
    boosted = client.get(base, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text


def test_comment_and_hide(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int], settings: Settings
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    pid = make_proposal(db, round_id, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = auth.csrf(f"/proposals/{pid}")
    empty = client.post(
        f"/proposals/{pid}/comments",
        data={"body": "  ", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert empty.status_code == 422 and "Write a comment first." in empty.text
    posted = client.post(
        f"/proposals/{pid}/comments",
        data={"body": "Great idea <b>!</b>", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert posted.status_code == 200
    assert posted.text.lstrip().startswith('<section id="comments"')
    assert "Great idea &lt;b&gt;!&lt;/b&gt;" in posted.text
    comment_id = db.read_sync(lambda s: s.scalar(select(Comment.id)))
    staff = TestClient(client.app)
    AuthActions(staff, db, settings).login_as(Role.STAFF)
    staff_token = csrf_from(staff.get(f"/proposals/{pid}").text)
    page = staff.post(
        f"/comments/{comment_id}/hide", data={"reason": "Off topic", "csrf_token": staff_token}
    )
    assert "Comment hidden by staff: Off topic" in page.text
    assert "Great idea" not in client.get(f"/proposals/{pid}").text
    event = db.read_sync(
        lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "comment.hide")).one()
    )
    assert event.before == {"body": "Great idea <b>!</b>"}


def test_one_endorsement_each_even_when_simultaneous(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    pid = make_proposal(db, round_id, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    token = auth.csrf(f"/proposals/{pid}")

    def endorse(_: int) -> int:
        return client.post(
            f"/proposals/{pid}/endorse", data={"csrf_token": token}, headers={"HX-Request": "true"}
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(endorse, range(16)))
    assert set(codes) <= {200}, codes
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Endorsement))) == 1
    assert "1 endorsement" in client.get(f"/proposals/{pid}").text
    assert "You endorse this proposal." in client.get(f"/proposals/{pid}").text


def test_staff_review_actions_are_audited(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None, "review")  # type: ignore[arg-type]
    kept = make_proposal(db, round_id, None, "Bike lane")  # type: ignore[arg-type]
    dup = make_proposal(db, round_id, None, "Cycle path")  # type: ignore[arg-type]
    bad = make_proposal(db, round_id, None, "Moon base")  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/proposals/{kept}")
    hx = {"HX-Request": "true"}
    no_cost = client.post(
        f"/proposals/{kept}/review",
        data={"action": "accept", "feasible_cost": "", "csrf_token": token},
        headers=hx,
    )
    assert no_cost.status_code == 422 and "Enter the feasible cost." in no_cost.text
    accepted = client.post(
        f"/proposals/{kept}/review",
        data={"action": "accept", "feasible_cost": "15,000", "csrf_token": token},
        headers=hx,
    )
    assert accepted.text.lstrip().startswith('<section id="review"')
    assert "Accepted" in accepted.text and "€15,000.00" in accepted.text
    client.post(
        f"/proposals/{dup}/review", data={"action": "merge", "into": str(kept), "csrf_token": token}
    )
    client.post(
        f"/proposals/{bad}/review",
        data={"action": "reject", "reason": "Not on town land.", "csrf_token": token},
    )
    client.post(
        f"/proposals/{kept}/review",
        data={
            "action": "reassign",
            "district": str(districts[1]),
            "category": "",
            "csrf_token": token,
        },
    )
    merged_page = client.get(f"/proposals/{dup}").text
    assert "merged into another one" in merged_page and f'href="/proposals/{kept}"' in merged_page
    assert "Not on town land." in client.get(f"/proposals/{bad}").text
    round_page = client.get(f"/rounds/{round_id}").text
    assert "Projects on the ballot" in round_page and "Bike lane" in round_page
    assert "South" in round_page and "Moon base" not in round_page
    events = db.read_sync(
        lambda s: [
            (e.action, e.before, e.after)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("proposal.%"))
                .order_by(AuditEvent.id)
            )
        ]
    )
    assert [e[0] for e in events] == [
        "proposal.accept",
        "proposal.merge",
        "proposal.reject",
        "proposal.reassign",
    ]
    assert events[0][1]["status"] == "submitted" and events[0][2]["feasible_cost"] == 15_000_00
    assert events[3][2]["district_id"] == districts[1]
    audit_page = TestClient(client.app)
    AuthActions(audit_page, db, auth.settings).login_as(Role.ADMIN)
    assert "proposal.reassign" in audit_page.get("/admin/audit").text


def test_review_is_refused_once_voting_opens(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None, "voting")  # type: ignore[arg-type]
    pid = make_proposal(db, round_id, None)  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    response = client.post(
        f"/proposals/{pid}/review",
        data={
            "action": "accept",
            "feasible_cost": "100",
            "csrf_token": auth.csrf(f"/proposals/{pid}"),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "projects on the ballot are locked" in response.text
    assert db.read_sync(lambda s: s.get(Proposal, pid).status) is ProposalStatus.SUBMITTED
