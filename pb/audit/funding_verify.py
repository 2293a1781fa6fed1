"""``audit_funding_bundle``: re-check a funding call's published matches, offline.

Only the zip, the standard library and :mod:`pb.tally`. The checks, in order (each a
:class:`pb.audit.verify.Check` of the :class:`FundingReport`):

* ``files``: every member but the manifest is listed in ``manifest.json`` with its SHA-256 and
  matches it; none is missing, unlisted or repeated; the manifest is in canonical form;
* ``call``: ``call.json`` is canonical JSON of a call that follows the contract
  (:func:`pb.audit.funding.check_call`), its ``config_sha256`` is the SHA-256 of the rest of it,
  the rules it locked when pledging opened (if it carries them) hash to the hash shown then and
  agree with it, and the manifest's ``call_id`` and ``config_sha256`` are the call's;
* ``ledger``: every line of ``ledger.csv`` is a valid pledge (a pseudonym, a project of the
  call, an amount > 0 in minor units, ``true``/``false``), the file is in canonical form
  (header, sorted rows, final newline) and has as many rows as the manifest says;
* ``matches``: the matches recomputed with the call's rule from the ledger equal
  ``matches.json`` byte for byte; each difference is named (project and field).

A manifest that cannot be read (not JSON, wrong shape) raises
:class:`pb.audit.errors.BundleError`; problems inside the other members are reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from pb.audit.bundle import MANIFEST, RawBundle, read_bundle
from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.errors import BundleError, ConfigError
from pb.audit.funding import (
    CALL,
    FUNDING_FORMAT,
    HEX64,
    LEDGER,
    LEDGER_HEADER,
    MATCHES,
    check_call,
    funding_config_sha256,
    ledger_bytes,
    ledger_row_problems,
    locked_rules_problems,
    matches_bytes,
)
from pb.audit.parse import parse_json
from pb.audit.results_diff import differences
from pb.audit.verify import Check, capped_problems
from pb.tally import MatchingRule, TallyError

__all__ = ["FundingReport", "audit_funding_bundle", "format_funding_report", "is_funding_bundle"]

_MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "kind": str,
    "pb_version": str,
    "call_id": (str, int),
    "config_sha256": str,
    "pledges": int,
    "files": dict,
}
_AMOUNT = re.compile(r"[1-9][0-9]{0,17}")


@dataclass(frozen=True, slots=True)
class FundingReport:
    """What :func:`audit_funding_bundle` found. ``ok`` only when every check holds."""

    source: str
    call_id: str
    title: str
    rule: str
    currency: str
    pool: int | None
    matched: int | None
    pb_version: str
    pledges: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def passed(self) -> list[str]:
        return [c.name for c in self.checks if c.ok]

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.checks for p in c.problems]


def is_funding_bundle(raw: RawBundle) -> bool:
    """Whether the zip's manifest says it is a funding bundle (anything else: a ballot one)."""
    try:
        manifest = parse_json(raw.data.get(MANIFEST, b""), MANIFEST)
    except BundleError:
        return False
    return isinstance(manifest, dict) and (
        manifest.get("kind") == "funding" or manifest.get("format") == FUNDING_FORMAT
    )


def _parse_manifest(data: bytes) -> dict[str, Any]:
    manifest = parse_json(data, MANIFEST)
    if not isinstance(manifest, dict):
        raise BundleError("not a JSON object", MANIFEST)
    if manifest.get("format") != FUNDING_FORMAT or manifest.get("kind") != "funding":
        raise BundleError(f"this pb reads funding bundles of format {FUNDING_FORMAT!r}", MANIFEST)
    for key, kind in _MANIFEST_KEYS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BundleError(f"{key!r} is missing or of the wrong type", MANIFEST)
    extra = sorted(set(manifest) - set(_MANIFEST_KEYS))
    if extra:
        raise BundleError(f"unknown field(s) {', '.join(map(repr, extra))}", MANIFEST)
    for name, digest in manifest["files"].items():
        if not isinstance(digest, str) or not HEX64.fullmatch(digest):
            raise BundleError(f"the digest of {name!r} is not 64 lowercase hex digits", MANIFEST)
    return manifest


