"""Crowdfunding through the web: staff set up a call, residents browse, pledge (once per form,
with a live estimate), change, cancel, sign up for tasks and read "My pledges"."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.config import Settings
from pb.db import Database
from pb.models import (
    AuditEvent,
    Campaign,
    CostItem,
    FundingCall,
    OutboxMail,
    Pledge,
    PledgeState,
    ProposalStatus,
    Role,
    TaskSignup,
    VolunteerTask,
)
from pb.services.funding import tasks
from tests import frozen
from tests.builders import make_districts, make_proposal, make_round
from tests.conftest import AuthActions, csrf_from, make_user
from tests.funding_builders import IBAN, make_call, make_campaign, make_task, pledge

KEY_RE = re.compile(r'name="key" value="([^"]+)"')


def count(db: Database, model: type) -> int:
    return int(db.read_sync(lambda s: s.scalar(select(func.count()).select_from(model))))


def pledge_form(client: TestClient, campaign_id: int) -> tuple[str, str]:
    page = client.get(f"/campaigns/{campaign_id}").text
    match = KEY_RE.search(page)
    assert match, "no idempotency key in the pledge form"
    return csrf_from(page), match.group(1)


def call_form(**overrides: str) -> dict[str, str]:
    return {
        "title": "Summer fund",
        "description": "Matched by the council.",
        "round_id": "",
        "currency": "EUR",
        "pool": "5 000",
        "rule": "capped",
        "per_pledge_cap": "50",
        "per_resident_cap": "",
        "per_project_cap": "1 000",
        "eligibility": "account",
        "pledging_from": frozen.days(3).isoformat(),
        "pledging_until": frozen.days(20).isoformat(),
        "collection_until": frozen.days(40).isoformat(),
        "creditor_name": "Ville de Testville",
        "iban": IBAN,
        "bic": "AGRIFRPP",
        **overrides,
    }


def test_staff_set_up_a_call_with_a_campaign_from_an_unfunded_proposal(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    auth.login_as(Role.STAFF)
    rid = make_round(db, make_districts(db), None)  # type: ignore[arg-type]
    proposal = make_proposal(
        db,
        rid,
        None,
        "Benches",
        status=ProposalStatus.ACCEPTED,
        feasible_cost=800_00,  # type: ignore[arg-type]
    )
    token = auth.csrf("/funding/new")
    bad = client.post(
        "/funding", data={**call_form(iban="FR00 1234", pool="lots"), "csrf_token": token}
    )
    assert bad.status_code == 422 and "Enter an amount" in bad.text
    bad = client.post("/funding", data={**call_form(iban="FR00 1234"), "csrf_token": token})
    assert bad.status_code == 422 and "This IBAN is not valid" in bad.text
    assert count(db, FundingCall) == 0
    made = client.post(
        "/funding",
        data={**call_form(round_id=str(rid)), "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    call_url = made.headers["location"]
    page = client.get(call_url).text
    assert "Summer fund" in page and "Benches" in page and "At most €50.00 per pledge." in page
    assert "/funding/" in client.get(f"/rounds/{rid}").text  # the round links to its call
    call_id = int(call_url.rsplit("/", 1)[1])
    form = client.get(f"/funding/{call_id}/campaigns/new?proposal={proposal}").text
    assert 'value="Benches"' in form and 'value="800"' in form
    made = client.post(
        f"/funding/{call_id}/campaigns",
        data={
            "csrf_token": token,
            "proposal_id": str(proposal),
            "title": "Benches",
            "description": "Six benches.",
            "cost_label_0": "Benches",
            "cost_amount_0": "600",
            "cost_label_1": "Fitting",
            "cost_amount_1": "200.50",
            "cost_label_2": "",
            "cost_amount_2": "",
            "minimum": "",
            "optimum": "1 200",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    campaign = db.read_sync(lambda s: s.scalars(select(Campaign)).one())
    assert (campaign.minimum, campaign.optimum, campaign.proposal_id) == (
        800_50,
        1_200_00,
        proposal,
    )
    assert count(db, CostItem) == 2


def test_locked_call_refuses_edits_with_409_and_logs_them(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    auth.login_as(Role.STAFF)
    call_id = make_call(db)
    token = auth.csrf(f"/funding/{call_id}/edit")
    response = client.post(
        f"/funding/{call_id}/edit", data={**call_form(pool="1"), "csrf_token": token}
    )
    assert response.status_code == 409 and "rules are locked" in response.text
    response = client.post(
        f"/funding/{call_id}/campaigns",
        data={"csrf_token": token, "title": "Late", "cost_label_0": "x", "cost_amount_0": "5"},
    )
    assert response.status_code == 409
    refused = db.read_sync(
        lambda s: s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "call.change_refused")
        )
    )
    assert refused == 2
    assert db.read_sync(lambda s: s.get(FundingCall, call_id).pool) == 10_000_00  # type: ignore[union-attr]


def test_resident_pledges_in_their_locale_and_sees_it_in_my_pledges(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    campaign_id = make_campaign(db, make_call(db))
    page = client.get(f"/campaigns/{campaign_id}")
    assert page.status_code == 200 and "Log in to pledge" in page.text
    assert '<progress max="100" value="0"' in page.text
    auth.login_as(Role.RESIDENT)
    client.post("/language", data={"locale": "fr", "csrf_token": auth.csrf()})
    token, key = pledge_form(client, campaign_id)
    bad = client.post(
        f"/campaigns/{campaign_id}/pledge",
        data={"csrf_token": token, "key": key, "amount": "dix", "public_name": ""},
    )
    assert bad.status_code == 422 and key in bad.text  # the same form, the same key
    done = client.post(
        f"/campaigns/{campaign_id}/pledge",
        data={"csrf_token": token, "key": key, "amount": "12,50", "public_name": "Ana"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/pledges#pledge-")
    again = client.post(
        f"/campaigns/{campaign_id}/pledge",
        data={"csrf_token": token, "key": key, "amount": "12,50", "public_name": "Ana"},
        follow_redirects=False,
    )
    assert again.status_code == 303  # a resent form: the same pledge, nothing added
    stored = db.read_sync(lambda s: s.scalars(select(Pledge)).all())
    assert [(p.amount, p.public_name, p.eligible) for p in stored] == [(12_50, "Ana", True)]
    mine = client.get("/pledges").text
    assert "Community garden" in mine and "12,50" in mine
    campaign = client.get(f"/campaigns/{campaign_id}").text
    assert "Ana" in campaign and "1 contributeur" in campaign


def test_live_estimate_fragment(client: TestClient, auth: AuthActions, db: Database) -> None:
    campaign_id = make_campaign(db, make_call(db))
    first = make_user(db, auth.settings, "first@example.org")
    pledge(db, first, campaign_id, 100_00)
    anonymous = client.get(
        f"/campaigns/{campaign_id}/estimate?amount=100", headers={"HX-Request": "true"}
    )
    assert "brings about €200.00" in anonymous.text  # as for a resident who counts
    auth.login_as(Role.RESIDENT)
    fragment = client.get(
        f"/campaigns/{campaign_id}/estimate?amount=100", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<p id="estimate"')
    # (10 + 10)^2 - 200 = 200 €
    assert "Your €100.00 brings about €200.00 from the matching pool." in fragment.text
    page = client.get(f"/campaigns/{campaign_id}/estimate?amount=100")
    assert "<html" in page.text and "brings about €200.00" in page.text
    unreadable = client.get(
        f"/campaigns/{campaign_id}/estimate?amount=zz", headers={"HX-Request": "true"}
    )
    assert "Your €10.00 brings about" in unreadable.text  # back to the example amount


def test_change_and_cancel_a_pledge(client: TestClient, auth: AuthActions, db: Database) -> None:
    campaign_id = make_campaign(db, make_call(db))
    auth.login_as(Role.RESIDENT)
    token, key = pledge_form(client, campaign_id)
    client.post(
        f"/campaigns/{campaign_id}/pledge",
        data={"csrf_token": token, "key": key, "amount": "20"},
    )
    pledge_id = db.read_sync(lambda s: s.scalar(select(Pledge.id)))
    form = client.get(f"/pledges/{pledge_id}/edit")
    assert form.status_code == 200 and 'value="20"' in form.text
    bad = client.post(
        f"/pledges/{pledge_id}/edit", data={"csrf_token": token, "amount": "0", "public_name": ""}
    )
    assert bad.status_code == 422
    changed = client.post(
        f"/pledges/{pledge_id}/edit",
        data={"csrf_token": token, "amount": "35", "public_name": ""},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    cancelled = client.post(
        f"/pledges/{pledge_id}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    p = db.read_sync(lambda s: s.get(Pledge, pledge_id))
    assert p is not None and (p.amount, p.state) == (35_00, PledgeState.CANCELLED)
    mine = client.get("/pledges").text
    assert "Cancelled" in mine and "changed from €20.00 to €35.00" in mine
    # Someone else's pledge is not found.
    auth.logout()
    auth.login_as(Role.RESIDENT)
    assert client.get(f"/pledges/{pledge_id}/edit").status_code == 404


def test_200_simultaneous_web_pledges_with_one_key(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    campaign_id = make_campaign(db, make_call(db))
    auth.login_as(Role.RESIDENT)
    token, key = pledge_form(client, campaign_id)

    def send(_n: int) -> int:
        return client.post(
            f"/campaigns/{campaign_id}/pledge",
            data={"csrf_token": token, "key": key, "amount": "10"},
            follow_redirects=False,
        ).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(send, range(200)))
    assert statuses == [303] * 200
    assert count(db, Pledge) == 1


def test_sign_up_for_a_task_and_staff_confirm_attendance(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    campaign_id = make_campaign(db, make_call(db))
    task_id = make_task(db, campaign_id, capacity=1, minutes_each=90)
    auth.login_as(Role.RESIDENT)
    page = client.get(f"/campaigns/{campaign_id}").text
    assert "0 of 1 places taken" in page and "1 volunteer needed" in page
    token = csrf_from(page)
    client.post(f"/tasks/{task_id}/signup", data={"csrf_token": token})
    page = client.get(f"/campaigns/{campaign_id}").text
    assert "You are signed up." in page and "1 of 1 places taken" in page
    assert "Time pledged: 1 h 30 min. Time given: 0 hours." in client.get("/pledges").text
    auth.logout()
    auth.login_as(Role.RESIDENT)
    token = auth.csrf(f"/campaigns/{campaign_id}")
    full = client.post(f"/tasks/{task_id}/signup", data={"csrf_token": token})
    assert "every place on this task has been taken" in full.text
    auth.logout()
    auth.login_as(Role.STAFF)
    staff_page = client.get(f"/tasks/{task_id}")
    assert staff_page.status_code == 200 and "Test User" in staff_page.text
    signup_id = db.read_sync(lambda s: s.scalar(select(TaskSignup.id)))
    client.post(
        f"/tasks/{task_id}/attendance",
        data={
            "csrf_token": csrf_from(staff_page.text),
            f"came_{signup_id}": "yes",
            f"hours_{signup_id}": "2",
        },
    )
    signup = db.read_sync(lambda s: s.get(TaskSignup, signup_id))
    assert signup is not None and (signup.attended, signup.minutes_given) == (True, 120)
    assert db.read_sync(lambda s: s.get(VolunteerTask, task_id).taken) == 1  # type: ignore[union-attr]


def test_staff_add_a_task(client: TestClient, auth: AuthActions, db: Database) -> None:
    campaign_id = make_campaign(db, make_call(db))
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/campaigns/{campaign_id}/tasks/new")
    data = {
        "csrf_token": token,
        "title": "Paint",
        "description": "",
        "place": "Hall",
        "day": frozen.days(5).isoformat(),
        "time": "14:00",
        "capacity": "4",
        "hours": "1.5",
    }
    bad = client.post(f"/campaigns/{campaign_id}/tasks", data={**data, "hours": "x"})
    assert bad.status_code == 422
    ok = client.post(f"/campaigns/{campaign_id}/tasks", data=data, follow_redirects=False)
    assert ok.status_code == 303
    task = db.read_sync(lambda s: s.scalars(select(VolunteerTask)).one())
    assert (task.capacity, task.minutes_each, task.title) == (4, 90, "Paint")


def test_draft_calls_are_hidden_from_residents(client: TestClient, db: Database) -> None:
    call_id = make_call(db, "draft")
    campaign_id = make_campaign(db, call_id)
    assert client.get(f"/funding/{call_id}").status_code == 404
    assert client.get(f"/campaigns/{campaign_id}").status_code == 404
    assert "Neighbourhood fund" not in client.get("/funding").text


def test_a_code_round_call_matches_only_residents_who_proved_a_code(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    from pb.models import Eligibility, VotingScope
    from pb.services import eligibility
    from tests.builders import make_voting_round

    r = make_voting_round(db, eligibility=Eligibility.CODES, scope=VotingScope.CITYWIDE)
    rid = r["round_id"]
    (code,) = db.write_sync(
        eligibility.generate_codes, None, rid, 1, None, auth.settings.secret_key
    )
    campaign_id = make_campaign(
        db, make_call(db, round_id=rid, eligibility=Eligibility.CODES), title="Code garden"
    )
    auth.login_as(Role.RESIDENT)
    page = client.get(f"/campaigns/{campaign_id}").text
    assert "not for matching" in page
    token, key = pledge_form(client, campaign_id)
    client.post(
        f"/campaigns/{campaign_id}/pledge", data={"csrf_token": token, "key": key, "amount": "5"}
    )
    proved = client.post(
        f"/rounds/{rid}/vote/code", data={"code": code, "csrf_token": token}, follow_redirects=False
    )
    assert proved.status_code == 303
    assert "brings about" in client.get(f"/campaigns/{campaign_id}").text
    token, key = pledge_form(client, campaign_id)
    client.post(
        f"/campaigns/{campaign_id}/pledge", data={"csrf_token": token, "key": key, "amount": "7"}
    )
    stored = db.read_sync(
        lambda s: [(p.amount, p.eligible) for p in s.scalars(select(Pledge).order_by(Pledge.id))]
    )
    assert stored == [(5_00, False), (7_00, True)]
    assert "not counted for matching" in client.get("/pledges").text


def test_staff_change_a_task_and_call_it_off_telling_each_volunteer(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    campaign_id = make_campaign(db, make_call(db))
    task_id = make_task(db, campaign_id, capacity=3)
    volunteers = [make_user(db, settings, f"vol{n}@example.org") for n in range(2)]
    for user_id in volunteers:
        db.write_sync(lambda s, u=user_id: tasks.sign_up(s, u, task_id, frozen.TODAY))
    auth.login_as(Role.RESIDENT)
    token = auth.csrf(f"/campaigns/{campaign_id}")
    assert client.get(f"/tasks/{task_id}/edit").status_code == 403
    assert (
        client.post(f"/tasks/{task_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    ).status_code == 403
    auth.logout()
    auth.login_as(Role.STAFF)
    form = client.get(f"/tasks/{task_id}/edit")
    assert form.status_code == 200 and 'value="Build the beds"' in form.text
    data = {
        "csrf_token": csrf_from(form.text),
        "title": "Build the raised beds",
        "description": "Bring gloves.",
        "place": "School yard",
        "day": frozen.days(8).isoformat(),
        "time": "09:30",
        "capacity": "1",
        "hours": "3",
    }
    # Fewer places than volunteers already signed up: refused, what was typed is kept.
    short = client.post(f"/tasks/{task_id}/edit", data=data)
    assert short.status_code == 422
    assert "2 people have already signed up" in short.text and "raised beds" in short.text
    saved = client.post(f"/tasks/{task_id}/edit", data={**data, "capacity": "5"})
    assert saved.status_code == 200 and "The task is saved." in saved.text
    task = db.read_sync(lambda s: s.get(VolunteerTask, task_id))
    assert task is not None and (task.title, task.capacity, task.minutes_each) == (
        "Build the raised beds",
        5,
        180,
    )
    # Calling it off asks first and says who will be told; nothing changes before confirming.
    ask = client.post(f"/tasks/{task_id}/delete", data={"csrf_token": csrf_from(saved.text)})
    assert ask.status_code == 200 and "2 volunteers signed up" in ask.text
    assert count(db, VolunteerTask) == 1 and count(db, OutboxMail) == 0
    done = client.post(
        f"/tasks/{task_id}/delete", data={"csrf_token": csrf_from(ask.text), "confirm": "yes"}
    )
    assert done.status_code == 200 and "2 volunteers will be told by mail" in done.text
    assert count(db, VolunteerTask) == 0 and count(db, TaskSignup) == 0
    mails = db.read_sync(
        lambda s: s.scalars(select(OutboxMail).order_by(OutboxMail.recipient)).all()
    )
    assert [m.recipient for m in mails] == ["vol0@example.org", "vol1@example.org"]
    assert all("Build the raised beds" in m.subject for m in mails)
    logged = db.read_sync(
        lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "task.delete")).one()
    )
    assert logged.after == {"volunteers_told": 2}


def test_a_task_with_confirmed_attendance_cannot_be_called_off(
    client: TestClient, auth: AuthActions, db: Database, settings: Settings
) -> None:
    campaign_id = make_campaign(db, make_call(db))
    task_id = make_task(db, campaign_id, capacity=2)
    user_id = make_user(db, settings, "came@example.org")
    db.write_sync(lambda s: tasks.sign_up(s, user_id, task_id, frozen.TODAY))
    signup_id = db.read_sync(lambda s: s.scalar(select(TaskSignup.id)))
    admin = make_user(db, settings, "staff2@example.org", role=Role.STAFF)
    db.write_sync(lambda s: tasks.confirm_attendance(s, admin, task_id, {signup_id: 60}))
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/tasks/{task_id}")
    refused = client.post(f"/tasks/{task_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert "Attendance has been confirmed" in refused.text
    assert count(db, VolunteerTask) == 1 and count(db, OutboxMail) == 0


def test_staff_remove_a_campaign_while_the_call_is_set_up_not_after(
    client: TestClient, auth: AuthActions, db: Database
) -> None:
    draft_call = make_call(db, "draft")
    campaign_id = make_campaign(db, draft_call)
    make_task(db, campaign_id)
    auth.login_as(Role.STAFF)
    form = client.get(f"/campaigns/{campaign_id}/edit")
    assert "Remove this campaign" in form.text
    ask = client.post(f"/campaigns/{campaign_id}/delete", data={"csrf_token": csrf_from(form.text)})
    assert ask.status_code == 200 and "Remove this campaign?" in ask.text
    assert count(db, Campaign) == 1
    done = client.post(
        f"/campaigns/{campaign_id}/delete",
        data={"csrf_token": csrf_from(ask.text), "confirm": "yes"},
    )
    assert done.status_code == 200 and "The campaign is removed." in done.text
    assert count(db, Campaign) == count(db, CostItem) == count(db, VolunteerTask) == 0
    logged = db.read_sync(
        lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.delete")).one()
    )
    assert logged.before is not None and logged.before["title"] == "Community garden"
    # Once pledging has opened the call's campaigns stay: refused and the attempt logged.
    open_call = make_call(db)
    kept = make_campaign(db, open_call)
    token = auth.csrf(f"/campaigns/{kept}")
    refused = client.post(f"/campaigns/{kept}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert "rules are locked" in refused.text
    assert count(db, Campaign) == 1
    assert db.read_sync(
        lambda s: s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "call.change_refused")
        )
    )
