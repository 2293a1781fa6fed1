"""Quadratic funding of crowdfunding projects from a matching pool.

Definition. For a project with pledges from residents ``i`` (each resident's pledges to the
project summed first into ``c_i``, in integer minor units), the *raw match* is
``(sum_i sqrt(c_i))**2 - sum_i c_i``, which is ``2 * sum_{i<j} sqrt(c_i * c_j)``: zero for a
single pledger, and growing with the number of distinct residents. Then:

1. if the raw matches together exceed the pool, all are scaled down by the same factor so that
   they sum to the pool;
2. a project whose (scaled) match exceeds what it still needs is capped at that need, and the
   money this frees is shared among the uncapped projects in proportion to their raw matches
   (never beyond their raw match); repeated until no further project is capped;
3. each match is rounded *down* to whole minor units; what is left stays in the pool.

Exactness. Raw matches are sums of square roots; they are kept as exact
:class:`~pb.tally.radicals.RadicalSum` values and every comparison and every final floor is
decided exactly (see :mod:`pb.tally.radicals`). No floating point is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pb.tally.errors import RuleError
from pb.tally.radicals import RadicalSum

__all__ = [
    "MatchingRule",
    "ProjectAggregate",
    "marginal_estimate",
    "quadratic_funding",
    "raw_estimate",
    "raw_match",
]


def raw_match(contributions: Iterable[int]) -> RadicalSum:
    """``(sum sqrt(c))**2 - sum c`` over the residents' contributions ``c`` (exact)."""
    amounts = [c for c in contributions if c > 0]
    return RadicalSum.sqrt_sum(amounts).square() - RadicalSum.integer(sum(amounts))


def quadratic_funding(
    pledges: Iterable[tuple[str, str, int]],
    pool: int,
    remaining_need: Mapping[str, int],
) -> dict[str, int]:
    """Matches from the pool for every project pledged to, in whole minor units.

    Inputs: ``pledges`` as ``(resident, project, amount)`` with integer ``amount >= 0`` (a
    resident's pledges to one project are added up first); ``pool`` the matching money;
    ``remaining_need`` what each project still needs (every pledged project must be present;
    a negative need counts as 0). Definition and rounding: see the module docstring. Order of
    the pledges does not matter; the matches never sum to more than the pool, and none exceeds
    its project's need. Raises :class:`RuleError` for a negative amount or an unknown project.
    """
    per_project: dict[str, dict[str, int]] = {}
    for resident, project, amount in pledges:
        if amount < 0:
            raise RuleError(f"pledge of {resident!r} to {project!r} is negative: {amount}")
        if project not in remaining_need:
            raise RuleError(f"project {project!r} has pledges but no remaining need")
        by_resident = per_project.setdefault(project, {})
        by_resident[resident] = by_resident.get(resident, 0) + amount
    raw = {p: raw_match(c.values()) for p, c in per_project.items()}
    need = {p: max(remaining_need[p], 0) for p in per_project}
    matches = dict.fromkeys(per_project, 0)
    pool = max(pool, 0)
    uncapped = {p for p, r in raw.items() if r.terms}  # projects with a positive raw match
    capped: set[str] = set()
    while True:
        available = pool - sum(need[p] for p in capped)
        total = sum((raw[p] for p in uncapped), RadicalSum())
        # share factor f = min(1, available / total); p is capped when f * raw_p > need_p
        scaled = bool(uncapped) and (RadicalSum.integer(available) - total).sign() < 0
        newly = set()
        for p in uncapped:
            over = (
                (raw[p] * available - total * need[p]).sign() > 0
                if scaled
                else (raw[p] - RadicalSum.integer(need[p])).sign() > 0
            )
            if over:
                newly.add(p)
        if not newly:
            break
        uncapped -= newly
        capped |= newly
    for p in capped:
        matches[p] = need[p]
    for p in uncapped:
        matches[p] = raw[p].floor_ratio(available, total) if scaled else raw[p].floor()
    return matches


@dataclass(frozen=True)
class MatchingRule:
    """The matching rule a funding call locks: quadratic funding, or capped 1:1 matching with
    optional caps (minor units) per pledge, per resident (over the whole call) and per project."""

    kind: Literal["quadratic", "capped"]
    per_pledge_cap: int | None = None
    per_resident_cap: int | None = None
    per_project_cap: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "per_pledge_cap": self.per_pledge_cap,
            "per_resident_cap": self.per_resident_cap,
            "per_project_cap": self.per_project_cap,
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> MatchingRule:
        kind = data.get("kind")
        if kind not in ("quadratic", "capped"):
            raise RuleError(f"unknown matching rule {kind!r}")
        caps: dict[str, int | None] = {}
        for name in ("per_pledge_cap", "per_resident_cap", "per_project_cap"):
            value = data.get(name)
            if value is not None and (type(value) is not int or value < 0):
                raise RuleError(f"{name} must be a whole number of minor units >= 0: {value!r}")
            caps[name] = value
        return cls(kind, **caps)


@dataclass(frozen=True)
class ProjectAggregate:
    """Running totals of one project's eligible pledges (each resident's summed first):
    ``backers`` residents, ``total`` minor units, ``sum_sqrt`` = sum of their square roots."""

    backers: int
    total: int
    sum_sqrt: float


def raw_estimate(rule: MatchingRule, aggregate: ProjectAggregate) -> float:
    """A project's approximate raw match (before scaling to the pool) from its aggregate:
    ``sum_sqrt**2 - total`` for quadratic funding; the total up to the project cap for capped
    matching (per-pledge and per-resident caps are not visible in an aggregate)."""
    if rule.kind == "quadratic":
        return max(aggregate.sum_sqrt**2 - aggregate.total, 0.0)
    if rule.per_project_cap is None:
        return float(aggregate.total)
    return float(min(aggregate.total, rule.per_project_cap))


def marginal_estimate(
    rule: MatchingRule,
    aggregate: ProjectAggregate,
    resident_current: int,
    add: int,
    pool: int,
    total_raw: float,
) -> int:
    """About how much more match a project gets if a resident who has already pledged
    ``resident_current`` to it (and whose pledges count for matching) adds ``add``.

    For the live "your €10 brings about €N" hint, not for the final match: floating point, no
    caps at the projects' needs, and the pool shared in proportion to ``total_raw`` (the sum of
    :func:`raw_estimate` over the call's projects). Rounded down; never negative, never above
    the pool. With the capped rule ``resident_current`` stands for what the resident has
    pledged in the whole call (for the per-resident cap)."""
    if add <= 0 or pool <= 0:
        return 0
    before = raw_estimate(rule, aggregate)
    if rule.kind == "quadratic":
        current = max(resident_current, 0)
        sum_sqrt = aggregate.sum_sqrt - math.sqrt(current) + math.sqrt(current + add)
        after = max(sum_sqrt**2 - (aggregate.total + add), 0.0)
    else:
        counted = add
        if rule.per_pledge_cap is not None:
            counted = min(counted, rule.per_pledge_cap)
        if rule.per_resident_cap is not None:
            counted = min(counted, max(rule.per_resident_cap - max(resident_current, 0), 0))
        after = raw_estimate(
            rule, ProjectAggregate(aggregate.backers, aggregate.total + counted, 0.0)
        )
    total_before = max(total_raw, before)
    total_after = total_before - before + after
    share_before = before * min(1.0, pool / total_before) if total_before > 0 else 0.0
    share_after = after * min(1.0, pool / total_after) if total_after > 0 else 0.0
    return max(0, min(pool, math.floor(share_after - share_before)))
