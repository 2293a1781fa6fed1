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
position ("3,2,1"). Borda gives the first choice ``L`` points, the next ``L - 1``, and so on, where
``L`` is META ``max_length`` (or the number of projects when there is none): Kraków 2025 ranks
three projects and publishes scores 3, 2, 1.

Quadratic ballots are written as cumulative ballots (points = votes) with the extra META key
``quadratic_credits`` (the voice credits each voter had); reading restores
``Election.quadratic_credits``.
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path

from pb.tally.errors import PabulibError
from pb.tally.model import (
    APPROVAL,
    APPROVAL_LIKE,
    CUMULATIVE,
    INT_META_KEYS,
    ORDINAL,
    VOTE_TYPES,
    Ballot,
    Election,
    Project,
)
from pb.tally.pabulib_writer import dump, dumps

__all__ = ["dump", "dumps", "load", "loads", "parse_amount"]

_SECTIONS = ("meta", "projects", "votes")
_SECTION_START = frozenset('mMpPvV "\t')
_NUMBER = re.compile(r"[+-]?(\d+)(\.\d*)?|[+-]?\.\d+")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\t'")


def parse_amount(text: str) -> Fraction:
    """Read a number as written in pabulib files, exactly.

    Accepts an optional sign, digits with space (or apostrophe) thousands separators, and a decimal
    point or a decimal comma: "1000", "1 000,50", "1000,5", "4000.0", "804828.79". When both "."
    and "," occur, the last one is the decimal separator and the other groups thousands
    ("1,000.50", "1.000,50"); several commas alone ("1,000,000") group thousands too.
    Raises ``ValueError`` when the text is not such a number.
    """
    s = text.translate(_SPACES)
    if s.isdigit():
        return Fraction(int(s))
    if "," in s:
        if "." in s:
            if s.rfind(",") > s.rfind("."):
                s = s.replace(".", "").replace(",", ".")
            else:
                s = s.replace(",", "")
        elif s.count(",") > 1:
            s = s.replace(",", "")
        else:
            s = s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    if not _NUMBER.fullmatch(s):
        raise ValueError(text)
    return Fraction(s)


def _whole(text: str, what: str, line: int, *, floor: bool = False) -> int:
    """A non-negative whole number; ``floor`` rounds a fraction down instead of refusing it.

    ``what`` starts the error message, e.g. "project '7' has cost" -> "project '7' has cost
    'abc', expected a whole number".
    """
    if text.isdigit():
        return int(text)
    try:
        value = parse_amount(text)
    except ValueError:
        raise PabulibError(f"{what} {text!r}, expected a whole number", line) from None
    if value < 0:
        raise PabulibError(f"{what} {text!r}, expected a number that is not negative", line)
    if value.denominator != 1 and not floor:
        raise PabulibError(f"{what} {text!r}, expected a whole number", line)
    return int(value)  # int() truncates, which is the floor for a non-negative value


def _split_lines(text: str) -> list[str]:
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _fields(line: str, number: int) -> list[str]:
    if '"' in line:
        try:
            row = next(csv.reader([line], delimiter=";", strict=True))
        except csv.Error as exc:
            raise PabulibError(f"badly quoted field ({exc})", number) from None
    else:
        row = line.split(";")
    while row and not row[-1].strip():
        row.pop()
    return [f.strip() for f in row]


class _Columns:
    """Column positions of a section's header row."""

    def __init__(self, header: list[str], required: tuple[str, ...], section: str, line: int):
        self.names = [h.lower() for h in header]
        self.width = len(header)
        for name in required:
            if name not in self.names:
                raise PabulibError(f"the {section} header has no {name!r} column", line)
        if len(set(self.names)) != len(self.names):
            raise PabulibError(f"the {section} header repeats a column", line)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.extra = [(i, n) for i, n in enumerate(self.names) if n not in required]

    def fit(self, row: list[str], line: int) -> list[str]:
        """The row padded with empty fields to the header's width; refuses a longer row."""
        if len(row) > self.width:
            raise PabulibError(
                f"row has {len(row)} fields but the header has {self.width} columns", line
            )
        if len(row) < self.width:
            row += [""] * (self.width - len(row))
        return row


class _Section:
    """Where a section's header and rows are in the list of lines (rows may include blanks)."""

    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line
        self.header: list[str] | None = None
        self.header_line = line
        self.start = line  # index of the first row in the list of lines
        self.end = line


