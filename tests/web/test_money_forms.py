"""Money fields read the resident's locale, refuse what is ambiguous with the readings, and ask
to confirm an amount a factor of 1,000 away from the budgets, keeping what was typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import Proposal, ProposalStatus, Role
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from
from tests.web.test_proposals import proposal_form


@pytest.fixture
def districts(db: Database) -> list[int]:
    return make_districts(db)


def _propose(client: TestClient, round_id: int, lang: str, **fields: str) -> tuple[int, str]:
    headers = {"Accept-Language": lang}
    token = csrf_from(client.get(f"/rounds/{round_id}/proposals/new", headers=headers).text)
    response = client.post(
        f"/rounds/{round_id}/proposals",
        data={**proposal_form(**fields), "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    return response.status_code, response.text


def _costs(db: Database) -> list[int | None]:
    return db.read_sync(lambda s: list(s.scalars(select(Proposal.estimated_cost))))


def test_a_french_resident_s_4_500_50_is_read_in_french(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    status, _ = _propose(client, round_id, "fr", estimated_cost="4 500,50")
    assert status == 303
    assert _costs(db) == [4_500_50]


@pytest.mark.parametrize(("lang", "shown"), [("en", "€4,500.00"), ("fr", "4\u202f500,00\xa0€")])
def test_an_ambiguous_estimate_is_refused_with_both_readings_and_kept(
    client: TestClient,
    auth: AuthActions,
    db: Database,
    districts: list[int],
    lang: str,
    shown: str,
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    status, html = _propose(client, round_id, lang, estimated_cost="4.500")
    assert status == 422
    assert shown in html
    assert 'value="4.500"' in html
    assert _costs(db) == []


def test_an_estimate_a_thousand_times_too_small_asks_for_confirmation(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None)  # type: ignore[arg-type]
    auth.login_as(Role.RESIDENT)
    form = {"estimated_cost": "15.40", "district": str(districts[0])}
    status, html = _propose(client, round_id, "en", **form)
    assert status == 422
    assert "less than a thousandth of the budget of €100,000.00" in html
    assert 'name="confirm_estimated_cost" value="15.40"' in html
    assert 'value="15.40"' in html
    assert _costs(db) == []
    # a confirmation of another amount does not count
    status, _ = _propose(client, round_id, "en", **form, confirm_estimated_cost="15.41")
    assert status == 422
    status, _ = _propose(client, round_id, "en", **form, confirm_estimated_cost="15.40")
    assert status == 303
    assert _costs(db) == [15_40]


def test_a_staff_cost_of_15_400_in_english_is_refused_then_confirmed_when_tiny(
    client: TestClient, auth: AuthActions, db: Database, districts: list[int]
) -> None:
    round_id = make_round(db, districts, None, "review")  # type: ignore[arg-type]
    pid = make_proposal(db, round_id, None, "Bike lane")  # type: ignore[arg-type]
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/proposals/{pid}")

    def accept(cost: str, **extra: str) -> tuple[int, str]:
        response = client.post(
            f"/proposals/{pid}/review",
            data={"action": "accept", "feasible_cost": cost, "csrf_token": token, **extra},
            follow_redirects=False,
        )
        return response.status_code, response.text

    status, html = accept("15.400")
    assert status == 422
    assert "€15.40" in html and "€15,400.00" in html
    assert 'value="15.400"' in html
    status, html = accept("15.40")
    assert status == 422 and "less than a thousandth" in html
    assert db.read_sync(lambda s: s.get(Proposal, pid).status) is ProposalStatus.SUBMITTED
    status, _ = accept("15.40", confirm_feasible_cost="15.40")
    assert status == 303
    assert db.read_sync(lambda s: s.get(Proposal, pid).feasible_cost) == 15_40
    status, _ = accept("15,400")
    assert status == 303
    assert db.read_sync(lambda s: s.get(Proposal, pid).feasible_cost) == 15_400_00
