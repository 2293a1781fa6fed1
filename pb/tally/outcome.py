"""The result of a tally: what was funded, why, and every tie that was broken.

``Outcome.to_json_dict()`` is the form pb publishes: only strings, integers, booleans, lists and
dicts; exact fractions are written as ``{"exact": "123/7", "decimal": "17.571429"}`` (the decimal
is rounded half away from zero, for display only). Serialise it with :func:`canonical_json` (sorted
keys, fixed separators) to get the same bytes for the same ballots on every machine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "JSONValue",
    "Outcome",
    "ProjectResult",
    "Step",
    "Tie",
    "canonical_json",
    "decimal_text",
    "fraction_json",
]

JSONValue = str | int | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


def decimal_text(value: Fraction | int, places: int = 2) -> str:
    """``value`` as a decimal string with ``places`` digits after the point, rounded half away
    from zero, computed exactly (no floating point): 123/7 -> "17.57"."""
    q = Fraction(value)
    scale = 10**places
    scaled = abs(q) * scale
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    sign = "-" if q < 0 and whole else ""
    digits = str(whole).rjust(places + 1, "0")
    if not places:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def fraction_json(value: Fraction | int, places: int = 6) -> dict[str, JSONValue]:
    """An exact number for JSON: ``{"exact": "123/7", "decimal": "17.571429"}``."""
    return {"exact": str(Fraction(value)), "decimal": decimal_text(value, places)}


def canonical_json(data: JSONValue) -> str:
    """Deterministic JSON text: sorted keys, no insignificant spaces, UTF-8 characters kept."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ProjectResult:
    """One project in an outcome: its cost, its score under the rule's ballots, and whether it was
    funded. ``supporters`` is the number of ballots that give it a positive score."""

    id: str
    cost: int
    score: int
    supporters: int
    selected: bool

    def to_json_dict(self) -> dict[str, JSONValue]:
        """This result as JSON values."""
        return {
            "id": self.id,
            "cost": self.cost,
            "score": self.score,
            "supporters": self.supporters,
            "selected": self.selected,
        }


@dataclass(frozen=True, slots=True)
class Tie:
    """A tie the rule broke: ``projects`` were equal on ``on`` (e.g. "score 42"); the tie-break
    ordered them as listed, ``decided_by`` the criterion that put the winner first."""

    context: str
    on: str
    projects: tuple[str, ...]
    winner: str
    decided_by: str

    def to_json_dict(self) -> dict[str, JSONValue]:
        """This tie as JSON values."""
        return {
            "context": self.context,
            "on": self.on,
            "projects": list(self.projects),
            "winner": self.winner,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the explanation. ``kind`` is a stable word ("funded", "skipped", "bought",
    ...), ``text`` an English sentence for people, ``data`` the numbers behind it (JSON values)."""

    kind: str
    text: str
    project: str | None = None
    data: Mapping[str, JSONValue] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, JSONValue]:
        """This step as JSON values."""
        return {
            "kind": self.kind,
            "text": self.text,
            "project": self.project,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decided.

    ``selected`` lists the funded project ids in the order they were funded; ``spent`` is their
    total cost; ``projects`` has one entry per project in the election's order; ``ties`` every tie
    that was broken; ``steps`` the explanation; ``details`` rule-specific figures (for Add1 the
    per-voter budget it settled on and the number of raises; for the comparison step the number of
    voters preferring each outcome).
    """

    rule: str
    budget: int
    selected: tuple[str, ...]
    spent: int
    projects: tuple[ProjectResult, ...]
    tie_break: tuple[str, ...]
    ties: tuple[Tie, ...] = ()
    steps: tuple[Step, ...] = ()
    details: Mapping[str, JSONValue] = field(default_factory=dict)

    @property
    def selected_set(self) -> frozenset[str]:
        """The funded project ids, as a set."""
        return frozenset(self.selected)

    def to_json_dict(self) -> dict[str, JSONValue]:
        """The outcome as JSON values; see the module docstring for the number format."""
        return {
            "rule": self.rule,
            "budget": self.budget,
            "selected": list(self.selected),
            "spent": self.spent,
            "leftover": self.budget - self.spent,
            "projects": [p.to_json_dict() for p in self.projects],
            "tie_break": list(self.tie_break),
            "ties": [t.to_json_dict() for t in self.ties],
            "steps": [s.to_json_dict() for s in self.steps],
            "details": dict(self.details),
        }
