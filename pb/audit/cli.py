"""``pb audit BUNDLE.zip``: audit a round's ballot bundle or a funding call's funding bundle
offline (the kind is read from ``manifest.json``) and print what holds.

Exit status: 0 when every check holds; 1 when the bundle can be read but something does not
hold (each problem is named); 2 when the input cannot be read (not a zip, no manifest, malformed
JSON, an unreadable ``.pb``), with a one-line message naming the file and the problem.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from pb.audit.bundle import read_bundle
from pb.audit.errors import BundleError
from pb.audit.funding_verify import audit_funding_bundle, format_funding_report, is_funding_bundle
from pb.audit.verify import Report, audit_bundle

__all__ = ["format_report", "main"]


def format_report(report: Report, marks: tuple[str, str] = ("✓", "✗")) -> str:
    """The human report: a heading, one line per check (✓ or ✗) with its problems below it,
    and a closing verdict with the chain head (the ballot log fingerprint)."""
    good, bad = marks
    ballots = sum(report.ballots_per_district.values())
    lines = [
        f"pb audit {report.source}",
        f"round {report.round_id}: {report.title}",
        f"rule {report.rule}; tie-break {report.tie_break}; written by pb {report.pb_version}",
        f"{ballots} ballots in {len(report.ballots_per_district)} district(s): "
        + ", ".join(f"{k} {n}" for k, n in report.ballots_per_district.items()),
        "",
    ]
    for check in report.checks:
        if check.ok:
            lines.append(f"{good} {check.name}: {check.summary}")
        else:
            lines.append(f"{bad} {check.name}: {len(check.problems)} problem(s)")
            lines.extend(f"    - {problem}" for problem in check.problems)
    lines.append("")
    if report.ok:
        lines.append(f"All {len(report.checks)} checks hold.")
    else:
        failed = [c.name for c in report.checks if not c.ok]
        lines.append(f"{len(failed)} of {len(report.checks)} checks FAILED: {', '.join(failed)}.")
    lines.append(f"Ballot log fingerprint (chain head, {report.chain_length} records):")
    lines.append(f"  {report.chain_head}")
    return "\n".join(lines) + "\n"


def _marks(stream: TextIO) -> tuple[str, str]:
    try:
        "✓✗".encode(stream.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return ("OK", "FAIL")
    return ("✓", "✗")


def _write(stream: TextIO, text: str) -> None:
    encoding = stream.encoding or "ascii"
    try:
        text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        text = text.encode("ascii", "replace").decode("ascii")
    stream.write(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pb audit",
        description="Verify a round's ballot bundle offline: file digests, the ballot-log hash "
        "chain, the district .pb files, and the results (re-tallied, compared byte for byte). "
        "A funding bundle: digests, the call's locked rules, the ledger, and the matches "
        "(recomputed, compared byte for byte).",
    )
    parser.add_argument("bundle", metavar="BUNDLE.zip", help="the ballot or funding bundle")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pb audit`` with ``argv`` (without the leading "audit"); return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message (or the help)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        raw = read_bundle(args.bundle)
        if is_funding_bundle(raw):
            funding = audit_funding_bundle(raw, args.bundle)
            text, ok = format_funding_report(funding, _marks(sys.stdout)), funding.ok
        else:
            report = audit_bundle(args.bundle)
            text, ok = format_report(report, _marks(sys.stdout)), report.ok
    except BundleError as exc:
        _write(sys.stderr, f"pb audit: {args.bundle}: {exc}\n")
        return 2
    _write(sys.stdout, text)
    return 0 if ok else 1
