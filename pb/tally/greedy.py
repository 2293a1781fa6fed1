"""Greedy rules: rank projects by score and fund them in turn while the money lasts.

Three variants, as cities run them:

* ``greedy``: fund each project in rank order if it fits the remaining budget, else skip it;
* ``greedy-no-skip``: stop at the first project that does not fit;
* ``greedy-threshold``: like ``greedy``, for a file that must have a
  ``min_project_score_threshold``.

Eligibility is the election's, the same under every variant (and under MES): a project whose score
is below the election's ``min_project_score_threshold`` is not eligible, and a project costing
the pabulib sentinel 999999999 (on the ballot but impossible to carry out; pabulib files only,
see :attr:`Election.sentinel_cost`) is never funded;
``greedy-no-skip`` passes over both without stopping. This is how pabulib's checker verifies the
published selections.

Ranking: score descending (see :func:`pb.tally.scores.project_scores`); projects with equal
scores are ordered by the tie-break, and every such group is reported as a tie. All arithmetic is
on integers.
"""

from __future__ import annotations

from collections.abc import Mapping

from pb.tally.errors import RuleError
from pb.tally.model import Election
from pb.tally.outcome import JSONValue, Outcome, ProjectResult, Step, Tie
from pb.tally.scores import project_scores, supporter_counts
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, Candidate, TieBreak

__all__ = ["greedy", "greedy_no_skip", "greedy_ranking", "greedy_threshold", "make_outcome"]


def greedy_ranking(
    election: Election,
    tie_break: TieBreak = DEFAULT_TIE_BREAK,
    threshold: int | None = None,
    scores: Mapping[str, int] | None = None,
) -> tuple[list[Candidate], list[Tie]]:
    """All projects ranked by score descending, equal scores ordered by ``tie_break``.

    Returns the ranking and one :class:`Tie` per group of two or more projects with equal score
    (only groups scoring at least ``threshold`` when one is given: the others are not eligible).
    ``scores`` defaults to :func:`project_scores`.
    """
    if scores is None:
        scores = project_scores(election)
    candidates = [Candidate(p.id, p.cost, scores[p.id]) for p in election.projects]
    ranking = sorted(candidates, key=lambda c: (-c.score, tie_break.key(c)))
    ties: list[Tie] = []
    start = 0
    for end in range(1, len(ranking) + 1):
        if end == len(ranking) or ranking[end].score != ranking[start].score:
            if end - start > 1 and (threshold is None or ranking[start].score >= threshold):
                group = ranking[start:end]
                ties.append(
                    Tie(
                        context=f"ranking, positions {start + 1}-{end}",
                        on=f"score {group[0].score}",
                        projects=tuple(c.id for c in group),
                        winner=group[0].id,
                        decided_by=tie_break.deciding(group[0], group[1]),
                    )
                )
            start = end
    return ranking, ties


def _greedy(
    election: Election,
    rule: str,
    tie_break: TieBreak,
    *,
    skip: bool,
    threshold: int | None,
) -> Outcome:
    scores = project_scores(election)
    ranking, ties = greedy_ranking(election, tie_break, threshold, scores)
    remaining = election.budget
    selected: list[str] = []
    steps: list[Step] = []
    stopped = False
    sentinel = election.sentinel_cost
    for c in ranking:
        data: dict[str, JSONValue] = {"cost": c.cost, "score": c.score, "remaining": remaining}
        if c.cost == sentinel:
            steps.append(
                Step(
                    "ineligible",
                    f"{c.id}: not eligible, cost {c.cost} marks a project that could not be "
                    "carried out",
                    c.id,
                    data,
                )
            )
        elif threshold is not None and c.score < threshold:
            steps.append(
                Step(
                    "ineligible",
                    f"{c.id}: not eligible, score {c.score} below threshold {threshold}",
                    c.id,
                    {**data, "threshold": threshold},
                )
            )
        elif stopped:
            steps.append(Step("not-considered", f"{c.id}: not considered (stopped)", c.id, data))
        elif c.cost <= remaining:
            remaining -= c.cost
            selected.append(c.id)
            steps.append(
                Step(
                    "funded",
                    f"{c.id}: funded (score {c.score}, cost {c.cost}); "
                    f"remaining budget {remaining}",
                    c.id,
                    {**data, "remaining_after": remaining},
                )
            )
        elif skip:
            steps.append(
                Step(
                    "skipped",
                    f"{c.id}: skipped, did not fit: remaining budget {remaining} < cost {c.cost}",
                    c.id,
                    data,
                )
            )
        else:
            stopped = True
            steps.append(
                Step(
                    "stopped",
                    f"{c.id}: did not fit (remaining budget {remaining} < cost {c.cost}); "
                    "stopped (no-skip)",
                    c.id,
                    data,
                )
            )
    return make_outcome(election, rule, tie_break, selected, ties, steps, scores=scores)


def make_outcome(
    election: Election,
    rule: str,
    tie_break: TieBreak,
    selected: list[str],
    ties: list[Tie],
    steps: list[Step],
    details: Mapping[str, JSONValue] | None = None,
    scores: Mapping[str, int] | None = None,
) -> Outcome:
    """Assemble an :class:`Outcome` (per-project results in the election's project order);
    ``scores`` defaults to :func:`project_scores`."""
    if scores is None:
        scores = project_scores(election)
    supporters = supporter_counts(election, scores)
    chosen = set(selected)
    costs = {p.id: p.cost for p in election.projects}
    return Outcome(
        rule=rule,
        budget=election.budget,
        selected=tuple(selected),
        spent=sum(costs[pid] for pid in selected),
        projects=tuple(
            ProjectResult(p.id, p.cost, scores[p.id], supporters[p.id], p.id in chosen)
            for p in election.projects
        ),
        tie_break=tie_break.criteria,
        ties=tuple(ties),
        steps=tuple(steps),
        details=details or {},
    )


def greedy(election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Greedy by score, skipping projects that do not fit.

    Inputs: the election (any vote type) and the tie-break for equal scores. Definition: rank all
    projects by score (descending, ties by ``tie_break``); walk the ranking and fund each eligible
    project (module docstring: score at least the election's threshold, if any, and not the
    sentinel cost) whose cost is at most the remaining budget. Integers only; never exceeds the
    budget.
    """
    threshold = election.min_project_score_threshold
    return _greedy(election, "greedy", tie_break, skip=True, threshold=threshold)


def greedy_no_skip(election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Greedy by score that stops at the first project that does not fit.

    As :func:`greedy`, except that the walk ends at the first eligible project whose cost exceeds
    the remaining budget; the projects after it are not considered.
    """
    threshold = election.min_project_score_threshold
    return _greedy(election, "greedy-no-skip", tie_break, skip=False, threshold=threshold)


def greedy_threshold(
    election: Election,
    tie_break: TieBreak = DEFAULT_TIE_BREAK,
    *,
    threshold: int | None = None,
) -> Outcome:
    """Greedy by score among projects whose score reaches a threshold.

    ``threshold`` defaults to the election's META ``min_project_score_threshold`` (which
    :func:`greedy` applies too: this rule only insists that there is one, and lets a caller
    pass another); a project with score strictly below it is not eligible. Otherwise as
    :func:`greedy`. Raises :class:`RuleError` when there is no threshold.
    """
    if threshold is None:
        threshold = election.min_project_score_threshold
    if threshold is None:
        raise RuleError("greedy-threshold needs min_project_score_threshold in META")
    return _greedy(election, "greedy-threshold", tie_break, skip=True, threshold=threshold)
