"""The tie-break: an explicit, recorded order between projects a rule cannot tell apart.

The default, and what pb records for a round unless staff chose otherwise, is
``lower-cost, higher-score, natural-id``: the cheaper project first, then the one with the higher
score, then the project id in natural order (runs of digits compared as numbers: "9" < "10",
"L9" < "L010"). The natural-id criterion always ends the order, so it is total and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pb.tally.errors import RuleError

__all__ = ["CRITERIA", "DEFAULT_TIE_BREAK", "Candidate", "TieBreak", "natural_key"]

CRITERIA = ("lower-cost", "higher-cost", "higher-score", "lower-score", "natural-id")
"""The criteria a tie-break may use, in any order."""

_DIGITS = re.compile(r"([0-9]+)")

NaturalKey = tuple[tuple[tuple[int, int, str], ...], str]


def natural_key(project_id: str) -> NaturalKey:
    """Sort key for project ids in natural order.

    The id is cut into runs of ASCII digits and runs of other characters. Digit runs compare as
    numbers and come before text runs at the same position; text runs compare as strings. Equal
    numbers with different spellings ("7" and "07") and any remaining tie are ordered by the id
    string itself, so the order is total: "9" < "10" < "10a" < "L9" < "L010" < "a".
    """
    parts: list[tuple[int, int, str]] = []
    for chunk in _DIGITS.split(project_id):
        if chunk:
            parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return tuple(parts), project_id


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the tie-break may look at: a project's id, cost and score."""

    id: str
    cost: int
    score: int


@dataclass(frozen=True, slots=True)
class TieBreak:
    """An order on projects, given as criteria applied one after the other.

    ``criteria`` are names from :data:`CRITERIA`; ``natural-id`` is appended when absent so that
    the order is total.
    """

    criteria: tuple[str, ...] = ("lower-cost", "higher-score", "natural-id")

    def __post_init__(self) -> None:
        unknown = [c for c in self.criteria if c not in CRITERIA]
        if unknown:
            raise RuleError(
                f"unknown tie-break criterion {unknown[0]!r}; expected {', '.join(CRITERIA)}"
            )
        if "natural-id" not in self.criteria:
            object.__setattr__(self, "criteria", (*self.criteria, "natural-id"))

    @classmethod
    def parse(cls, text: str) -> TieBreak:
        """A tie-break from a comma-separated list of criteria ("lower-cost,natural-id")."""
        return cls(tuple(c.strip() for c in text.split(",") if c.strip()))

    def _part(self, criterion: str, c: Candidate) -> Any:
        if criterion == "lower-cost":
            return c.cost
        if criterion == "higher-cost":
            return -c.cost
        if criterion == "higher-score":
            return -c.score
        if criterion == "lower-score":
            return c.score
        return natural_key(c.id)

    def key(self, candidate: Candidate) -> tuple[Any, ...]:
        """Sort key: the project that sorts first wins the tie."""
        return tuple(self._part(c, candidate) for c in self.criteria)

    def order(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The candidates in tie-break order (winner first)."""
        return sorted(candidates, key=self.key)

    def deciding(self, first: Candidate, second: Candidate) -> str:
        """The criterion that puts ``first`` before ``second``."""
        for criterion in self.criteria:
            if self._part(criterion, first) != self._part(criterion, second):
                return criterion
        return "natural-id"

    def __str__(self) -> str:
        return ", ".join(self.criteria)


DEFAULT_TIE_BREAK = TieBreak()
"""Lower cost first, then higher score, then project id in natural order."""
