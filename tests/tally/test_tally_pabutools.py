"""Differential tests against pabutools, an independent exact implementation.

pabutools is set up to compute the same thing: greedy ranks by satisfaction per unit of cost, so
a satisfaction of ``points * cost`` ranks by score; MES uses cost utilities (``Cost_Sat``) for
approval ballots and the points (``Additive_Cardinal_Sat``) for cumulative ones; the budget is
the floored one we use; ties are broken by our tie-break (pabutools' default compares ids as
strings); and pabutools gets only the eligible projects (pabutools has no threshold: under every
rule ours leaves out a project below META ``min_project_score_threshold``). Elections go to
pabutools through our pabulib writer, which tests that too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from tally_paths import DATA
from tally_strategies import elections

from pb.tally import dumps, equal_shares, greedy, load
from pb.tally.model import APPROVAL_LIKE, ORDINAL, Election
from pb.tally.scores import project_scores
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, Candidate

pabulib = pytest.importorskip("pabutools.election.pabulib")
satisfaction = pytest.importorskip("pabutools.election.satisfaction")
rules = pytest.importorskip("pabutools.rules")
tiebreaking = pytest.importorskip("pabutools.tiebreaking")
fractions = pytest.importorskip("pabutools.fractions")
Instance = pytest.importorskip("pabutools.election.instance").Instance


class PointsTimesCost(satisfaction.AdditiveSatisfaction):  # type: ignore[misc]
    """Satisfaction points * cost: greedy's satisfaction per unit of cost is then the score."""

    def __init__(self, instance: Any, profile: Any, ballot: Any) -> None:
        def func(inst: Any, prof: Any, b: Any, project: Any, pre: Any) -> Any:
            points = b.get(project, 0) if hasattr(b, "get") else int(project in b)
            return points * project.cost

        super().__init__(instance, profile, ballot, func)


def _pabutools(e: Election) -> tuple[Any, Any, Any]:
    parsed, profile = pabulib.parse_pabulib_from_string(dumps(e))
    scores = project_scores(e)
    threshold = e.min_project_score_threshold or 0
    instance = Instance(
        [p for p in parsed if scores[p.name] >= threshold], budget_limit=fractions.frac(e.budget)
    )

    def key(inst: Any, prof: Any, project: Any) -> Any:
        return DEFAULT_TIE_BREAK.key(
            Candidate(project.name, int(project.cost), scores.get(project.name, 0))
        )

    return instance, profile, tiebreaking.TieBreakingRule(key)


def pabutools_greedy(e: Election) -> list[str]:
    instance, profile, tie = _pabutools(e)
    out = rules.greedy_utilitarian_welfare(
        instance, profile, sat_class=PointsTimesCost, tie_breaking=tie
    )
    return [p.name for p in out]


def pabutools_mes(e: Election) -> list[str]:
    instance, profile, tie = _pabutools(e)
    cost_sat = e.vote_type in APPROVAL_LIKE
    sat = satisfaction.Cost_Sat if cost_sat else satisfaction.Additive_Cardinal_Sat
    out = rules.method_of_equal_shares(instance, profile, sat_class=sat, tie_breaking=tie)
    return [p.name for p in out]


Check = Callable[[Election], list[str]]


@given(elections(min_cost=1, nonempty_ballots=True))
@settings(max_examples=40, deadline=None)
def test_greedy_agrees_with_pabutools_on_random_elections(e: Election) -> None:
    assert list(greedy(e).selected) == pabutools_greedy(e)


# costs from 1: we fund a supported project that costs nothing; with cost utilities pabutools
# (and equalshares.net) never buys it, its utility being 0.
@given(elections(min_cost=1, nonempty_ballots=True))
@settings(max_examples=40, deadline=None)
def test_mes_agrees_with_pabutools_on_random_elections(e: Election) -> None:
    assert list(equal_shares(e).selected) == pabutools_mes(e)


# Toulouse 2022 takes pabutools several seconds; the ordinal Kraków file has no pabutools
# counterpart for these satisfactions.
REAL = [
    p
    for p in sorted(DATA.glob("*.pb"))
    if "Toulouse_2022" not in p.name and load(p).vote_type != ORDINAL
]


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_greedy_and_mes_agree_with_pabutools_on_real_files(path: Path) -> None:
    e = load(path)
    assert list(greedy(e).selected) == pabutools_greedy(e)
    assert list(equal_shares(e).selected) == pabutools_mes(e)