def _check_files(raw: RawBundle, manifest: Mapping[str, Any]) -> Check:
    problems = []
    listed: Mapping[str, str] = manifest["files"]
    for name in sorted(set(raw.names)):
        if raw.names.count(name) > 1:
            problems.append(f"{name} appears {raw.names.count(name)} times in the zip")
    if MANIFEST in listed:
        problems.append(f"{MANIFEST} lists itself")
    for name in (CALL, LEDGER, MATCHES):
        if name not in listed and name not in raw.data:
            problems.append(f"the bundle has no {name}")
    for name, digest in sorted(listed.items()):
        if name == MANIFEST:
            continue
        if name not in raw.data:
            problems.append(f"{name} is listed in the manifest but missing from the zip")
        elif sha256_hex(raw.data[name]) != digest:
            problems.append(
                f"{name}: SHA-256 {sha256_hex(raw.data[name])[:16]}... does not match the "
                f"manifest's {digest[:16]}..."
            )
    for name in sorted(set(raw.data) - set(listed) - {MANIFEST}):
        problems.append(f"{name} is in the zip but not listed in the manifest")
    if canonical_bytes(manifest) + b"\n" != raw.data[MANIFEST]:
        problems.append(f"{MANIFEST} is not in canonical form")
    summary = f"{len(set(raw.names))} members; every SHA-256 matches the manifest"
    return Check("files", summary, capped_problems(problems))


def _read_call(raw: RawBundle) -> tuple[dict[str, Any] | None, MatchingRule | None, list[str]]:
    """The call, its rule (``None`` when it breaks the contract) and the problems found."""
    if CALL not in raw.data:
        return None, None, [f"the bundle has no {CALL}"]
    try:
        call = parse_json(raw.data[CALL], CALL)
    except BundleError as exc:
        return None, None, [str(exc)]
    try:
        rule = check_call(call)
    except ConfigError as exc:
        return None, None, [f"{CALL}: {exc}"]
    problems = []
    if canonical_bytes(call) + b"\n" != raw.data[CALL]:
        problems.append(f"{CALL} is not in canonical form")
    return call, rule, problems


def _check_call(
    manifest: Mapping[str, Any], call: Mapping[str, Any] | None, problems: list[str]
) -> Check:
    problems = list(problems)
    if call is not None:
        problems.extend(locked_rules_problems(call))
        digest = funding_config_sha256(call)
        if call["config_sha256"] != digest:
            problems.append(
                "the call's config_sha256 is not the SHA-256 of its rules (the call changed "
                "after it was locked)"
            )
        if manifest["config_sha256"] != call["config_sha256"]:
            problems.append("the manifest's config_sha256 is not the call's")
        if manifest["call_id"] != call["call_id"]:
            problems.append(
                f"the manifest is for call {manifest['call_id']!r}, "
                f"call.json for {call['call_id']!r}"
            )
    summary = f"locked rules, config SHA-256 {manifest['config_sha256'][:16]}... recomputes"
    return Check("call", summary, capped_problems(problems))


