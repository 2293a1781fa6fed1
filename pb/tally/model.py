"""The data the tally works on: projects, ballots and the election that holds them.

All classes are frozen; money (costs, budget) is in whole currency units (``int``) and points are
``int``. Ballots keep the voter's choices in the order of the file, which for ordinal ballots is the
ranking (most preferred first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

APPROVAL = "approval"
CHOOSE_1 = "choose-1"
CUMULATIVE = "cumulative"
SCORING = "scoring"
ORDINAL = "ordinal"

VOTE_TYPES = (APPROVAL, CHOOSE_1, CUMULATIVE, SCORING, ORDINAL)
"""The pabulib vote types. Quadratic ballots are cumulative ballots (points = votes) in an election
whose ``quadratic_credits`` is set."""

APPROVAL_LIKE = frozenset({APPROVAL, CHOOSE_1})
"""Vote types whose ballots are sets of projects (every chosen project gets 1 point)."""

SENTINEL_COST = 999_999_999
"""The pabulib cost of a project that was on the ballot but could not be carried out: it is never
funded, and ``greedy-no-skip`` passes over it without stopping (as pabulib's checker does)."""

INT_META_KEYS = (
    "min_length",
    "max_length",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
    "quadratic_credits",
    "min_project_score_threshold",
    "default_score",
)
"""META keys with whole-number values that :class:`Election` exposes as fields of the same name."""

SIGNED_META_KEYS = frozenset({"min_points", "max_points", "default_score"})
"""The META keys of :data:`INT_META_KEYS` that may be negative (scoring ballots: pabulib's
``min_points`` defaults to minus infinity)."""


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something odd in a file that the reader accepted, and how it read it.

    ``line`` is the 1-based line (``None`` when the problem is not tied to one line). ``str()``
    gives "line N: problem", like :class:`pb.tally.errors.PabulibError`.
    """

    line: int | None
    problem: str

    def __str__(self) -> str:
        return self.problem if self.line is None else f"line {self.line}: {self.problem}"


@dataclass(frozen=True, slots=True)
class Project:
    """A project on the ballot.

    ``id`` is the pabulib ``project_id`` (a string: "7", "L013", "2024/SRO/0005"); ``cost`` is in
    whole currency units (the pabulib sentinel 999999999 is just a cost); ``extra`` holds the other
    columns of the file (``votes``, ``score``, ``selected``, ``category``...) as read.
    """

    id: str
    cost: int
    name: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ballot:
    """One voter's ballot.

    ``points`` maps project id to the points the ballot gives it, in the order of the file:
    1 for each chosen project of an approval or choose-1 ballot, the points given for cumulative,
    scoring and quadratic ballots (votes, for quadratic), and the positional score for an ordinal
    ballot (the ranking is the key order). ``extra`` holds the other columns (age, sex, ...).
    """

    voter_id: str
    points: Mapping[str, int]
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Election:
    """One district's vote: the instance (budget, projects, rules of the ballot) and the ballots.

    ``meta`` is the META section as read (every key, including ones this class also exposes as
    fields); the typed fields are what the tally uses. ``quadratic_credits`` is set for quadratic
    ballots, stored in pabulib as cumulative ballots with the extra META key ``quadratic_credits``.
    ``min_project_score_threshold`` is the score a project needs to be eligible at all, under
    every rule (pabulib: "even if a project fits within the available budget, it will not be
    selected unless it meets this threshold"). ``default_score`` is the points a scoring ballot
    gives every project it does not list (the reader has already filled them in).
    ``project_columns`` and ``vote_columns`` list the extra columns in the order the writer emits
    them. ``warnings`` lists what the reader accepted but a person should know (e.g. a vote naming
    a project twice, counted once); it is not part of the election's value (not compared).
    """

    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    vote_type: str = APPROVAL
    meta: Mapping[str, str] = field(default_factory=dict)
    min_length: int | None = None
    max_length: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    min_sum_points: int | None = None
    max_sum_points: int | None = None
    quadratic_credits: int | None = None
    min_project_score_threshold: int | None = None
    default_score: int | None = None
    project_columns: tuple[str, ...] = ()
    vote_columns: tuple[str, ...] = ()
    warnings: tuple[ReadWarning, ...] = field(default=(), compare=False)

    @property
    def rule(self) -> str | None:
        """The tally rule named in META (``rule``), or ``None`` when the file names none."""
        return self.meta.get("rule") or None

    @property
    def sentinel_cost(self) -> int | None:
        """:data:`SENTINEL_COST` for pabulib's files, which count whole currency units; ``None``
        for pb's own exports, whose amounts are minor units (META ``currency_unit``), where
        999999999 is just a cost."""
        return SENTINEL_COST if "currency_unit" not in self.meta else None