def _sections(lines: list[str]) -> dict[str, _Section]:
    sections: dict[str, _Section] = {}
    current: _Section | None = None
    for number, raw in enumerate(lines, start=1):
        if current is not None and current.header is not None and raw[:1] not in _SECTION_START:
            continue  # a data row (fast path: cannot start a section name)
        if not raw or raw.isspace():
            continue
        word = raw.strip().rstrip(";").strip().lower()
        if word in _SECTIONS:
            if word in sections:
                raise PabulibError(f"section {word.upper()} appears twice", number)
            if current is not None:
                current.end = number - 1
            current = sections[word] = _Section(word, number)
        elif current is None:
            raise PabulibError(
                f"expected a section name (META, PROJECTS, VOTES), got {raw.strip()!r}", number
            )
        elif current.header is None:
            current.header = _fields(raw, number)
            current.header_line = number
            current.start = number
    if current is not None:
        current.end = len(lines)
    for name in _SECTIONS:
        if name not in sections:
            raise PabulibError(f"the file has no {name.upper()} section")
    return sections


def _rows(lines: list[str], section: _Section) -> Iterator[tuple[int, str]]:
    for number in range(section.start + 1, section.end + 1):
        raw = lines[number - 1]
        if raw and not raw.isspace():
            yield number, raw


def _columns(section: _Section, required: tuple[str, ...]) -> _Columns:
    if section.header is None:
        raise PabulibError(f"section {section.name.upper()} has no header row", section.line)
    return _Columns(section.header, required, section.name.upper(), section.header_line)


def _scoring(meta: Mapping[str, str], n_projects: int, line: int | None) -> tuple[int, ...] | int:
    """Points per rank position for ordinal ballots, or the Borda length ``L``."""
    fn = meta.get("scoring_fn", "").strip()
    if fn and fn.lower() != "borda":
        try:
            return tuple(int(x) for x in fn.split(","))
        except ValueError:
            raise PabulibError(
                f"scoring_fn is {fn!r}, expected 'Borda' or points per position like '3,2,1'",
                line,
            ) from None
    max_length = meta.get("max_length", "")
    return int(max_length) if max_length.isdigit() else n_projects


def loads(text: str) -> Election:
    """Parse the text of a pabulib file into an :class:`Election`.

    Input: the whole file as a string. Output: projects in file order, ballots in file order.
    Raises :class:`PabulibError` naming the line and the problem for a malformed file: a missing
    section or column, a cost or budget that is not a number, an unknown or repeated project in a
    vote, points that do not match the vote, a repeated project or voter id. Rounding: the budget
    is floored to whole units (see the module docstring); costs and points must be whole.
    Ballot limits (``max_length``, ``max_sum_points``...) are kept but not enforced: a tally
    counts the ballots it is given.
    """
    lines = _split_lines(text)
    collecting = gc.isenabled()
    gc.disable()  # parsing allocates ~2 objects per ballot; collections would only cost time
    try:
        return _parse(lines)
    finally:
        if collecting:
            gc.enable()


def _parse(lines: list[str]) -> Election:
    sections = _sections(lines)
    meta, meta_lines = _meta(lines, sections["meta"])
    vote_type = meta.get("vote_type", APPROVAL).lower()
    if vote_type not in VOTE_TYPES:
        raise PabulibError(
            f"vote_type is {vote_type!r}, expected one of {', '.join(VOTE_TYPES)}",
            meta_lines.get("vote_type"),
        )
    projects, pcols = _projects(lines, sections["projects"])
    scoring = _scoring(meta, len(projects), meta_lines.get("scoring_fn"))
    ballots, vcols = _votes(
        lines, sections["votes"], {p.id: p.id for p in projects}, vote_type, scoring
    )
    return _election(meta, meta_lines, projects, ballots, vote_type, pcols, vcols)


def _meta(lines: list[str], section: _Section) -> tuple[dict[str, str], dict[str, int]]:
    _columns(section, ("key", "value"))
    meta: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, raw in _rows(lines, section):
        row = _fields(raw, number)
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


def _projects(lines: list[str], section: _Section) -> tuple[list[Project], tuple[str, ...]]:
    cols = _columns(section, ("project_id", "cost"))
    at_id, at_cost = cols.index["project_id"], cols.index["cost"]
    at_name = cols.index.get("name")
    extra_cols = [(i, n) for i, n in cols.extra if n != "name"]
    projects: list[Project] = []
    seen: set[str] = set()
    for number, raw in _rows(lines, section):
        row = cols.fit(_fields(raw, number), number)
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
        cost = _whole(cost_text, f"project {pid!r} has cost", number)
        name = row[at_name] if at_name is not None else ""
        projects.append(Project(pid, cost, name, {n: row[i] for i, n in extra_cols}))
    return projects, tuple(n for _, n in extra_cols)


