"""``pb tally FILE.pb [--rule R] [--format text|json] [--strict] [--ignore-threshold]``.

Exit status: 0 on success; 2 on bad input (missing or unreadable file, malformed file, unknown or
absent rule), with a one-line message on stderr naming the file, the line and the problem. What
the reader accepted but a person should know (a vote naming a project twice, counted once) is a
warning on stderr naming the file and the line; ``--strict`` refuses it instead (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pb.tally.errors import PabulibError, TallyError
from pb.tally.model import ReadWarning
from pb.tally.outcome import canonical_json
from pb.tally.pabulib import loads
from pb.tally.report import format_text
from pb.tally.rules import RULES, tally
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, TieBreak

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pb tally",
        description="Tally one pabulib (.pb) file and print the outcome.",
    )
    parser.add_argument("file", metavar="FILE.pb", help="the pabulib file to tally")
    parser.add_argument(
        "--rule",
        help=f"the rule ({', '.join(RULES)}); default: the file's META rule",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a vote that names a project twice (default: count it once, with a warning)",
    )
    parser.add_argument(
        "--ignore-threshold",
        action="store_true",
        help="what-if: ignore META min_project_score_threshold, so every project is eligible",
    )
    parser.add_argument(
        "--tie-break",
        default=",".join(DEFAULT_TIE_BREAK.criteria),
        help="comma-separated criteria (default: %(default)s)",
    )
    return parser


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PabulibError(f"not UTF-8 text (byte {exc.start + 1})", line) from None


SHOWN_WARNINGS = 20
"""How many warnings are printed one by one; the rest are counted on one more line."""


def _warn(path: Path, warnings: Sequence[ReadWarning]) -> None:
    for warning in warnings[:SHOWN_WARNINGS]:
        where = f"line {warning.line}: " if warning.line is not None else ""
        print(f"pb tally: {path}: {where}warning: {warning.problem}", file=sys.stderr)
    if len(warnings) > SHOWN_WARNINGS:
        print(
            f"pb tally: {path}: warning: {len(warnings) - SHOWN_WARNINGS} more like these "
            "(--strict stops at the first)",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    """Run ``pb tally`` with ``argv`` (without the leading "tally"); return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return exc.code if isinstance(exc.code, int) else 2
    path = Path(args.file)
    try:
        election = loads(_read(path), strict=args.strict)
        _warn(path, election.warnings)
        outcome = tally(
            election,
            args.rule,
            TieBreak.parse(args.tie_break),
            ignore_threshold=args.ignore_threshold,
        )
    except OSError as exc:
        print(f"pb tally: {path}: cannot read the file: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except TallyError as exc:
        print(f"pb tally: {path}: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.write(canonical_json(outcome.to_json_dict()) + "\n")
    else:
        sys.stdout.write(format_text(outcome, election))
    return 0
