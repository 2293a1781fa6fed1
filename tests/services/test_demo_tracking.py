"""The demo town's last published round: funded projects in every status, with milestones
(some with photos), spending, and indicators with measurements on its impact page."""

from __future__ import annotations

from sqlalchemy import select

from pb.db import Database
from pb.models import ProjectStatus, RoundResult, TrackedProject
from pb.services import demo, tracking
from tests import frozen

SECRET = "demo-secret-" * 4


def test_the_demo_round_has_projects_in_every_status(db: Database) -> None:
    hashes = {login.email: "not-a-real-hash" for login in demo.DEMO_LOGINS}
    db.write_sync(demo.load_demo, hashes, frozen.TODAY, SECRET)
    round_id = db.read_sync(
        lambda s: s.scalar(
            select(RoundResult.round_id).where(RoundResult.published_at.is_not(None))
        )
    )
    view = db.read_sync(tracking.round_tracking, round_id)
    assert {p.status for p in view.projects} == set(ProjectStatus)
    assert 0 < view.spent < view.approved
    ids = db.read_sync(
        lambda s: s.scalars(
            select(TrackedProject.id).where(TrackedProject.round_id == round_id)
        ).all()
    )
    cards = [db.read_sync(tracking.public_card, i) for i in ids]
    assert all(c.milestones for c in cards)
    pictured = [m for c in cards for m in c.milestones if m.photos]
    assert pictured and all(m.done_on for m in pictured)
    assert all(p.alt and p.widths for m in pictured for p in m.photos)
    delayed = next(c for c in cards if c.status is ProjectStatus.DELAYED)
    assert delayed.status_reason and delayed.history
    impact = db.read_sync(tracking.round_impact, round_id)
    assert impact.totals and all(t.current > 0 for t in impact.totals)
    assert any(i.measurements for p in impact.projects for i in p.indicators)
