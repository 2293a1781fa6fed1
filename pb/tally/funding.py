"""Matching money from a funding call's pool: quadratic funding and capped 1:1 matching.

Inputs of both rules: pledges ``(resident, project, amount)`` in integer minor units (only the
fulfilled pledges of eligible residents are passed for the final match), the ``pool`` and each
project's ``remaining_need`` (what it still lacks to reach its goal; negative counts as 0).
A resident's pledges to one project are **added up first** into ``c`` (so splitting a pledge
in two earns nothing); zero amounts are ignored. Matches are whole minor units, never above the
project's need, and never sum to more than the pool: what is left stays in the pool. The
result does not depend on the order of the pledges.

Quadratic funding (``kind = "quadratic"``). A project's *raw match* is
``(sum_i sqrt(c_i))**2 - sum_i c_i = 2 * sum_{i<j} sqrt(c_i c_j)``: zero for one backer, and
growing with the number of distinct backers. Then:

1. if the raw matches together exceed the pool, all are scaled down by one factor
   ``f = available / total`` so that they sum to the pool;
2. a project whose (scaled) match exceeds its need is capped at its need, and the money this
   frees is shared among the uncapped projects in proportion to their raw matches (never beyond
   their raw match): ``available`` = pool - the capped needs, ``total`` = the uncapped raw
   matches; repeated until no further project is capped;
3. each uncapped match, ``raw * f``, is rounded *down* to whole minor units.

Capped 1:1 (``kind = "capped"``, Goteo's matchfunding): the call doubles what residents give,
within caps (``None`` = no cap):

1. each resident's pledge to a project is matched up to ``per_pledge_cap``:
   ``e = min(c, per_pledge_cap)``;
2. a resident whose ``e`` over all projects exceed ``per_resident_cap`` has each of them scaled
   to ``floor(per_resident_cap * e / sum e)``;
3. a project's match is the sum of its ``e``, at most ``per_project_cap`` and its need;
4. if these matches together exceed the pool, each becomes ``floor(match * pool / sum)``.

Exactness. No floating point enters a match. Capped 1:1 is integer arithmetic. Quadratic raw
matches are sums of square roots; every decision above — is the pool short (1), is a project
over its need (2), each floor (3) — is the exact sign of an integer combination of raw matches,
decided by :func:`pb.tally.raw_match.sign`: rigorous ``math.isqrt`` bounds at doubling precision
decide at once unless the value is extremely close to zero; a value that cannot be zero (an
irrational one) is refined until decided; projects with the same amounts are folded together
(so two identical projects tie exactly at once), and a combination that can still be zero
(coefficients of both signs) is expanded exactly over square-free radicands
(:mod:`pb.tally.radicals`). The full argument is in :mod:`pb.tally.raw_match`. Raw matches
that are whole numbers (every amount of a project with the same square-free part, e.g. all
perfect squares or all equal) are kept as integers. The cost
is ``O(n)`` integer square roots per precision level for ``n`` distinct amounts (almost always
one level, 64 bits), a sort of the projects by a lower bound of ``need / raw`` (so each capping
round tests only the projects that may be over), and integer sums of bounds per capping round;
the differential tests check the result against the former implementation, which expanded all
``n**2`` cross terms.

The live estimate (:func:`marginal_estimate`) is different: an approximation in floating point
from per-project aggregates, for "your €10 brings about €N"; it never decides a match.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pb.tally.errors import RuleError
from pb.tally.raw_match import FIRST_BITS, RawMatch, RawTotal, floor_raw, floor_share, sign

__all__ = [
    "MATCHING_KINDS",
    "MatchingRule",
    "ProjectAggregate",
    "capped_matching",
    "compute_matches",
    "marginal_estimate",
    "quadratic_funding",
    "raw_estimate",
]

MATCHING_KINDS = ("quadratic", "capped")
_CAPS = ("per_pledge_cap", "per_resident_cap", "per_project_cap")


@dataclass(frozen=True)
class MatchingRule:
    """The matching rule a funding call locks: its kind and, for capped 1:1, the caps in minor
    units (``None``: no cap). Raises :class:`RuleError` for an unknown kind, a cap that is not a
    whole number >= 0, or caps on the quadratic rule (which has none)."""

    kind: Literal["quadratic", "capped"]
    per_pledge_cap: int | None = None
    per_resident_cap: int | None = None
    per_project_cap: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in MATCHING_KINDS:
            raise RuleError(
                f"matching rule {self.kind!r} is not one of {', '.join(MATCHING_KINDS)}"
            )
        for name in _CAPS:
            cap = getattr(self, name)
            if cap is None:
                continue
            if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
                raise RuleError(f"{name} is {cap!r}, expected a whole number >= 0 or none")
            if self.kind == "quadratic":
                raise RuleError(f"the quadratic rule takes no caps ({name} is {cap})")

    def to_json_dict(self) -> dict[str, Any]:
        """``{"kind", "per_pledge_cap", "per_resident_cap", "per_project_cap"}``, every key."""
        return {"kind": self.kind, **{name: getattr(self, name) for name in _CAPS}}

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> MatchingRule:
        """The rule of :meth:`to_json_dict` (absent caps are ``None``); :class:`RuleError` for
        anything else, naming the field."""
        if not isinstance(data, Mapping):
            raise RuleError(f"a matching rule is an object, not {type(data).__name__}")
        extra = sorted(set(data) - {"kind", *_CAPS})
        if extra:
            raise RuleError(f"unknown matching rule field(s): {', '.join(map(repr, extra))}")
        kind = data.get("kind")
        if kind not in MATCHING_KINDS:
            raise RuleError(f"matching rule {kind!r} is not one of {', '.join(MATCHING_KINDS)}")
        return cls(kind, *(data.get(name) for name in _CAPS))


def _per_project(
    pledges: Iterable[tuple[str, str, int]], remaining_need: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """project -> resident -> summed amount; every pledged project gets a key."""
    per_project: dict[str, dict[str, int]] = {}
    for resident, project, amount in pledges:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise RuleError(f"pledge of {resident!r} to {project!r} is not a whole number")
        if amount < 0:
            raise RuleError(f"pledge of {resident!r} to {project!r} is negative: {amount}")
        if project not in remaining_need:
            raise RuleError(f"project {project!r} has pledges but no remaining need")
        by_resident = per_project.setdefault(project, {})
        by_resident[resident] = by_resident.get(resident, 0) + amount
    return per_project


def quadratic_funding(
    pledges: Iterable[tuple[str, str, int]],
    pool: int,
    remaining_need: Mapping[str, int],
) -> dict[str, int]:
    """Quadratic-funding matches for every project pledged to, in whole minor units.

    Inputs and definition: the module docstring. Every pledged project must be in
    ``remaining_need``. Rounding: down, the rest stays in the pool. Order independent. Raises
    :class:`RuleError` for a negative or non-integer amount or an unknown project.
    """
    per_project = _per_project(pledges, remaining_need)
    raw = {p: RawMatch(c.values()) for p, c in per_project.items()}
    need = {p: max(remaining_need[p], 0) for p in per_project}
    matches = dict.fromkeys(per_project, 0)
    available = max(pool, 0)
    # Projects in increasing order of a lower bound of need / raw: a project is capped exactly
    # when need / raw < f, so the scan for newly capped ones stops at the first bound >= f.
    scale = 1 << (2 * FIRST_BITS)

    lowest_ratio = {
        p: Fraction(need[p] * scale, r.bounds(FIRST_BITS)[1])
        for p, r in raw.items()
        if r.backers > 1
    }
    uncapped = sorted(lowest_ratio, key=lambda p: (lowest_ratio[p], p))
    while True:
        total = RawTotal(raw[p] for p in uncapped)
        scaled = bool(uncapped) and sign([(-1, total)], available) < 0
        total_lo = total.bounds(FIRST_BITS)[0]
        if not scaled:
            f_high = Fraction(1)
        elif total_lo > 0:
            f_high = Fraction(available * scale, total_lo)
        else:
            f_high = None  # no useful bound: test every project
        newly = set()
        for p in uncapped:
            if f_high is not None and lowest_ratio[p] >= f_high:
                break
            if scaled:
                over = sign([(available, raw[p]), (-need[p], total)]) > 0
            else:
                over = sign([(1, raw[p])], -need[p]) > 0
            if over:
                newly.add(p)
        if not newly:
            break
        for p in newly:
            matches[p] = need[p]
            available -= need[p]
        uncapped = [p for p in uncapped if p not in newly]
    for p in uncapped:
        matches[p] = floor_share(raw[p], available, total) if scaled else floor_raw(raw[p])
    return matches


def capped_matching(
    pledges: Iterable[tuple[str, str, int]],
    pool: int,
    remaining_need: Mapping[str, int],
    *,
    per_pledge_cap: int | None,
    per_resident_cap: int | None,
    per_project_cap: int | None,
) -> dict[str, int]:
    """Capped 1:1 matches for every project pledged to, in whole minor units.

    Inputs and definition: the module docstring (caps in minor units, ``None`` for none).
    Rounding: down at the per-resident scaling and at the pool scaling; the rest stays in the
    pool. Order independent. Raises :class:`RuleError` as :func:`quadratic_funding` does, and
    for a negative cap.
    """
    MatchingRule("capped", per_pledge_cap, per_resident_cap, per_project_cap)  # checks the caps
    per_project = _per_project(pledges, remaining_need)
    by_resident: dict[str, dict[str, int]] = {}
    for project, contributions in per_project.items():
        for resident, amount in contributions.items():
            if amount > 0:
                e = amount if per_pledge_cap is None else min(amount, per_pledge_cap)
                by_resident.setdefault(resident, {})[project] = e
    base = dict.fromkeys(per_project, 0)
    for eligible in by_resident.values():
        resident_total = sum(eligible.values())
        cap = resident_total if per_resident_cap is None else min(resident_total, per_resident_cap)
        for project, e in eligible.items():
            base[project] += e if cap == resident_total else cap * e // resident_total
    for project in base:
        limit = max(remaining_need[project], 0)
        if per_project_cap is not None:
            limit = min(limit, per_project_cap)
        base[project] = min(base[project], limit)
    pool = max(pool, 0)
    wanted = sum(base.values())
    if wanted <= pool:
        return base
    return {project: m * pool // wanted for project, m in base.items()}


def compute_matches(
    rule: MatchingRule,
    pledges: Iterable[tuple[str, str, int]],
    pool: int,
    remaining_need: Mapping[str, int],
) -> dict[str, int]:
    """The matches of ``rule`` (:func:`quadratic_funding` or :func:`capped_matching`)."""
    if rule.kind == "quadratic":
        return quadratic_funding(pledges, pool, remaining_need)
    return capped_matching(
        pledges,
        pool,
        remaining_need,
        per_pledge_cap=rule.per_pledge_cap,
        per_resident_cap=rule.per_resident_cap,
        per_project_cap=rule.per_project_cap,
    )


@dataclass(frozen=True)
class ProjectAggregate:
    """What a campaign keeps up to date for the live estimate, over the pledges of eligible
    residents that still count (one row per campaign, updated in the pledge's transaction):
    ``backers`` distinct residents, ``total`` their amounts, ``sum_sqrt`` the sum over residents
    of the square root of each resident's total to the project. Approximate values suffice."""

    backers: int
    total: int
    sum_sqrt: float


def _quadratic_raw(sum_sqrt: float, total: int) -> float:
    return max(sum_sqrt * sum_sqrt - total, 0.0)


def _capped_raw(rule: MatchingRule, aggregate: ProjectAggregate) -> float:
    matchable = float(aggregate.total)
    if rule.per_pledge_cap is not None:
        matchable = min(matchable, aggregate.backers * rule.per_pledge_cap)
    if rule.per_project_cap is not None:
        matchable = min(matchable, rule.per_project_cap)
    return matchable


def raw_estimate(rule: MatchingRule, aggregate: ProjectAggregate) -> float:
    """A project's match before the pool scaling, estimated from its aggregate: the quadratic
    raw match ``sum_sqrt**2 - total``, or (capped 1:1) its total within the per-pledge and
    per-project caps. The ``total_raw`` of :func:`marginal_estimate` is this summed over the
    call's open campaigns."""
    if rule.kind == "quadratic":
        return _quadratic_raw(aggregate.sum_sqrt, aggregate.total)
    return _capped_raw(rule, aggregate)


def marginal_estimate(
    rule: MatchingRule,
    aggregate: ProjectAggregate,
    resident_current: int,
    add: int,
    pool: int,
    total_raw: float,
    *,
    remaining_need: int | None = None,
) -> int:
    """About how much more match the project gets if this (eligible) resident pledges ``add``
    more; an ineligible resident brings no match, so do not ask. Floating point, ``O(1)``.

    ``resident_current`` is what the resident already pledges (and the aggregate counts): to
    this project for the quadratic rule, in the whole call for capped 1:1 (the per-resident cap
    spans the call). ``total_raw`` is :func:`raw_estimate` summed over the call's projects.

    Quadratic: the change of ``raw * min(1, pool / total_raw)`` when the resident's square root
    in ``sum_sqrt`` moves from ``sqrt(current)`` to ``sqrt(current + add)`` and ``total_raw``
    moves by the change of the raw match. Capped 1:1: the same with the project's capped total,
    ``add`` counted up to the per-pledge cap and what is left of the per-resident cap, the total
    up to the per-project cap. With ``remaining_need`` the match is held at most at the need
    (less ``add`` afterwards). Rounded down, never negative.
    """
    if add <= 0 or pool <= 0:
        return 0
    current = max(resident_current, 0)
    if rule.kind == "quadratic":
        before = _quadratic_raw(aggregate.sum_sqrt, aggregate.total)
        moved = aggregate.sum_sqrt - math.sqrt(current) + math.sqrt(current + add)
        after = _quadratic_raw(moved, aggregate.total + add)
    else:
        before = _capped_raw(rule, aggregate)
        gained = float(add)
        if rule.per_pledge_cap is not None:
            gained = min(gained, rule.per_pledge_cap)
        if rule.per_resident_cap is not None:
            gained = min(gained, max(rule.per_resident_cap - current, 0))
        after = before + gained
        if rule.per_project_cap is not None:
            after = min(after, rule.per_project_cap)
    total_after = max(total_raw, before) - before + after

    def scaled(raw: float, total: float) -> float:
        return raw if total <= pool else raw * pool / total

    match_before, match_after = scaled(before, max(total_raw, before)), scaled(after, total_after)
    if remaining_need is not None:
        match_before = min(match_before, max(remaining_need, 0))
        match_after = min(match_after, max(remaining_need - add, 0))
    return max(math.floor(match_after - match_before), 0)
