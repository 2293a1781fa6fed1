"""Invariants of every rule on random small elections (Hypothesis)."""

from __future__ import annotations

import dataclasses
import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from tally_strategies import elections

from pb.tally.model import APPROVAL_LIKE, Election
from pb.tally.outcome import JSONValue, Outcome
from pb.tally.rules import RULES, tally

SETTINGS = settings(max_examples=100, deadline=None)


def _canonical(outcome: Outcome) -> dict[str, JSONValue]:
    data = outcome.to_json_dict()
    projects = data["projects"]
    assert isinstance(projects, list)
    data["projects"] = sorted(projects, key=lambda p: p["id"])  # type: ignore[index]
    return data


@given(elections())
@SETTINGS
def test_no_rule_spends_more_than_the_budget(e: Election) -> None:
    costs = {p.id: p.cost for p in e.projects}
    for rule in RULES:
        out = tally(e, rule)
        assert out.spent == sum(costs[pid] for pid in out.selected) <= e.budget
        assert len(set(out.selected)) == len(out.selected)
        assert {p.id for p in out.projects if p.selected} == set(out.selected)


@given(elections(), st.randoms(use_true_random=False))
@SETTINGS
def test_outcomes_do_not_depend_on_ballot_or_project_order(e: Election, rng: random.Random) -> None:
    ballots = list(e.ballots)
    projects = list(e.projects)
    rng.shuffle(ballots)
    rng.shuffle(projects)
    shuffled = dataclasses.replace(e, ballots=tuple(ballots), projects=tuple(projects))
    for rule in RULES:
        assert _canonical(tally(shuffled, rule)) == _canonical(tally(e, rule)), rule


@given(elections())
@SETTINGS
def test_greedy_leaves_no_unfunded_project_that_fits(e: Election) -> None:
    out = tally(e, "greedy")
    left = e.budget - out.spent
    score = {p.id: p.score for p in out.projects}
    threshold = e.min_project_score_threshold or 0
    eligible = [p for p in e.projects if score[p.id] >= threshold]
    assert all(p.cost > left for p in eligible if p.id not in out.selected)
    assert all(score[pid] >= threshold for pid in out.selected)


@given(elections())
@SETTINGS
def test_mes_charges_no_voter_more_than_they_have(e: Election) -> None:
    # replay the published explanation: every supporter pays min(budget, rho * utility), the
    # payments add up to the cost exactly, and nobody goes below zero
    for rule in ("equalshares", "equalshares/add1"):
        out = tally(e, rule)
        start = next(s for s in out.steps if s.kind == "start")
        share = Fraction(str(start.data["per_voter"]["exact"]))  # type: ignore[index]
        budgets = [share] * len(e.ballots)
        costs = {p.id: p.cost for p in e.projects}
        for step in out.steps:
            if step.kind != "bought":
                continue
            pid = step.project
            assert pid is not None
            rho = Fraction(str(step.data["rho"]["exact"]))  # type: ignore[index]
            paid = Fraction(0)
            capped = 0
            for i, ballot in enumerate(e.ballots):
                points = ballot.points.get(pid, 0)
                if points <= 0:
                    continue
                utility = costs[pid] if e.vote_type in APPROVAL_LIKE else points
                owed = rho * utility
                capped += owed > budgets[i]
                pay = min(budgets[i], owed)
                budgets[i] -= pay
                paid += pay
                assert budgets[i] >= 0
            assert paid == costs[pid]
            assert capped == step.data["capped"]
        assert sum(budgets) == share * len(e.ballots) - out.spent + sum(
            costs[p] for p in out.selected if costs[p] == 0
        )
