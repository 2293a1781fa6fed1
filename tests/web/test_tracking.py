"""Tracking through the web: public cards, follow and the one-click unfollow link, staff and
leads reporting (and nobody else), the receipt's projects, the impact page, the catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from pb.db import Database
from pb.models import AuditEvent, OutboxMail, ProjectFollow, Role, User
from pb.services import tracking
from pb.services.tracking import impact
from pb.services.tracking.projects import Editor
from tests import frozen
from tests.conftest import AuthActions, csrf_from, make_user
from tests.tracking_builders import counted_round, published_round


@pytest.fixture
def published(db: Database) -> dict[str, object]:
    return published_round(db)


def _card(r: dict[str, object], key: str = "citywide", n: int = 0) -> int:
    return r["cards"][r["projects"][key][n]]  # type: ignore[index, no-any-return]


def _count(db: Database, model: type, *where: object) -> int:
    return int(
        db.read_sync(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))  # type: ignore[arg-type]
    )


def _post_update(client: TestClient, db: Database, card: int) -> None:
    """Staff post an update on ``card``: one mail per follower goes into the outbox."""
    from tests.tracking_builders import mailing

    staff_id = db.read_sync(lambda s: s.scalar(select(User.id)))
    db.write_sync(
        tracking.projects.post_note,
        Editor(staff_id, True),
        card,
        "Work starts.",
        mailing(client.app.state.pb.settings.secret_key),  # type: ignore[attr-defined]
    )


def test_card_is_public_and_links_from_the_results(
    client: TestClient, published: dict[str, object]
) -> None:
    card = _card(published)
    page = client.get(f"/projects/{card}")
    assert page.status_code == 200
    assert "citywide project 0" in page.text and "Planned" in page.text
    assert "Log in to follow this project" in page.text
    assert client.get("/projects/999999").status_code == 404
    results = client.get(f"/rounds/{published['round_id']}/results")
    assert f'href="/projects/{card}"' in results.text
    tracking_page = client.get(f"/rounds/{published['round_id']}/tracking")
    assert tracking_page.status_code == 200 and f'href="/projects/{card}"' in tracking_page.text
    assert (
        f"/rounds/{published['round_id']}/tracking"
        in client.get(f"/rounds/{published['round_id']}").text
    )


def test_unpublished_rounds_show_nothing(client: TestClient, db: Database) -> None:
    r = counted_round(db)
    for path in ("tracking", "impact"):
        assert client.get(f"/rounds/{r['round_id']}/{path}").status_code == 404
    assert client.get("/projects/1").status_code == 404
    token = csrf_from(client.get("/receipts/projects").text)
    page = client.post("/receipts/projects", data={"code": r["receipts"][0], "csrf_token": token})
    assert page.status_code == 200
    assert "once the results are published" in page.text
    assert "citywide project" not in page.text


def test_follow_then_unfollow_by_the_mail_link_logged_out(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    card = _card(published)
    token = csrf_from(client.get(f"/projects/{card}").text)
    anonymous = client.post(
        f"/projects/{card}/follow", data={"csrf_token": token}, follow_redirects=False
    )
    assert anonymous.status_code in (302, 303, 401, 403)
    assert _count(db, ProjectFollow) == 0
    auth.login_as(Role.RESIDENT, "fan@example.org")
    page = client.get(f"/projects/{card}")
    followed = client.post(f"/projects/{card}/follow", data={"csrf_token": csrf_from(page.text)})
    assert "You follow this project" in followed.text
    assert _count(db, ProjectFollow) == 1
    auth.logout()
    _post_update(client, db, card)
    text = db.read_sync(lambda s: s.scalar(select(OutboxMail.text)))
    link = text.split("https://pb.example")[-1].split()[0]
    assert link.startswith("/unfollow/")
    confirm = client.get(link)
    assert confirm.status_code == 200 and "Yes, stop the mails" in confirm.text
    assert _count(db, ProjectFollow) == 1  # opening the link changes nothing
    done = client.post(link, data={"csrf_token": csrf_from(confirm.text)})
    assert done.status_code == 200 and "no longer get mails" in done.text
    assert _count(db, ProjectFollow) == 0
    bad = client.get(link[:-3] + "abc")
    assert bad.status_code == 404


def test_one_click_unsubscribe_from_the_mail_client(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    """RFC 8058: the List-Unsubscribe address takes the client's POST with no cookie and no
    CSRF token, and nothing else."""
    card = _card(published)
    auth.login_as(Role.RESIDENT, "fan@example.org")
    page = client.get(f"/projects/{card}")
    client.post(f"/projects/{card}/follow", data={"csrf_token": csrf_from(page.text)})
    auth.logout()
    client.cookies.clear()
    _post_update(client, db, card)
    url = db.read_sync(lambda s: s.scalar(select(OutboxMail.list_unsubscribe)))
    path = url.removeprefix("https://pb.example")
    assert path.startswith("/unfollow/") and path.endswith("/one-click")
    opened = client.get(path, follow_redirects=False)  # a person who opens it gets the button
    assert opened.status_code == 303 and opened.headers["location"] == path[: -len("/one-click")]
    assert client.post(path, data={"List-Unsubscribe": "Yes"}).status_code == 400
    assert client.post(path).status_code == 400
    forged = path.replace("/one-click", "xx/one-click")
    assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert _count(db, ProjectFollow) == 1
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert _count(db, ProjectFollow) == 0
    # A second click (a retried POST) is no error.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_only_staff_and_the_projects_lead_report(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    mine, other = _card(published), _card(published, n=1)
    auth.login_as(Role.RESIDENT, "lead@example.org")
    assert client.get(f"/projects/{mine}/manage").status_code == 403
    token = auth.csrf(f"/projects/{mine}")
    refused = client.post(f"/projects/{mine}/updates", data={"note": "x", "csrf_token": token})
    assert refused.status_code == 403
    auth.logout()

    auth.login_as(Role.STAFF, "staff@example.org")
    manage = client.get(f"/projects/{mine}/manage")
    assert manage.status_code == 200
    token = csrf_from(manage.text)
    missing = client.post(
        f"/projects/{mine}/status",
        data={"status": "cancelled", "reason": "", "csrf_token": token},
    )
    assert missing.status_code == 422 and "needs a reason" in missing.text
    bad_date = client.post(
        f"/projects/{mine}/milestones",
        data={"title": "Keep me", "planned_on": "soon", "csrf_token": token},
    )
    assert bad_date.status_code == 422 and 'value="Keep me"' in bad_date.text
    lead = client.post(
        f"/projects/{mine}/lead", data={"lead": "lead@example.org", "csrf_token": token}
    )
    assert lead.status_code == 200
    auth.logout()

    auth.login("lead@example.org")
    token = auth.csrf(f"/projects/{mine}")
    assert "Report progress" in client.get(f"/projects/{mine}").text
    ok = client.post(
        f"/projects/{mine}/updates", data={"note": "Benches delivered.", "csrf_token": token}
    )
    assert ok.status_code == 200 and "The update is posted." in ok.text
    assert "Benches delivered." in client.get(f"/projects/{mine}").text
    assert client.get(f"/projects/{other}/manage").status_code == 403
    other_post = client.post(f"/projects/{other}/updates", data={"note": "x", "csrf_token": token})
    assert other_post.status_code == 403
    card = db.read_sync(tracking.public_card, mine)
    money = client.post(
        f"/budget-lines/{card.lines[0].id}/spent",
        data={f"spent_{card.lines[0].id}": "10", "csrf_token": token},
    )
    assert money.status_code == 403
    actions = db.read_sync(
        lambda s: s.scalars(
            select(AuditEvent.action).where(AuditEvent.target == f"project:{mine}")
        ).all()
    )
    assert actions == ["project.lead", "project.note"]


def test_staff_report_spending_and_impact(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    card_id = _card(published)
    auth.login_as(Role.STAFF)
    token = csrf_from(client.get(f"/projects/{card_id}/manage").text)
    line = db.read_sync(tracking.public_card, card_id).lines[0]
    client.post(
        f"/budget-lines/{line.id}/spent",
        data={f"spent_{line.id}": "1,250.50", "csrf_token": token},
    )
    trees = db.read_sync(lambda s: next(i.id for i in impact.catalogue(s) if i.unit == "trees"))
    client.post(
        f"/projects/{card_id}/indicators",
        data={"indicator": str(trees), "baseline": "0", "target": "40", "csrf_token": token},
    )
    row = db.read_sync(tracking.public_card, card_id).indicators[0].id
    follower = make_user(db, auth.settings, "follower@example.org")
    db.write_sync(tracking.follow.follow, card_id, follower)
    bad = client.post(
        f"/project-indicators/{row}/measurements",
        data={
            f"measured_on_{row}": frozen.TODAY.isoformat(),
            f"value_{row}": "ten",
            f"source_{row}": "Count",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    client.post(
        f"/project-indicators/{row}/measurements",
        data={
            f"measured_on_{row}": frozen.TODAY.isoformat(),
            f"value_{row}": "10",
            f"source_{row}": "Park service count",
            "csrf_token": token,
        },
    )
    card = client.get(f"/projects/{card_id}")
    assert "€1,250.50" in card.text and "Park service count" in card.text
    # A measurement is an update: in the card's history, and one mail to each follower (none
    # for the refused form).
    headline = "Trees planted: 10 trees of a target of 40, measured on"
    assert headline in card.text
    mails = db.read_sync(
        lambda s: s.execute(
            select(OutboxMail.recipient, OutboxMail.subject).where(
                OutboxMail.kind == "project_update"
            )
        ).all()
    )
    assert [m.recipient for m in mails] == ["follower@example.org"]
    assert headline in mails[0].subject
    page = client.get(f"/rounds/{published['round_id']}/impact")
    assert page.status_code == 200
    assert 'role="img"' in page.text and "<title" in page.text
    assert "Trees planted" in page.text and "25 %" in page.text


def test_receipt_shows_its_projects(client: TestClient, published: dict[str, object]) -> None:
    token = csrf_from(client.get("/receipts/projects").text)
    page = client.post(
        "/receipts/projects",
        data={"code": published["receipts"][-1], "csrf_token": token},  # type: ignore[index]
    )
    assert page.status_code == 200
    assert "citywide project 0" in page.text and "citywide project 2" in page.text
    assert "Not funded by the vote." in page.text
    assert "citywide project 1" not in page.text  # not on this ballot
    missing = client.post("/receipts/projects", data={"code": "nope", "csrf_token": token})
    assert missing.status_code == 404
    # An empty code is named on its field; the page says what a code looks like.
    empty = client.post("/receipts/projects", data={"code": " ", "csrf_token": token})
    assert empty.status_code == 422
    assert 'aria-invalid="true"' in empty.text and "Enter the receipt code." in empty.text
    assert "No ballot has this receipt code" not in empty.text
    assert "26 letters and digits" in empty.text and 'href="/receipts"' in empty.text


def test_the_catalogue_is_for_staff(client: TestClient, auth: AuthActions, db: Database) -> None:
    auth.login_as(Role.RESIDENT)
    assert client.get("/admin/indicators").status_code == 403
    auth.logout()
    auth.login_as(Role.STAFF)
    token = csrf_from(client.get("/admin/indicators").text)
    empty = client.post("/admin/indicators", data={"name": "", "unit": "", "csrf_token": token})
    assert empty.status_code == 422
    added = client.post(
        "/admin/indicators",
        data={"name": "Bikes lent", "unit": "bikes", "summable": "yes", "csrf_token": token},
    )
    assert added.status_code == 200 and "Bikes lent" in added.text
    assert db.read_sync(lambda s: [i.name for i in impact.catalogue(s)]) == ["Bikes lent"]


def test_tracking_forms_are_well_formed_and_labelled(
    client: TestClient, auth: AuthActions, published: dict[str, object]
) -> None:
    from tests.web.test_form_markup import page_ok, post_empty

    card = _card(published)
    page_ok(client, "/receipts/projects")
    page_ok(client, f"/projects/{card}")
    auth.login_as(Role.STAFF)
    client.post(
        f"/projects/{card}/milestones",
        data={
            "title": "Order",
            "planned_on": frozen.TODAY.isoformat(),
            "csrf_token": auth.csrf(f"/projects/{card}/manage"),
        },
    )
    for path in (f"/projects/{card}", f"/projects/{card}/manage", "/admin/indicators"):
        page_ok(client, path)
    post_empty(client, f"/projects/{card}/manage", f"/projects/{card}/status")
    post_empty(client, f"/projects/{card}/manage", f"/projects/{card}/milestones")
    post_empty(client, f"/projects/{card}/manage", f"/projects/{card}/indicators")
    post_empty(client, "/admin/indicators", "/admin/indicators")


def test_my_projects_lists_the_followed_and_the_led(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    card, led = _card(published), _card(published, n=1)
    assert client.get("/account/projects", follow_redirects=False).status_code in (302, 303)
    auth.login_as(Role.RESIDENT, "ann@example.org")
    user_id = db.read_sync(
        lambda s: s.scalar(select(User.id).where(User.email == "ann@example.org"))
    )
    db.write_sync(tracking.follow.follow, card, user_id)
    db.write_sync(tracking.projects.appoint_lead, user_id, led, "ann@example.org")
    page = client.get("/account/projects")
    assert f'href="/projects/{card}"' in page.text
    assert f'href="/projects/{led}/manage"' in page.text
    # Unfollowing from the list comes back to the list.
    back = client.post(
        f"/projects/{card}/unfollow",
        data={"from": "account", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == "/account/projects"
    assert _count(db, ProjectFollow) == 0
    assert "You follow no project yet." in client.get("/account/projects").text


def test_milestone_reached_through_the_form_and_unfollow_button(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    card = _card(published)
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/projects/{card}/manage")
    client.post(
        f"/projects/{card}/milestones",
        data={"title": "Dig", "planned_on": frozen.days(-5).isoformat(), "csrf_token": token},
    )
    milestone = db.read_sync(tracking.public_card, card).milestones[0].id
    future = client.post(
        f"/milestones/{milestone}/done",
        data={f"done_on_{milestone}": frozen.days(3).isoformat(), "csrf_token": token},
    )
    assert future.status_code == 422 and "past day or today" in future.text
    done = client.post(
        f"/milestones/{milestone}/done",
        data={
            f"done_on_{milestone}": frozen.TODAY.isoformat(),
            f"note_{milestone}": "Done early.",
            "csrf_token": token,
        },
    )
    assert done.status_code == 200 and "The milestone is reached." in done.text
    page = client.get(f"/projects/{card}")
    assert "Progress: 100%" in page.text and "Done early." in page.text
    client.post(f"/projects/{card}/follow", data={"csrf_token": token})
    assert _count(db, ProjectFollow) == 1
    left = client.post(f"/projects/{card}/unfollow", data={"csrf_token": token})
    assert "You no longer follow this project." in left.text
    assert _count(db, ProjectFollow) == 0


def test_a_measurement_refused_by_the_service_is_named_on_its_form(
    client: TestClient, auth: AuthActions, db: Database, published: dict[str, object]
) -> None:
    card = _card(published)
    auth.login_as(Role.STAFF)
    token = auth.csrf(f"/projects/{card}/manage")
    client.post(
        f"/projects/{card}/indicators",
        data={"name": "Benches", "unit": "benches", "baseline": "0", "target": "4",
              "csrf_token": token},
    )  # fmt: skip
    row = db.read_sync(tracking.public_card, card).indicators[0].id
    refused = client.post(
        f"/project-indicators/{row}/measurements",
        data={
            f"measured_on_{row}": frozen.days(2).isoformat(),
            f"value_{row}": "3",
            f"source_{row}": "",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "dated today or earlier" in refused.text and "Say where the figure" in refused.text
    assert f'id="f-source_{row}-error"' in refused.text


def test_a_milestone_past_its_date_shows_as_late(
    client: TestClient, db: Database, published: dict[str, object]
) -> None:
    from tests.tracking_builders import mailing

    card = _card(published)
    staff_id = db.read_sync(lambda s: s.scalar(select(User.id)))
    editor = Editor(staff_id, True)
    for title, day in (("Order oaks", frozen.days(-3)), ("Plant oaks", frozen.days(30))):
        db.write_sync(
            lambda s, t=title, d=day: tracking.projects.add_milestone(
                s, editor, card, t, d, mailing()
            )
        )
    page = client.get(f"/projects/{card}").text
    assert page.count("Late: planned for") == 1
    assert "Planned for" in page.split("Plant oaks")[1].split("</li>")[0]
