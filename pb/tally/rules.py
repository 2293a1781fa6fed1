"""The rules by name, as written in pabulib META ``rule`` and on the ``pb tally`` command line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pb.tally.errors import RuleError
from pb.tally.greedy import greedy, greedy_no_skip, greedy_threshold
from pb.tally.mes import (
    equal_shares,
    equal_shares_add1,
    equal_shares_add1_comparison,
    equal_shares_comparison,
)
from pb.tally.model import Election
from pb.tally.outcome import Outcome
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, TieBreak

__all__ = ["RULES", "UNDEFINED_RULES", "tally"]

Rule = Callable[[Election, TieBreak], Outcome]

RULES: dict[str, Rule] = {
    "greedy": greedy,
    "greedy-no-skip": greedy_no_skip,
    "greedy-threshold": greedy_threshold,
    "equalshares": equal_shares,
    "equalshares/add1": equal_shares_add1,
    "equalshares/add1-comparison": equal_shares_add1_comparison,
    "equalshares-comparison": equal_shares_comparison,
}
"""Rule name -> rule function (each takes the election and the tie-break)."""

UNDEFINED_RULES = frozenset({"greedy-exclusive", "greedy-custom", "unknown"})
"""pabulib ``rule`` values that name no procedure pb can run: a greedy variant with city-specific
exceptions described in the file's comment, or a rule nobody knows."""


def tally(
    election: Election,
    rule: str | None = None,
    tie_break: TieBreak = DEFAULT_TIE_BREAK,
    *,
    ignore_threshold: bool = False,
) -> Outcome:
    """Run ``rule`` (default: the election's META ``rule``) with ``tie_break``.

    ``ignore_threshold`` tallies as if the election had no ``min_project_score_threshold`` (a
    what-if: every project is eligible; ``greedy-threshold`` then runs as ``greedy``).
    Raises :class:`RuleError` when the rule is absent or unknown, or when the rule cannot run on
    this election (e.g. greedy-threshold without a threshold).
    """
    name = rule if rule is not None else election.rule
    if not name:
        raise RuleError(f"no rule given and META names none; choose one of {', '.join(RULES)}")
    if name not in RULES:
        if name in UNDEFINED_RULES and name != "unknown":
            raise RuleError(
                f"rule {name!r} is a greedy variant with exceptions described in the file's "
                "comment, which pb cannot run; choose a rule with --rule (e.g. greedy)"
            )
        raise RuleError(f"unknown rule {name!r}; expected one of {', '.join(RULES)}")
    if ignore_threshold:
        election = replace(election, min_project_score_threshold=None)
        if name == "greedy-threshold":
            name = "greedy"
    return RULES[name](election, tie_break)
