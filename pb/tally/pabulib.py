"""Read and write the pabulib (``.pb``) format: sections META, PROJECTS and VOTES.

Format (pabulib.org/format): each section starts with its name on a line of its own, then a header
row, then ``;``-separated rows. Reading is lenient about real-file quirks and strict about
meaning:

* UTF-8 with or without a byte-order mark; LF, CRLF or CR line ends; blank lines anywhere;
* fields quoted with ``"`` (doubled ``""`` inside), which may contain ``;``;
* surrounding spaces are stripped from every field; trailing empty fields are ignored;
* numbers may use a decimal comma and space thousands separators ("1 000,50");
* extra columns are kept (``Project.extra``, ``Ballot.extra``) and written back.

Money is whole currency units. A cost must be a whole number ("4000.0" is accepted). A fractional
budget is rounded *down* ("804828.79" -> 804828): costs are whole numbers, so a set of projects
fits the floored budget exactly when it fits the published one, and every rule that only checks
feasibility (greedy and its variants, Add1's stopping test) is unchanged; MES shares the floored
budget (pabutools would share the fraction; the differential tests pass the floored budget).

Ordinal ballots are scored positionally when read. The META key ``scoring_fn`` may be ``Borda``
(the pabulib default, also used when the key is absent) or a comma-separated list of points per
position ("3,2,1"). Borda, as pabulib counts the published ``score`` of ordinal files (its
checker's ``create_points_based_on_vote_length``), gives a ballot that ranks ``k`` projects
``k`` points for the first, ``k - 1`` for the next, ..., 1 for the last: Kraków 2025 ranks three
projects and publishes 3, 2, 1.

Scoring ballots may give negative points (META ``min_points`` defaults to minus infinity) and give
every project they do not list META ``default_score`` points (default 0); the reader fills those in.

A vote that names a project twice (real files have them: 19 Warsaw files of 2022 and 2026) counts
the project once, as pabutools reads it, with a :class:`~pb.tally.model.ReadWarning` on
``Election.warnings`` naming the line: an approval ballot approves it once; an ordinal ballot
keeps it at its first (highest) position and the later projects move up; a cumulative or scoring
ballot gives it the points of its *last* mention (pabutools assigns the points of each mention in
turn, so the last one stays). ``strict=True`` refuses such a vote instead.
Non-standard META constraints on the selection that no rule of pb applies
(:data:`UNAPPLIED_META_KEYS`, e.g. Amsterdam's ``budget_per_category``) are kept in ``meta`` and
named in a warning too.

Quadratic ballots are written as cumulative ballots (points = votes) with the extra META key
``quadratic_credits`` (the voice credits each voter had); reading restores
``Election.quadratic_credits``.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from pb.tally.errors import PabulibError
from pb.tally.model import (
    APPROVAL,
    APPROVAL_LIKE,
    CUMULATIVE,
    INT_META_KEYS,
    ORDINAL,
    SCORING,
    SIGNED_META_KEYS,
    VOTE_TYPES,
    Ballot,
    Election,
    Project,
    ReadWarning,
)
from pb.tally.pabulib_text import (
    Section,
    columns,
    fields,
    parse_amount,
    rows,
    sections,
    split_lines,
    whole,
)
from pb.tally.pabulib_writer import dump, dumps

__all__ = ["UNAPPLIED_META_KEYS", "dump", "dumps", "load", "loads", "parse_amount"]

UNAPPLIED_META_KEYS = (
    "budget_per_category",
    "budget_per_neighborhood",
    "min_sum_cost_per_category",
    "max_sum_cost_per_category",
)
"""Non-standard pabulib META keys that constrain the selection (Amsterdam's budgets per
category) and that no rule of pb applies: reading one adds a warning."""


def _scoring(meta: Mapping[str, str], line: int | None) -> tuple[int, ...] | None:
    """Points per rank position for ordinal ballots; ``None`` for Borda (by ballot length)."""
    fn = meta.get("scoring_fn", "").strip()
    if not fn or fn.lower() == "borda":
        return None
    try:
        return tuple(int(x) for x in fn.split(","))
    except ValueError:
        raise PabulibError(
            f"scoring_fn is {fn!r}, expected 'Borda' or points per position like '3,2,1'", line
        ) from None


def loads(text: str, *, strict: bool = False) -> Election:
    """Parse the text of a pabulib file into an :class:`Election`.

    Input: the whole file as a string. Output: projects in file order, ballots in file order.
    Raises :class:`PabulibError` naming the line and the problem for a malformed file: a missing
    section or column, a cost or budget that is not a number, an unknown project in a vote,
    points that do not match the vote, a repeated project or voter id. A vote naming a project
    twice counts it once and adds a warning to ``Election.warnings`` (module docstring); with
    ``strict`` it is refused. A META constraint no rule applies adds a warning too. Rounding:
    the budget is floored to whole units (see the module docstring); costs and points must be
    whole. Ballot limits (``max_length``, ``max_sum_points``...) are kept but not enforced: a
    tally counts the ballots it is given.
    Pure: reads nothing and prints nothing.
    """
    lines = split_lines(text)
    collecting = gc.isenabled()
    gc.disable()  # parsing allocates ~2 objects per ballot; collections would only cost time
    try:
        return _parse(lines, strict)
    finally:
        if collecting:
            gc.enable()


def _parse(lines: list[str], strict: bool) -> Election:
    found = sections(lines)
    meta, meta_lines = _meta(lines, found["meta"])
    vote_type = meta.get("vote_type", APPROVAL).lower()
    if vote_type not in VOTE_TYPES:
        raise PabulibError(
            f"vote_type is {vote_type!r}, expected one of {', '.join(VOTE_TYPES)}",
            meta_lines.get("vote_type"),
        )
    limits = _limits(meta, meta_lines, vote_type)
    projects, pcols = _projects(lines, found["projects"])
    votes = _Votes(
        {p.id: p.id for p in projects},
        vote_type,
        _scoring(meta, meta_lines.get("scoring_fn")),
        limits["default_score"] if vote_type == SCORING else None,
        strict,
    )
    ballots, vcols = votes.read(lines, found["votes"])
    ignored = [
        ReadWarning(meta_lines[key], f"META {key} is not applied: rules fund from the whole budget")
        for key in UNAPPLIED_META_KEYS
        if meta.get(key)
    ]
    budget_text = meta.get("budget", "")
    if not budget_text:
        raise PabulibError("META has no budget", meta_lines.get("budget"))
    return Election(
        budget=whole(budget_text, "budget is", meta_lines["budget"], floor=True),
        projects=tuple(projects),
        ballots=tuple(ballots),
        vote_type=vote_type,
        meta=meta,
        project_columns=pcols,
        vote_columns=vcols,
        warnings=(*ignored, *votes.warnings),
        **limits,
    )


def _meta(lines: list[str], section: Section) -> tuple[dict[str, str], dict[str, int]]:
    columns(section, ("key", "value"))
    meta: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, raw in rows(lines, section):
        row = fields(raw, number)
        if not row:
            continue
        key = row[0]
        if not key:
            raise PabulibError("META row has no key", number)
        if key in meta:
            raise PabulibError(f"META key {key!r} appears twice", number)
        meta[key] = ";".join(row[1:])
        where[key] = number
    return meta, where


def _limits(meta: dict[str, str], lines: dict[str, int], vote_type: str) -> dict[str, int | None]:
    limits: dict[str, int | None] = {}
    for key in INT_META_KEYS:
        text = meta.get(key, "")
        signed = key in SIGNED_META_KEYS
        limits[key] = whole(text, f"META {key} is", lines[key], signed=signed) if text else None
    if limits["quadratic_credits"] is not None and vote_type != CUMULATIVE:
        raise PabulibError(
            "quadratic_credits needs vote_type cumulative", lines["quadratic_credits"]
        )
    return limits


def _projects(lines: list[str], section: Section) -> tuple[list[Project], tuple[str, ...]]:
    cols = columns(section, ("project_id", "cost"))
    at_id, at_cost = cols.index["project_id"], cols.index["cost"]
    at_name = cols.index.get("name")
    extra_cols = [(i, n) for i, n in cols.extra if n != "name"]
    projects: list[Project] = []
    seen: set[str] = set()
    for number, raw in rows(lines, section):
        row = cols.fit(fields(raw, number), number)
        pid = row[at_id]
        if not pid:
            raise PabulibError("project has no project_id", number)
        if pid in seen:
            raise PabulibError(f"project {pid!r} appears twice", number)
        if "," in pid:
            raise PabulibError(f"project id {pid!r} contains ',', which separates votes", number)
        seen.add(pid)
        cost_text = row[at_cost]
        if not cost_text:
            raise PabulibError(f"project {pid!r} has no cost", number)
        cost = whole(cost_text, f"project {pid!r} has cost", number)
        name = row[at_name] if at_name is not None else ""
        projects.append(Project(pid, cost, name, {n: row[i] for i, n in extra_cols}))
    return projects, tuple(n for _, n in extra_cols)


class _Votes:
    """Reads the VOTES section into ballots, collecting warnings (module docstring)."""

    def __init__(
        self,
        by_id: dict[str, str],
        vote_type: str,
        scoring: tuple[int, ...] | None,
        default_score: int | None,
        strict: bool,
    ) -> None:
        self.by_id = by_id
        self.vote_type = vote_type
        self.with_points = vote_type not in APPROVAL_LIKE and vote_type != ORDINAL
        self.scoring = scoring
        self.default_score = default_score or 0
        self.strict = strict
        self.warnings: list[ReadWarning] = []

    def read(self, lines: list[str], section: Section) -> tuple[list[Ballot], tuple[str, ...]]:
        """The ballots in file order and the names of the extra columns."""
        with_points = self.with_points
        required = ("voter_id", "vote", "points") if with_points else ("voter_id", "vote")
        cols = columns(section, required)
        at_voter, at_vote = cols.index["voter_id"], cols.index["vote"]
        at_points = cols.index.get("points", -1)
        extra_cols = [(i, n) for i, n in cols.extra if n != "points"]
        extra_names = [n for _, n in extra_cols]
        extra_at = [i for i, _ in extra_cols]
        width = cols.width
        by_id = self.by_id
        ballots: list[Ballot] = []
        voters: set[str] = set()
        for number, raw in rows(lines, section):
            if '"' in raw or " " in raw or "\t" in raw:
                row = fields(raw, number)
            else:
                row = raw.split(";")
                while row and not row[-1]:
                    row.pop()
            if len(row) != width:
                row = cols.fit(row, number)
            voter = row[at_voter]
            if not voter:
                raise PabulibError("vote has no voter_id", number)
            if voter in voters:
                raise PabulibError(f"voter {voter!r} appears twice", number)
            voters.add(voter)
            vote = row[at_vote]
            ids = vote.split(",") if vote else []
            try:
                points = {by_id[pid]: 1 for pid in ids}
            except KeyError as exc:
                pid = exc.args[0]
                problem = f"names unknown project {pid!r}" if pid else "has an empty project id"
                raise PabulibError(f"vote of voter {voter!r} {problem}", number) from None
            if len(points) != len(ids):
                self._repeated(ids, voter, number)
            if with_points:
                self._give_points(points, ids, row[at_points], voter, number)
            elif self.vote_type == ORDINAL:
                self._rank(points, voter, number)
            extra = (
                dict(zip(extra_names, [row[i] for i in extra_at], strict=True)) if extra_at else {}
            )
            ballots.append(Ballot(voter, points, extra))
        return ballots, tuple(extra_names)

    def _repeated(self, ids: list[str], voter: str, number: int) -> None:
        if self.strict:
            raise PabulibError(f"vote of voter {voter!r} names a project twice", number)
        twice = [pid for pid, n in Counter(ids).items() if n > 1]
        how = "once"
        if self.with_points:
            how = "once, with the points of its last mention"
        elif self.vote_type == ORDINAL:
            how = "once, at its first position"
        what = "project" if len(twice) == 1 else "projects"
        names = ", ".join(repr(pid) for pid in twice)
        self.warnings.append(
            ReadWarning(
                number,
                f"vote of voter {voter!r} names {what} {names} more than once; counted {how}",
            )
        )

    def _give_points(
        self, points: dict[str, int], ids: list[str], text: str, voter: str, number: int
    ) -> None:
        given = [p.strip() for p in text.split(",")] if text else []
        if len(given) != len(ids):
            raise PabulibError(
                f"vote of voter {voter!r} lists {len(ids)} projects but {len(given)} points",
                number,
            )
        signed = self.vote_type == SCORING
        for pid, p in zip(ids, given, strict=True):  # a repeated project keeps its last points
            what = f"voter {voter!r} gives project {pid!r} points"
            points[self.by_id[pid]] = whole(p, what, number, signed=signed)
        if self.default_score and len(points) < len(self.by_id):
            for pid in self.by_id:
                points.setdefault(pid, self.default_score)

    def _rank(self, points: dict[str, int], voter: str, number: int) -> None:
        scoring = self.scoring
        if scoring is None:  # Borda by ballot length: k, k - 1, ..., 1
            k = len(points)
            for rank, pid in enumerate(points):
                points[pid] = k - rank
            return
        if len(points) > len(scoring):
            raise PabulibError(
                f"vote of voter {voter!r} ranks {len(points)} projects, "
                f"but only {len(scoring)} positions are scored",
                number,
            )
        for rank, pid in enumerate(points):
            points[pid] = scoring[rank]


def load(path: str | Path, *, strict: bool = False) -> Election:
    """Read a pabulib file (UTF-8, with or without BOM) and parse it with :func:`loads`.

    Raises ``OSError`` when the file cannot be read, ``UnicodeDecodeError`` when it is not UTF-8,
    and :class:`PabulibError` when it is malformed.
    """
    return loads(Path(path).read_text(encoding="utf-8-sig"), strict=strict)