def _read_ledger(
    data: bytes | None, projects: set[str] | None, expected_rows: int
) -> tuple[list[dict[str, Any]], Check]:
    """The valid ledger rows, and the ``ledger`` check."""
    if data is None:
        return [], Check("ledger", "fulfilled pledges", (f"the bundle has no {LEDGER}",))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], Check(
            "ledger", "pledges", (f"{LEDGER} is not UTF-8 text (byte {exc.start + 1})",)
        )
    problems = []
    lines = text.split("\n")
    if lines[-1]:
        problems.append(f"{LEDGER}: the last line has no newline")
    else:
        lines.pop()
    if not lines or lines[0] != LEDGER_HEADER:
        problems.append(f"{LEDGER} line 1 is not the header {LEDGER_HEADER!r}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if len(fields) != 4:
            problems.append(f"{LEDGER} line {number}: {len(fields)} fields, expected 4")
            continue
        backer, project, amount, eligible = fields
        row = {
            "backer": backer,
            "project": project,
            "amount": int(amount) if _AMOUNT.fullmatch(amount) else amount,
            "eligible": {"true": True, "false": False}.get(eligible, eligible),
        }
        found = ledger_row_problems(row, projects if projects is not None else {project})
        problems.extend(f"{LEDGER} line {number}: {p}" for p in found)
        if not found:
            rows.append(row)
    if len(lines) - 1 != expected_rows:
        problems.append(f"{LEDGER} has {len(lines) - 1} pledges, the manifest says {expected_rows}")
    if not problems and ledger_bytes(rows) != data:
        problems.append(f"{LEDGER} is not in canonical form (rows sorted by project, then backer)")
    eligible_rows = sum(1 for row in rows if row["eligible"])
    summary = f"{len(rows)} valid pledges ({eligible_rows} eligible for matching)"
    return rows, Check("ledger", summary, capped_problems(problems))


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "the whole document"


def _check_matches(
    raw: RawBundle,
    call: Mapping[str, Any] | None,
    rule: MatchingRule | None,
    rows: list[dict[str, Any]],
) -> Check:
    summary = "recomputed matches equal matches.json byte for byte"
    if MATCHES not in raw.data:
        return Check("matches", summary, (f"the bundle has no {MATCHES}",))
    if call is None or rule is None:
        return Check("matches", summary, (f"cannot recompute: {CALL} does not hold a valid call",))
    try:
        recomputed = matches_bytes(call, rule, rows)
    except TallyError as exc:
        return Check("matches", summary, (f"cannot recompute the matches: {exc}",))
    published = raw.data[MATCHES]
    if recomputed == published:
        return Check("matches", f"{summary} ({rule.kind} rule)")
    try:
        published_value = parse_json(published, MATCHES)
    except BundleError as exc:
        return Check("matches", summary, (f"{exc}; it differs from the recomputation",))
    found = differences(published_value, parse_json(recomputed, MATCHES))
    problems = [
        f"{MATCHES} differs at {_dotted(path)}: published {mine!r}, recomputed {theirs!r}"
        for path, mine, theirs in found
    ] or [f"{MATCHES} holds the same values but is not in canonical form"]
    return Check("matches", summary, capped_problems(problems))


def audit_funding_bundle(
    source: str | os.PathLike[str] | IO[bytes] | RawBundle, name: str | None = None
) -> FundingReport:
    """Audit the funding bundle at ``source`` (a path, a binary file or an already read
    :class:`RawBundle`; ``name`` names it in the report). Raises :class:`BundleError` when the
    zip or its manifest cannot be read."""
    raw = source if isinstance(source, RawBundle) else read_bundle(source)
    if name is None:
        name = os.fspath(source) if isinstance(source, str | os.PathLike) else "<stream>"
    if MANIFEST not in raw.data:
        raise BundleError(f"the zip has no {MANIFEST}; is it a pb funding bundle?")
    manifest = _parse_manifest(raw.data[MANIFEST])
    call, rule, call_problems = _read_call(raw)
    projects = {p["id"] for p in call["projects"]} if call is not None else None
    rows, ledger_check = _read_ledger(raw.data.get(LEDGER), projects, manifest["pledges"])
    checks = (
        _check_files(raw, manifest),
        _check_call(manifest, call, call_problems),
        ledger_check,
        _check_matches(raw, call, rule, rows),
    )
    return FundingReport(
        source=name,
        call_id=str(manifest["call_id"]),
        title=str(call["title"]) if call is not None else "(unreadable call)",
        rule=rule.kind if rule is not None else "?",
        currency=str(call["currency"]) if call is not None else "?",
        pool=call["pool"] if call is not None else None,
        matched=_matched(raw),
        pb_version=manifest["pb_version"],
        pledges=len(rows),
        checks=checks,
    )


def _matched(raw: RawBundle) -> int | None:
    try:
        value = parse_json(raw.data.get(MATCHES, b""), MATCHES)
    except BundleError:
        return None
    matched = value.get("matched") if isinstance(value, dict) else None
    return matched if isinstance(matched, int) and not isinstance(matched, bool) else None


def format_funding_report(report: FundingReport, marks: tuple[str, str] = ("✓", "✗")) -> str:
    """The human report: heading, one line per check with its problems, and the verdict."""
    good, bad = marks
    lines = [
        f"pb audit {report.source}",
        f"funding call {report.call_id}: {report.title}",
        f"rule {report.rule}; pool {report.pool} {report.currency} (minor units); "
        f"written by pb {report.pb_version}",
        f"{report.pledges} pledges; matched {report.matched} (published)",
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
    return "\n".join(lines) + "\n"
