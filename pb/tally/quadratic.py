"""Quadratic voting: each voter spreads votes over projects, paying votes² voice credits.

In pabulib files a quadratic ballot is a cumulative ballot (points = votes) and the election
carries the extra META key ``quadratic_credits``. A project's score is the sum of its votes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from pb.tally.errors import BallotError

__all__ = ["quadratic_cost", "quadratic_scores", "validate_quadratic_ballot"]


def quadratic_cost(votes: Mapping[str, int]) -> int:
    """The voice credits a ballot spends: the sum of votes² over its projects."""
    return sum(v * v for v in votes.values())


def validate_quadratic_ballot(
    votes: Mapping[str, int],
    credits: int,
    projects: Collection[str] | None = None,
) -> None:
    """Check a quadratic ballot; raise :class:`BallotError` naming the first problem.

    Valid when every number of votes is an ``int`` (not a bool) that is not negative, every
    project is in ``projects`` (when given), and the sum of votes² is at most ``credits``.
    """
    for pid, v in votes.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise BallotError(f"votes for project {pid!r} must be a whole number, got {v!r}")
        if v < 0:
            raise BallotError(f"votes for project {pid!r} cannot be negative, got {v}")
        if projects is not None and pid not in projects:
            raise BallotError(f"project {pid!r} is not on the ballot")
    spent = quadratic_cost(votes)
    if spent > credits:
        raise BallotError(f"the votes cost {spent} voice credits, more than the {credits} allowed")


def quadratic_scores(ballots: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Score of each project named on some ballot: the sum of the votes it received."""
    scores: dict[str, int] = {}
    for votes in ballots:
        for pid, v in votes.items():
            scores[pid] = scores.get(pid, 0) + v
    return scores
