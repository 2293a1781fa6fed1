"""The exceptions of the tally engine: one small hierarchy, caught at the edge (the CLI)."""

from __future__ import annotations


class TallyError(Exception):
    """Base class of every error the tally engine raises on bad input."""


class PabulibError(TallyError):
    """A pabulib file (or string) that cannot be read.

    ``line`` is the 1-based line number of the offending line (``None`` when the problem is not
    tied to one line, e.g. a missing section); the message starts with "line N: ".
    """

    def __init__(self, problem: str, line: int | None = None) -> None:
        self.problem = problem
        self.line = line
        super().__init__(problem if line is None else f"line {line}: {problem}")


class RuleError(TallyError):
    """An unknown rule, or options a rule cannot work with (e.g. a missing threshold)."""


class BallotError(TallyError):
    """A ballot that breaks the rules of its voting method (e.g. too many voice credits)."""
