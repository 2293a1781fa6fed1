"""Whether a chained ballot is valid under the round's voting method (DESIGN.md, "Voting
methods"); the web app checks this before casting, the audit checks it again afterwards.

Definitions, for a ballot ``choices`` (project id -> whole number >= 1) in district ``d``:

* every project is one of ``d``'s projects;
* approval: every value is 1;
* knapsack: every value is 1 and the chosen projects cost at most ``d``'s budget in total;
* quadratic: the sum of the squared votes (:func:`pb.tally.quadratic_cost`) is at most
  ``credits``;
* cumulative: the sum of the points is at most ``points``;
* when set, ``min_choices <= number of projects chosen <= max_choices`` and, for quadratic and
  cumulative ballots, every value is at most ``max_per_project``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pb.tally import quadratic_cost

__all__ = ["ballot_problems"]


def _limits(method: Mapping[str, Any], choices: Mapping[str, int]) -> list[str]:
    problems = []
    chosen = len(choices)
    low, high = method.get("min_choices"), method.get("max_choices")
    if low is not None and chosen < low:
        problems.append(f"chooses {chosen} project(s), fewer than the minimum {low}")
    if high is not None and chosen > high:
        problems.append(f"chooses {chosen} project(s), more than the maximum {high}")
    cap = method.get("max_per_project")
    if method["kind"] in ("quadratic", "cumulative") and cap is not None:
        problems.extend(
            f"gives project {pid!r} {n}, more than the maximum {cap} per project"
            for pid, n in choices.items()
            if n > cap
        )
    return problems


def ballot_problems(
    config: Mapping[str, Any], district: Mapping[str, Any], choices: Mapping[str, int]
) -> list[str]:
    """What makes ``choices`` invalid in ``district`` (one entry of ``config["districts"]``)
    under ``config["method"]`` (module docstring); empty when the ballot is valid. ``choices``
    must already hold whole numbers >= 1 (see :func:`pb.audit.chain.ballot_record`)."""
    method = config["method"]
    kind = method["kind"]
    costs = {p["id"]: p["cost"] for p in district["projects"]}
    unknown = [pid for pid in choices if pid not in costs]
    if unknown:
        return [
            f"names project(s) {', '.join(map(repr, unknown))} not on the ballot of district "
            f"{district['key']!r}"
        ]
    problems = _limits(method, choices)
    if kind in ("approval", "knapsack"):
        problems.extend(
            f"gives project {pid!r} {n}; an {kind} ballot gives 1"
            for pid, n in choices.items()
            if n != 1
        )
    if kind == "knapsack":
        total = sum(costs[pid] for pid in choices)
        if total > district["budget"]:
            problems.append(
                f"chooses projects costing {total}, more than the budget {district['budget']}"
            )
    elif kind == "quadratic":
        spent = quadratic_cost(choices)
        if spent > method["credits"]:
            problems.append(
                f"spends {spent} voice credits, more than the {method['credits']} allowed"
            )
    elif kind == "cumulative":
        given = sum(choices.values())
        if given > method["points"]:
            problems.append(f"gives {given} points, more than the {method['points']} allowed")
    return problems
