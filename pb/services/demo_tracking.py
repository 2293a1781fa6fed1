"""The demo's after-the-vote story: last year's funded projects in every status, with
milestones, spending, a project lead, followers, and impact indicators with measurements.
Demo content is data in the demo town's language (English), not interface text."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.models import (
    Category,
    Indicator,
    ProjectStatus,
    ProjectUpdate,
    Proposal,
    TrackedProject,
    User,
)
from pb.services import demo_photos, images
from pb.services.tracking import follow, impact, projects
from pb.services.tracking import photos as milestone_photos
from pb.services.tracking.projects import Editor, Mailing

STEPS = ("Design agreed with residents", "Works contract signed", "Works on site", "Opening")

# status, its reason, progress set by staff (None: from the milestones), percent of the budget
# spent, and each step's (planned, done) in days from today (done None: not yet).
PLAN = (
    (ProjectStatus.COMPLETED, "", None, 97, ((-150, -140), (-100, -95), (-40, -20), (-10, -5))),
    (ProjectStatus.IN_PROGRESS, "", None, 45, ((-150, -140), (-100, -95), (-40, None), (30, None))),
    (
        ProjectStatus.DELAYED,
        "The supplier delivers the materials six weeks late.",
        30,
        20,
        ((-150, -140), (-100, None), (-40, None), (30, None)),
    ),
    (ProjectStatus.PLANNED, "", None, 0, ((20, None), (50, None), (90, None), (150, None))),
    (
        ProjectStatus.CANCELLED,
        "The land turned out to be private; the owner refused.",
        0,
        3,
        ((-150, -140), (-100, None), (-40, None), (30, None)),
    ),
)

# (catalogue indicator name, baseline, target, measurements as (days ago, value)), one for each
# of the demo's categories in their order (green spaces, mobility, culture, sport and play,
# community), so that a project measures what it is about.
INDICATORS = (
    ("Trees planted", 0, 12, ((90, 4), (30, 12))),
    ("People reached", 0, 1200, ((120, 300), (60, 700), (10, 950))),
    ("Events held", 0, 8, ((45, 2), (15, 5))),
    ("Area renovated", 0, 400, ((20, 150),)),
    ("Volunteer hours", 0, 200, ((30, 60),)),
)


def _topic(session: Session, project: TrackedProject, n: int, categories: tuple[str, ...]) -> int:
    """The position of the project's category among the demo's ``categories`` (the n-th
    project's otherwise)."""
    proposal = session.get(Proposal, project.proposal_id) if project.proposal_id else None
    category = (
        session.get(Category, proposal.category_id) if proposal and proposal.category_id else None
    )
    if category is not None and category.name in categories:
        return categories.index(category.name) % len(INDICATORS)
    return n % len(INDICATORS)


def load_tracking_demo(
    session: Session,
    staff: int,
    resident: int,
    round_id: int,
    today: dt.date,
    secret_key: str,
    photo_alt: str = "Drawing of the place: %(title)s",
    categories: tuple[str, ...] = (),
) -> None:
    """Report on the funded projects of ``round_id`` (its results are published); the first
    two projects' reached milestones get a picture each (``photo_alt``: its description in the
    demo's language, with the milestone's ``%(title)s``)."""
    editor = Editor(staff, staff=True)
    mailing = Mailing("http://127.0.0.1:8000", "en", secret_key or "demo")
    catalogue = {i.name: i.id for i in session.scalars(select(Indicator))}
    funded = list(
        session.scalars(
            select(TrackedProject)
            .where(TrackedProject.round_id == round_id)
            .order_by(TrackedProject.id)
        )
    )
    for n, project in enumerate(funded):
        status, reason, progress, spent_share, dates = PLAN[n % len(PLAN)]
        for title, (planned, done) in zip(STEPS, dates, strict=True):
            milestone = projects.add_milestone(
                session, editor, project.id, title, today + dt.timedelta(days=planned), mailing
            )
            if done is not None:
                projects.complete_milestone(
                    session,
                    editor,
                    milestone.id,
                    today + dt.timedelta(days=done),
                    "Done as planned.",
                    today,
                    mailing,
                )
                if n < 2:
                    encoded = images.reencode(demo_photos.scene(1000 + milestone.id))
                    alt = photo_alt % {"title": milestone.title}
                    milestone_photos.add(session, editor, milestone.id, alt, encoded)
        if status is not ProjectStatus.PLANNED:
            projects.set_status(session, editor, project.id, status, reason, mailing)
        if progress is not None:
            projects.set_progress(session, editor, project.id, progress, mailing)
        card_lines = projects.lines_of(session, project.id)
        for line in card_lines:
            projects.set_spent(
                session, editor, line.id, line.approved * spent_share // 100, mailing
            )
        if status not in (ProjectStatus.CANCELLED, ProjectStatus.PLANNED):  # nothing to measure
            name, baseline, target, measures = INDICATORS[_topic(session, project, n, categories)]
            if name in catalogue:
                row = impact.add_project_indicator(
                    session, editor, project.id, catalogue[name], "", "", baseline, target
                )
                for days_ago, value in measures:
                    impact.add_measurement(
                        session,
                        editor,
                        row.id,
                        today - dt.timedelta(days=days_ago),
                        value,
                        "Count by the project team",
                        today,
                        mailing,
                    )
        if n == 0:
            projects.post_note(
                session, editor, project.id, "Thank you to everyone who came to the opening!",
                mailing,
            )  # fmt: skip
    if funded:
        projects.appoint_lead(session, staff, funded[0].id, _resident_email(session, resident))
        for project in funded[:2]:
            follow.follow(session, project.id, resident)
    _date_history(session, [p.id for p in funded], today)


def _date_history(session: Session, project_ids: list[int], today: dt.date) -> None:
    """The demo's story is written in one go; each update is dated as it would have happened:
    a milestone reached or a measurement on its day, the plans when the project started. The
    latest news (status, progress, spending, notes) keeps today's date."""
    started = today - dt.timedelta(days=160)
    for update in session.scalars(
        select(ProjectUpdate).where(ProjectUpdate.project_id.in_(project_ids or [0]))
    ):
        day = {
            "milestone_done": update.detail.get("done_on"),
            "measurement": update.detail.get("measured_on"),
            "milestone_planned": started.isoformat(),
        }.get(update.kind)
        if day is not None:
            moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9, 30), tzinfo=dt.UTC)
            update.at = min(moment, update.at)


def _resident_email(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    assert user is not None
    return user.email
