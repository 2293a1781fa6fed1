"""Tracking funded projects: cards only once funding is published, status and money, leads
limited to their project, one mail per follower per update, impact sums, a receipt's projects
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from pb.db import Database
from pb.errors import BadToken, Forbidden, NotFound, ValidationError
from pb.models import AuditEvent, Indicator, OutboxMail, ProjectStatus, TrackedProject
from pb.services import results, tracking
from pb.services.tracking import follow, impact, projects
from pb.services.tracking.projects import Editor
from tests import frozen
from tests.conftest import make_user
from tests.tracking_builders import counted_round, mailing, published_round

TODAY = frozen.TODAY


@pytest.fixture
def staff(db: Database, settings: object) -> Editor:
    return Editor(make_user(db, settings, "staff@example.org"), staff=True)  # type: ignore[arg-type]


def _count(db: Database, model: type, *where: object) -> int:
    return int(
        db.read_sync(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))
    )  # type: ignore[arg-type]


def test_cards_exist_only_once_the_results_are_published(db: Database) -> None:
    r = counted_round(db)
    rid = r["round_id"]
    assert _count(db, TrackedProject) == 0
    for read in (tracking.round_tracking, tracking.round_impact):
        with pytest.raises(NotFound):
            db.read_sync(read, rid)
    before = db.read_sync(tracking.ballot_projects, r["receipts"][0])
    assert before is not None and not before.published and before.projects == []

    db.write_sync(results.publish, None, rid, TODAY)
    funded = db.read_sync(lambda s: projects.funded_proposals(s, rid))
    cards = db.read_sync(lambda s: s.scalars(select(TrackedProject.proposal_id)).all())
    assert sorted(cards) == sorted(funded)
    p = r["projects"]
    assert int(p["citywide"][0]) in funded and int(p["citywide"][2]) not in funded
    assert db.write_sync(projects.sync_funded) == 0  # once
    assert _count(db, Indicator) == 5  # the starter catalogue
    view = db.read_sync(tracking.round_tracking, rid)
    assert view.approved == sum(row.approved for row in view.projects) > 0
    assert {d.name for d in view.districts} >= {None, "North"}


def test_status_needs_a_reason_and_every_change_is_audited(db: Database, staff: Editor) -> None:
    r = published_round(db)
    card_id = r["cards"][r["projects"]["citywide"][0]]
    with pytest.raises(ValidationError, match="reason"):
        db.write_sync(projects.set_status, staff, card_id, ProjectStatus.DELAYED, " ", mailing())
    db.write_sync(
        projects.set_status, staff, card_id, ProjectStatus.DELAYED, "Supplier late", mailing()
    )
    card = db.read_sync(tracking.public_card, card_id)
    assert card.status is ProjectStatus.DELAYED and card.status_reason == "Supplier late"
    assert [u.kind for u in card.history] == ["status"]
    events = db.read_sync(
        lambda s: s.scalars(
            select(AuditEvent).where(AuditEvent.target == f"project:{card_id}")
        ).all()
    )
    assert [(e.action, e.before, e.after) for e in events] == [
        (
            "project.status",
            {"status": "planned", "reason": ""},
            {"status": "delayed", "reason": "Supplier late"},
        )
    ]
    db.write_sync(projects.set_status, staff, card_id, ProjectStatus.IN_PROGRESS, "x", mailing())
    assert db.read_sync(tracking.public_card, card_id).status_reason == ""


def test_money_milestones_and_progress(db: Database, staff: Editor) -> None:
    r = published_round(db)
    card_id = r["cards"][r["projects"]["citywide"][0]]
    card = db.read_sync(tracking.public_card, card_id)
    line = card.lines[0]
    db.write_sync(projects.set_spent, staff, line.id, 12_345_00, mailing())
    db.write_sync(projects.add_budget_line, staff, card_id, "Signs", 500_00)
    with pytest.raises(ValidationError):
        db.write_sync(projects.set_spent, staff, line.id, -1, mailing())
    first = db.write_sync(
        lambda s: projects.add_milestone(s, staff, card_id, "Order", frozen.days(-3), mailing()).id
    )
    db.write_sync(
        lambda s: projects.add_milestone(s, staff, card_id, "Plant", frozen.days(30), mailing()).id
    )
    with pytest.raises(ValidationError):  # not in the future
        db.write_sync(
            projects.complete_milestone, staff, first, frozen.days(1), "", TODAY, mailing()
        )
    db.write_sync(projects.complete_milestone, staff, first, TODAY, "Ordered.", TODAY, mailing())
    card = db.read_sync(tracking.public_card, card_id)
    assert (card.spent, card.approved) == (12_345_00, line.approved + 500_00)
    assert card.progress == 50 and card.progress_from_milestones
    db.write_sync(projects.set_progress, staff, card_id, 80, mailing())
    assert db.read_sync(tracking.public_card, card_id).progress == 80
    with pytest.raises(ValidationError):
        db.write_sync(projects.set_progress, staff, card_id, 101, mailing())
    view = db.read_sync(tracking.round_tracking, r["round_id"])
    assert view.spent == 12_345_00
    citywide = next(d for d in view.districts if d.name is None)
    assert citywide.spent == 12_345_00


def test_leads_change_only_their_project_and_never_the_money(
    db: Database, settings: object, staff: Editor
) -> None:
    r = published_round(db)
    mine = r["cards"][r["projects"]["citywide"][0]]
    other = r["cards"][r["projects"]["citywide"][1]]
    lead_id = make_user(db, settings, "lead@example.org")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        db.write_sync(projects.appoint_lead, staff.user_id, mine, "nobody@example.org")
    db.write_sync(projects.appoint_lead, staff.user_id, mine, "Lead@Example.org")
    lead = Editor(lead_id, staff=False)
    db.write_sync(projects.post_note, lead, mine, "Work starts Monday.", mailing())
    with pytest.raises(Forbidden):
        db.write_sync(projects.post_note, lead, other, "Not mine.", mailing())
    with pytest.raises(Forbidden):
        db.write_sync(projects.set_status, lead, other, ProjectStatus.COMPLETED, "", mailing())
    line = db.read_sync(tracking.public_card, mine).lines[0]
    with pytest.raises(Forbidden):
        db.write_sync(projects.set_spent, lead, line.id, 1, mailing())
    resident = Editor(make_user(db, settings, "r@example.org"), staff=False)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        db.write_sync(projects.post_note, resident, mine, "Hi", mailing())
    assert [u.body for u in db.read_sync(tracking.public_card, mine).history] == [
        "Work starts Monday."
    ]
    assert db.read_sync(tracking.public_card, other).history == []


def test_each_update_mails_each_follower_exactly_once(
    db: Database, settings: object, staff: Editor
) -> None:
    r = published_round(db)
    mail = mailing(settings.secret_key)  # type: ignore[attr-defined]
    card_id = r["cards"][r["projects"]["citywide"][0]]
    other = r["cards"][r["projects"]["citywide"][1]]
    ann = make_user(db, settings, "ann@example.org")  # type: ignore[arg-type]
    bob = make_user(db, settings, "bob@example.org")  # type: ignore[arg-type]
    make_user(db, settings, "cy@example.org")  # type: ignore[arg-type]  # follows nothing
    unverified = make_user(db, settings, "dee@example.org", verified=False)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Confirm your email"):
        db.write_sync(follow.follow, card_id, unverified)
    for user in (ann, bob, ann):  # following twice is one follow
        db.write_sync(follow.follow, card_id, user)
    db.write_sync(follow.follow, other, bob)
    db.write_sync(projects.post_note, staff, card_id, "Trees ordered.", mail)
    db.write_sync(projects.set_progress, staff, card_id, 10, mail)
    db.write_sync(projects.set_progress, staff, card_id, 10, mail)  # no change: no update
    mails = db.read_sync(
        lambda s: s.execute(
            select(
                OutboxMail.recipient,
                OutboxMail.subject,
                OutboxMail.text,
                OutboxMail.list_unsubscribe,
            ).order_by(OutboxMail.id)
        ).all()
    )
    assert sorted(m.recipient for m in mails) == [
        "ann@example.org",
        "ann@example.org",
        "bob@example.org",
        "bob@example.org",
    ]
    assert "Trees ordered." in mails[0].text and "/projects/" in mails[0].text
    assert "/unfollow/" in mails[0].text
    assert any("Progress: 10%" in m.subject for m in mails)
    # The unsubscribe link names the project and the follower; a forged one names nothing.
    token = mails[0].text.split("/unfollow/")[1].split()[0]
    target = db.read_sync(follow.read_unsubscribe, settings.secret_key, token)  # type: ignore[attr-defined]
    assert target.project_id == card_id
    # The same token's one-click address, for the mail's List-Unsubscribe header.
    assert mails[0].list_unsubscribe == f"https://pb.example/unfollow/{token}/one-click"
    with pytest.raises(BadToken):
        db.read_sync(follow.read_unsubscribe, settings.secret_key, token[:-2] + "xx")  # type: ignore[attr-defined]
    assert db.write_sync(follow.unfollow, card_id, target.user_id)
    db.write_sync(projects.post_note, staff, card_id, "Planted.", mail)
    assert _count(db, OutboxMail) == 5  # only the one still following


def test_impact_sums_catalogue_indicators_and_shows_progress(db: Database, staff: Editor) -> None:
    r = published_round(db)
    a = r["cards"][r["projects"]["citywide"][0]]
    b = r["cards"][r["projects"]["north"][0]]
    trees = db.read_sync(
        lambda s: s.scalar(select(Indicator.id).where(Indicator.name == "Trees planted"))
    )
    rows = []
    for card_id, target, value in ((a, 20, 5), (b, 10, 10)):
        row = db.write_sync(
            lambda s, c=card_id, t=target: (
                impact.add_project_indicator(s, staff, c, trees, "", "", 0, t).id
            )
        )
        db.write_sync(impact.add_measurement, staff, row, TODAY, value, "Count", TODAY, mailing())
        rows.append(row)
    own = db.write_sync(
        lambda s: impact.add_project_indicator(s, staff, a, None, "Benches", "benches", 2, 6).id
    )
    db.write_sync(
        impact.add_measurement, staff, own, frozen.days(-10), 3, "Count", TODAY, mailing()
    )
    db.write_sync(impact.add_measurement, staff, own, TODAY, 4, "Count", TODAY, mailing())
    with pytest.raises(ValidationError):
        db.write_sync(
            impact.add_measurement, staff, own, frozen.days(1), 9, "Count", TODAY, mailing()
        )
    with pytest.raises(ValidationError):
        db.write_sync(impact.add_measurement, staff, own, TODAY, 9, " ", TODAY, mailing())
    view = db.read_sync(tracking.round_impact, r["round_id"])
    assert [(t.name, t.current, t.target, t.projects, t.percent) for t in view.totals] == [
        ("Trees planted", 15, 30, 2, 50)
    ]
    benches = next(i for p in view.projects for i in p.indicators if i.name == "Benches")
    assert (benches.current, benches.percent) == (4, 50)  # the latest measurement
    with pytest.raises(ValidationError):  # in use
        db.write_sync(impact.delete_indicator, staff.user_id, trees)


def test_catalogue_names_are_unique(db: Database, staff: Editor) -> None:
    first = db.write_sync(
        lambda s: impact.save_indicator(s, staff.user_id, None, "Bikes lent", "bikes", True).id
    )
    with pytest.raises(ValidationError, match="already"):
        db.write_sync(impact.save_indicator, staff.user_id, None, "Bikes lent", "bikes", True)
    with pytest.raises(ValidationError):
        db.write_sync(impact.save_indicator, staff.user_id, None, "", "", True)
    db.write_sync(impact.save_indicator, staff.user_id, first, "Bikes lent out", "bikes", False)
    db.write_sync(impact.delete_indicator, staff.user_id, first)
    assert _count(db, Indicator) == 0


def test_a_receipt_shows_its_projects_and_nothing_else(db: Database, staff: Editor) -> None:
    r = published_round(db)
    p = r["projects"]
    found = db.read_sync(tracking.ballot_projects, r["receipts"][-1])
    assert found is not None and found.published
    titles = {(b.title, b.project_id is not None) for b in found.projects}
    assert titles == {("citywide project 0", True), ("citywide project 2", False)}
    card_id = r["cards"][p["citywide"][0]]
    db.write_sync(projects.set_status, staff, card_id, ProjectStatus.COMPLETED, "", mailing())
    again = db.read_sync(tracking.ballot_projects, r["receipts"][-1])
    assert again is not None
    done = next(b for b in again.projects if b.project_id == card_id)
    assert (done.status, done.progress) == (ProjectStatus.COMPLETED, 100)
    assert db.read_sync(tracking.ballot_projects, "0000-0000-0000-0000-00000-00000") is None
    assert db.read_sync(tracking.ballot_projects, "not a code") is None


def test_dates_stay_whole_days(db: Database, staff: Editor) -> None:
    r = published_round(db)
    card_id = r["cards"][r["projects"]["citywide"][0]]
    db.write_sync(
        lambda s: projects.add_milestone(s, staff, card_id, "Open", dt.date(2030, 1, 31), mailing())
    )
    card = db.read_sync(tracking.public_card, card_id)
    assert card.milestones[0].planned_on == dt.date(2030, 1, 31)
    assert card.history[0].detail == {"title": "Open", "planned_on": "2030-01-31"}


def test_a_funded_campaign_gets_a_card_and_counts_volunteer_hours(
    db: Database, settings: object, staff: Editor
) -> None:
    from pb import clock
    from pb.models import TaskSignup, VolunteerTask
    from tests.collection_builders import collected, draft, publish

    f = collected(db, settings)  # type: ignore[arg-type]
    garden, _bench = f.campaign_ids
    draft(db, f)
    assert _count(db, TrackedProject) == 0  # a draft match funds nothing yet
    publish(db, f)
    cards = db.read_sync(lambda s: {p.campaign_id: p.id for p in s.scalars(select(TrackedProject))})
    assert set(cards) == {garden}  # the failed campaign has no card
    card = db.read_sync(tracking.public_card, cards[garden])
    assert card.funded_by.value == "crowdfunding" and card.round_id is None
    assert card.lines and card.approved > 0

    def volunteers(s: object) -> None:
        task = VolunteerTask(
            campaign_id=garden, title="Dig", description="", place="", starts_at=clock.now(),
            capacity=3, minutes_each=150, taken=3, created_at=clock.now(),
        )  # fmt: skip
        s.add(task)  # type: ignore[attr-defined]
        s.flush()  # type: ignore[attr-defined]
        for user, minutes, came in ((f.users["marie"], 150, True), (f.users["jean"], 90, True),
                                    (f.users["paul"], None, False)):  # fmt: skip
            s.add(  # type: ignore[attr-defined]
                TaskSignup(
                    task_id=task.id,
                    user_id=user,
                    created_at=clock.now(),
                    attended=came,
                    minutes_given=minutes,
                )
            )

    db.write_sync(volunteers)
    hours = db.read_sync(
        lambda s: s.scalar(select(Indicator.id).where(Indicator.name == "Volunteer hours"))
    )
    db.write_sync(
        lambda s: impact.add_project_indicator(s, staff, cards[garden], hours, "", "", 0, 10)
    )
    indicator = db.read_sync(tracking.public_card, cards[garden]).indicators[0]
    assert indicator.current == 4  # 150 + 90 minutes given, in whole hours
    assert indicator.measurements[-1].measured_on is None
