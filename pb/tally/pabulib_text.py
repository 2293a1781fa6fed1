"""The lexical layer of the pabulib reader: lines, sections, fields and numbers.

:mod:`pb.tally.pabulib` gives these pieces their meaning. Lenient about real-file quirks (see
that module's docstring) and exact: numbers are read as :class:`fractions.Fraction`, never as
floating point.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from fractions import Fraction

from pb.tally.errors import PabulibError

__all__ = [
    "Columns",
    "Section",
    "columns",
    "fields",
    "parse_amount",
    "rows",
    "sections",
    "split_lines",
    "whole",
]

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


def whole(text: str, what: str, line: int, *, floor: bool = False, signed: bool = False) -> int:
    """A whole number, not negative unless ``signed``; ``floor`` rounds a fraction down instead of
    refusing it.

    ``what`` starts the error message, e.g. "project '7' has cost" -> "project '7' has cost
    'abc', expected a whole number".
    """
    if text.isdigit():
        return int(text)
    try:
        value = parse_amount(text)
    except ValueError:
        raise PabulibError(f"{what} {text!r}, expected a whole number", line) from None
    if value < 0 and not signed:
        raise PabulibError(f"{what} {text!r}, expected a number that is not negative", line)
    if value.denominator != 1 and not floor:
        raise PabulibError(f"{what} {text!r}, expected a whole number", line)
    return math.floor(value)


def split_lines(text: str) -> list[str]:
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def fields(line: str, number: int) -> list[str]:
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


class Columns:
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


class Section:
    """Where a section's header and rows are in the list of lines (rows may include blanks)."""

    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line
        self.header: list[str] | None = None
        self.header_line = line
        self.start = line  # index of the first row in the list of lines
        self.end = line


def sections(lines: list[str]) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    current: Section | None = None
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
            current = sections[word] = Section(word, number)
        elif current is None:
            raise PabulibError(
                f"expected a section name (META, PROJECTS, VOTES), got {raw.strip()!r}", number
            )
        elif current.header is None:
            current.header = fields(raw, number)
            current.header_line = number
            current.start = number
    if current is not None:
        current.end = len(lines)
    for name in _SECTIONS:
        if name not in sections:
            raise PabulibError(f"the file has no {name.upper()} section")
    return sections


def rows(lines: list[str], section: Section) -> Iterator[tuple[int, str]]:
    for number in range(section.start + 1, section.end + 1):
        raw = lines[number - 1]
        if raw and not raw.isspace():
            yield number, raw


def columns(section: Section, required: tuple[str, ...]) -> Columns:
    if section.header is None:
        raise PabulibError(f"section {section.name.upper()} has no header row", section.line)
    return Columns(section.header, required, section.name.upper(), section.header_line)
