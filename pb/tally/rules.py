"""The rules by name, as written in pabulib META ``rule`` and on the ``pb tally`` command line."""

from __future__ import annotations

from collections.abc import Callable

from pb.tally.errors import RuleError
from pb.tally.greedy import greedy, greedy_no_skip, greedy_threshold
from pb.tally.mes import equal_shares, equal_shares_add1, equal_shares_add1_comparison
from pb.tally.model import Election
from pb.tally.outcome import Outcome
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, TieBreak

__all__ = ["RULES", "tally"]

Rule = Callable[[Election, TieBreak], Outcome]

RULES: dict[str, Rule] = {
    "greedy": greedy,
    "greedy-no-skip": greedy_no_skip,
    "greedy-threshold": greedy_threshold,
    "equalshares": equal_shares,
    "equalshares/add1": equal_shares_add1,
    "equalshares/add1-comparison": equal_shares_add1_comparison,
}
"""Rule name -> rule function (each takes the election and the tie-break)."""


def tally(
    election: Election, rule: str | None = None, tie_break: TieBreak = DEFAULT_TIE_BREAK
) -> Outcome:
    """Run ``rule`` (default: the election's META ``rule``) with ``tie_break``.

    Raises :class:`RuleError` when the rule is absent or unknown, or when the rule cannot run on
    this election (e.g. greedy-threshold without a threshold).
    """
    name = rule if rule is not None else election.rule
    if not name:
        raise RuleError(f"no rule given and META names none; choose one of {', '.join(RULES)}")
    if name not in RULES:
        raise RuleError(f"unknown rule {name!r}; expected one of {', '.join(RULES)}")
    return RULES[name](election, tie_break)
