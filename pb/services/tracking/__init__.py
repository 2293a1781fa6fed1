"""After the vote: funded projects carried out, followed and measured.

- :mod:`.projects`: which projects are funded (a published vote result, a published match) and
  what staff and project leads change on them; every change is audited and announced.
- :mod:`.follow`: residents follow projects; each update is one mail per follower.
- :mod:`.impact`: the town's indicator catalogue, projects' indicators and measurements.
- :mod:`.public`: the public read side (cards, a round's or a funding call's projects, a
  round's impact, a receipt's projects) as plain dataclasses that never hold anything
  unpublished or personal.
"""

from sqlalchemy.orm import Session

from pb.services.tracking.impact import ensure_catalogue, round_impact
from pb.services.tracking.projects import sync_funded
from pb.services.tracking.public import (
    ballot_projects,
    call_tracking,
    public_card,
    round_tracking,
)

__all__ = [
    "ballot_projects",
    "call_tracking",
    "on_publish",
    "public_card",
    "round_impact",
    "round_tracking",
]


def on_publish(session: Session) -> int:
    """Called in the transaction that publishes a vote result or a match: the funded projects
    get their cards, and the town a starter indicator catalogue if it has none."""
    added = sync_funded(session)
    if added:
        ensure_catalogue(session)
    return added
