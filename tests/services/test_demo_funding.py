"""The demo town has a call in its pledging window and one whose pledging has closed."""

from __future__ import annotations

from pb.db import Database
from pb.services import demo
from pb.services.funding import board, calls, pledges, tasks
from tests import frozen


def test_demo_has_a_call_pledging_and_one_collecting(db: Database) -> None:
    hashes = {login.email: "not-a-real-hash" for login in demo.DEMO_LOGINS}
    db.write_sync(demo.load_demo, hashes, frozen.TODAY)

    def read(session):  # type: ignore[no-untyped-def]
        out = []
        for summary in calls.list_calls(session, frozen.TODAY, include_drafts=True):
            call = calls.get_call(session, summary.id)
            cards, task_views = board.cards(session, call, frozen.TODAY)
            out.append((summary.phase, call.config_sha256 is not None, cards, task_views))
        return out

    found = {phase: rest for phase, *rest in db.read_sync(read)}
    assert {calls.CallPhase.PLEDGING, calls.CallPhase.COLLECTING} <= set(found)
    locked, cards, task_views = found[calls.CallPhase.PLEDGING]
    assert locked and len(cards) >= 2 and all(c.backers > 0 for c in cards)
    assert any(c.proposal_id is not None for c in cards)  # an unfunded project of last year
    assert any(t.taken > 0 for t in task_views)
    locked, cards, _tasks = found[calls.CallPhase.COLLECTING]
    assert locked and sorted(c.state for c in cards) == ["failed", "succeeded"]
    rosa = db.read_sync(lambda s: pledges.my_pledges(s, 4, frozen.TODAY))
    assert [p.public_name for p in rosa] == ["Rosa"] and rosa[0].changeable
    assert db.read_sync(tasks.time_totals, 4).minutes_pledged == 0
