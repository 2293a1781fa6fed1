"""The original quadratic funding of pb, kept as the reference for differential tests.

It expands every cross term ``sqrt(c_i c_j)`` (quadratic in the number of backers), so it is
only run on small inputs; ``pb.tally.funding.quadratic_funding`` must give the same matches.

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

from collections.abc import Iterable, Mapping

from pb.tally.errors import RuleError
from pb.tally.radicals import RadicalSum

__all__ = ["raw_match", "reference_quadratic_funding"]


def raw_match(contributions: Iterable[int]) -> RadicalSum:
    """``(sum sqrt(c))**2 - sum c`` over the residents' contributions ``c`` (exact)."""
    amounts = [c for c in contributions if c > 0]
    return RadicalSum.sqrt_sum(amounts).square() - RadicalSum.integer(sum(amounts))


def reference_quadratic_funding(
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
