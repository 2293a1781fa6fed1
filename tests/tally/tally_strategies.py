"""Hypothesis strategies for random small elections."""

from __future__ import annotations

from hypothesis import strategies as st
from tally_builders import election

from pb.tally.model import Election

# numeric and text ids, so that natural order and string order disagree
IDS = ["1", "2", "9", "10", "11", "a", "L9", "L010"]


@st.composite
def elections(
    draw: st.DrawFn,
    vote_type: str | None = None,
    min_cost: int = 0,
    nonempty_ballots: bool = False,
) -> Election:
    """An approval or cumulative election with 1-6 projects and 1-12 ballots."""
    kind = vote_type or draw(st.sampled_from(["approval", "cumulative"]))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True))
    costs = {pid: draw(st.integers(min_cost, 30)) for pid in ids}
    ballots: list[list[str] | dict[str, int]] = []
    for _ in range(draw(st.integers(1, 12))):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, min_size=int(nonempty_ballots)))
        if kind == "approval":
            ballots.append(chosen)
        else:
            ballots.append({pid: draw(st.integers(1, 4)) for pid in chosen})
    return election(
        draw(st.integers(0, 80)),
        costs,
        ballots,
        kind,
        min_project_score_threshold=draw(st.integers(0, 4)),
    )