def _votes(
    lines: list[str],
    section: _Section,
    by_id: dict[str, str],
    vote_type: str,
    scoring: tuple[int, ...] | int,
) -> tuple[list[Ballot], tuple[str, ...]]:
    with_points = vote_type not in APPROVAL_LIKE and vote_type != ORDINAL
    required = ("voter_id", "vote", "points") if with_points else ("voter_id", "vote")
    cols = _columns(section, required)
    at_voter, at_vote = cols.index["voter_id"], cols.index["vote"]
    at_points = cols.index.get("points", -1)
    extra_cols = [(i, n) for i, n in cols.extra if n != "points"]
    extra_names = [n for _, n in extra_cols]
    extra_at = [i for i, _ in extra_cols]
    width = cols.width
    ballots: list[Ballot] = []
    voters: set[str] = set()
    for number, raw in _rows(lines, section):
        if '"' in raw or " " in raw or "\t" in raw:
            row = _fields(raw, number)
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
            raise PabulibError(f"vote of voter {voter!r} names a project twice", number)
        if with_points:
            _give_points(points, row[at_points], voter, number)
        elif vote_type == ORDINAL:
            _rank(points, scoring, voter, number)
        extra = dict(zip(extra_names, [row[i] for i in extra_at], strict=True)) if extra_at else {}
        ballots.append(Ballot(voter, points, extra))
    return ballots, tuple(extra_names)


def _give_points(points: dict[str, int], text: str, voter: str, number: int) -> None:
    given = [p.strip() for p in text.split(",")] if text else []
    if len(given) != len(points):
        raise PabulibError(
            f"vote of voter {voter!r} lists {len(points)} projects but {len(given)} points",
            number,
        )
    for pid, p in zip(list(points), given, strict=True):
        points[pid] = _whole(p, f"voter {voter!r} gives project {pid!r} points", number)


def _rank(points: dict[str, int], scoring: tuple[int, ...] | int, voter: str, number: int) -> None:
    size = scoring if isinstance(scoring, int) else len(scoring)
    if len(points) > size:
        raise PabulibError(
            f"vote of voter {voter!r} ranks {len(points)} projects, "
            f"but only {size} positions are scored",
            number,
        )
    for rank, pid in enumerate(points):
        points[pid] = scoring - rank if isinstance(scoring, int) else scoring[rank]


def _election(
    meta: dict[str, str],
    meta_lines: dict[str, int],
    projects: list[Project],
    ballots: list[Ballot],
    vote_type: str,
    project_columns: tuple[str, ...],
    vote_columns: tuple[str, ...],
) -> Election:
    budget_text = meta.get("budget", "")
    if not budget_text:
        raise PabulibError("META has no budget", meta_lines.get("budget"))
    budget = _whole(budget_text, "budget is", meta_lines["budget"], floor=True)
    limits: dict[str, int | None] = {}
    for key in INT_META_KEYS:
        text = meta.get(key, "")
        limits[key] = _whole(text, f"META {key} is", meta_lines[key], floor=False) if text else None
    if limits["quadratic_credits"] is not None and vote_type != CUMULATIVE:
        raise PabulibError(
            "quadratic_credits needs vote_type cumulative", meta_lines["quadratic_credits"]
        )
    return Election(
        budget=budget,
        projects=tuple(projects),
        ballots=tuple(ballots),
        vote_type=vote_type,
        meta=meta,
        min_length=limits["min_length"],
        max_length=limits["max_length"],
        min_points=limits["min_points"],
        max_points=limits["max_points"],
        min_sum_points=limits["min_sum_points"],
        max_sum_points=limits["max_sum_points"],
        quadratic_credits=limits["quadratic_credits"],
        min_project_score_threshold=limits["min_project_score_threshold"],
        project_columns=project_columns,
        vote_columns=vote_columns,
    )


def load(path: str | Path) -> Election:
    """Read a pabulib file (UTF-8, with or without BOM) and parse it with :func:`loads`.

    Raises ``OSError`` when the file cannot be read, ``UnicodeDecodeError`` when it is not UTF-8,
    and :class:`PabulibError` when it is malformed.
    """
    return loads(Path(path).read_text(encoding="utf-8-sig"))
