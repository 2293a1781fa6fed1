"""Project scores: what greedy ranks by and what the outcome reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from itertools import chain

from pb.tally.model import APPROVAL_LIKE, Election

__all__ = ["project_scores", "supporter_counts"]


def project_scores(election: Election) -> dict[str, int]:
    """Score of every project (0 when nobody chose it), keyed by project id.

    Definition: the sum over ballots of the points a ballot gives the project, i.e. the number of
    approvals for approval and choose-1 ballots, the sum of points for cumulative and scoring
    ballots, the sum of votes for quadratic ballots and the sum of positional scores for ordinal
    ballots (see :mod:`pb.tally.pabulib` for the positional scoring). Exact integers.
    """
    scores = dict.fromkeys((p.id for p in election.projects), 0)
    if election.vote_type in APPROVAL_LIKE:
        scores.update(Counter(chain.from_iterable(b.points for b in election.ballots)))
        return scores
    for ballot in election.ballots:
        for pid, points in ballot.points.items():
            scores[pid] += points
    return scores


def supporter_counts(election: Election, scores: Mapping[str, int] | None = None) -> dict[str, int]:
    """Number of ballots giving each project a positive score, keyed by project id.

    For approval-like ballots this is the score; pass ``scores`` to reuse them.
    """
    if scores is not None and election.vote_type in APPROVAL_LIKE:
        return dict(scores)
    counts = dict.fromkeys((p.id for p in election.projects), 0)
    if election.vote_type in APPROVAL_LIKE:
        counts.update(Counter(chain.from_iterable(b.points for b in election.ballots)))
        return counts
    for ballot in election.ballots:
        for pid, points in ballot.points.items():
            if points > 0:
                counts[pid] += 1
    return counts
