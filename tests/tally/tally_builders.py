"""Small builders for hand-made elections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pb.tally.model import Ballot, Election, Project


def election(
    budget: int,
    costs: Mapping[str, int],
    ballots: Iterable[Iterable[str] | Mapping[str, int]],
    vote_type: str = "approval",
    **fields: int,
) -> Election:
    """An election with projects ``costs`` (id -> cost) and ballots given as lists of approved
    ids or as id -> points mappings; voters are named v0, v1, ..."""
    made = []
    for n, b in enumerate(ballots):
        points = dict(b) if isinstance(b, Mapping) else dict.fromkeys(b, 1)
        made.append(Ballot(f"v{n}", points))
    return Election(
        budget=budget,
        projects=tuple(Project(pid, cost, f"project {pid}") for pid, cost in costs.items()),
        ballots=tuple(made),
        vote_type=vote_type,
        meta={"description": "hand-made"},
        **fields,  # type: ignore[arg-type]
    )
