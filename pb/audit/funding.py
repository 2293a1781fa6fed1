"""The funding bundle: the zip an auditor downloads from a funding call's published matches.

Members, always in this order::

    manifest.json  canonical JSON + "\\n": {"format": "pb-funding-bundle/1", "kind": "funding",
                   "pb_version", "call_id", "config_sha256", "pledges": <ledger rows>,
                   "files": {member: SHA-256}} (every member but the manifest)
    call.json      the call's locked rules, canonical JSON + "\\n" (:func:`check_call`)
    ledger.csv     the fulfilled pledges of successful campaigns (:func:`ledger_bytes`)
    matches.json   canonical JSON + "\\n" (:func:`matches_document`), recomputed by the audit

``config_sha256`` is the SHA-256 of the canonical JSON of the call without its own
``config_sha256`` field (:func:`funding_config_sha256`). A call may also carry the rules it
locked when pledging opened and their hash (``locked_rules``, ``locked_rules_sha256``); both
are then checked against the call (:func:`locked_rules_problems`).

The zip is deterministic as the ballot bundle's is (:func:`pb.audit.bundle.zip_bytes`)
and every member is sorted or canonical, so the same call and ledger give the same bytes
whatever order the database returned the pledges in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pb.audit.bundle import MANIFEST, zip_bytes
from pb.audit.canonical import canonical_bytes, check_exact, sha256_hex
from pb.audit.config import PROJECT_ID
from pb.audit.errors import ConfigError, RecordError
from pb.tally import MatchingRule, RuleError, compute_matches

__all__ = [
    "BACKER",
    "CALL",
    "FUNDING_FORMAT",
    "LEDGER",
    "LEDGER_HEADER",
    "MATCHES",
    "MATCHES_FORMAT",
    "build_funding_bundle",
    "check_call",
    "funding_config_sha256",
    "ledger_bytes",
    "ledger_row_problems",
    "locked_rules_problems",
    "matches_bytes",
    "matches_document",
]

FUNDING_FORMAT = "pb-funding-bundle/1"
MATCHES_FORMAT = "pb-funding-matches/1"
CALL = "call.json"
LEDGER = "ledger.csv"
MATCHES = "matches.json"
LEDGER_HEADER = "backer,project,amount,eligible"
BACKER = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""A backer pseudonym: e.g. the hex HMAC of the user id, keyed per call."""
CURRENCY = re.compile(r"[A-Z]{3}")
HEX64 = re.compile(r"[0-9a-f]{64}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def funding_config_sha256(call: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``call`` without its ``config_sha256`` field."""
    return sha256_hex(canonical_bytes({k: v for k, v in call.items() if k != "config_sha256"}))


def check_call(call: Any) -> MatchingRule:
    """Check the locked call against the contract and return its matching rule; raise
    :class:`ConfigError` naming the first field that breaks it.

    Required: ``call_id`` (string or whole number), ``title`` (string), ``currency`` (ISO code),
    ``pool`` (whole number >= 0), ``rule`` (:meth:`MatchingRule.to_json_dict`), ``projects``
    (list of ``{"id": string, "title": string, "goal": whole number >= 0}``, ids unique, no
    spaces, commas, semicolons or quotes) and ``config_sha256`` (64 hex digits). Other fields
    the call locked may follow (exact JSON values only); the hash covers them too.
    """
    if not isinstance(call, dict):
        raise ConfigError(f"the call is {type(call).__name__}, expected an object")
    try:
        check_exact(call, "call")
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    for key in ("call_id", "title", "currency", "pool", "rule", "projects", "config_sha256"):
        if key not in call:
            raise ConfigError(f"the call has no {key!r}")
    if not (isinstance(call["call_id"], str) or _whole(call["call_id"])):
        raise ConfigError(f"call.call_id is {call['call_id']!r}, expected a string or number")
    if not isinstance(call["title"], str):
        raise ConfigError(f"call.title is {call['title']!r}, expected a string")
    if not isinstance(call["currency"], str) or not CURRENCY.fullmatch(call["currency"]):
        raise ConfigError(f"call.currency is {call['currency']!r}, expected an ISO code")
    if not _whole(call["pool"]) or call["pool"] < 0:
        raise ConfigError(f"call.pool is {call['pool']!r}, expected a whole number >= 0")
    if not isinstance(call["config_sha256"], str) or not HEX64.fullmatch(call["config_sha256"]):
        raise ConfigError("call.config_sha256 is not 64 lowercase hex digits")
    try:
        rule = MatchingRule.from_json_dict(call["rule"])
    except RuleError as exc:
        raise ConfigError(f"call.rule: {exc}") from None
    if not isinstance(call["projects"], list):
        raise ConfigError("call.projects is not a list")
    seen: set[str] = set()
    for n, project in enumerate(call["projects"]):
        where = f"call.projects[{n}]"
        if not isinstance(project, dict) or set(project) != {"id", "title", "goal"}:
            raise ConfigError(f"{where} must be {{'id', 'title', 'goal'}}")
        pid = project["id"]
        if not isinstance(pid, str) or not PROJECT_ID.fullmatch(pid):
            raise ConfigError(f"{where}.id is {pid!r}, expected a string id without spaces")
        if pid in seen:
            raise ConfigError(f"{where}.id {pid!r} appears twice")
        seen.add(pid)
        if not isinstance(project["title"], str):
            raise ConfigError(f"{where}.title is not a string")
        if not _whole(project["goal"]) or project["goal"] < 0:
            raise ConfigError(f"{where}.goal is {project['goal']!r}, expected a whole number >= 0")
    return rule


def locked_rules_problems(call: Mapping[str, Any]) -> list[str]:
    """When the call carries the rules locked at pledging time (``locked_rules``, any object,
    and ``locked_rules_sha256``, the hash shown on the call's page), what does not hold: the
    hash of their canonical JSON, and their ``currency``, ``pool``, ``rule`` and project goals
    against the call's. Empty when the call has neither field."""
    if "locked_rules" not in call and "locked_rules_sha256" not in call:
        return []
    locked, digest = call.get("locked_rules"), call.get("locked_rules_sha256")
    if not isinstance(locked, dict) or not isinstance(digest, str):
        return ["locked_rules must be an object and locked_rules_sha256 its SHA-256"]
    problems = []
    if sha256_hex(canonical_bytes(locked)) != digest:
        problems.append(
            "the locked rules do not hash to locked_rules_sha256 (they changed after pledging "
            "opened)"
        )
    for key in ("currency", "pool", "rule"):
        if key in locked and locked[key] != call[key]:
            problems.append(f"call.{key} is not the locked rules' {key}")
    if isinstance(locked.get("projects"), list):
        goals = {p.get("id"): p.get("goal") for p in locked["projects"] if isinstance(p, dict)}
        if goals != {p["id"]: p["goal"] for p in call["projects"]}:
            problems.append("the call's projects or goals are not the locked rules'")
    return problems


def ledger_row_problems(row: Any, projects: set[str]) -> list[str]:
    """What is wrong with one ledger row ``{"backer", "project", "amount", "eligible"}``."""
    if not isinstance(row, Mapping) or set(row) != {"backer", "project", "amount", "eligible"}:
        return ["is not {'backer', 'project', 'amount', 'eligible'}"]
    problems = []
    if not isinstance(row["backer"], str) or not BACKER.fullmatch(row["backer"]):
        problems.append(f"backer {row['backer']!r} is not a pseudonym (letters, digits, - or _)")
    if row["project"] not in projects:
        problems.append(f"project {row['project']!r} is not a project of the call")
    if not _whole(row["amount"]) or row["amount"] <= 0:
        problems.append(f"amount {row['amount']!r} is not a whole number > 0")
    if not isinstance(row["eligible"], bool):
        problems.append(f"eligible {row['eligible']!r} is not true or false")
    return problems


def ledger_bytes(ledger: Sequence[Mapping[str, Any]]) -> bytes:
    """``ledger.csv``: the header line, then ``backer,project,amount,eligible`` per pledge
    (amount in minor units, eligible ``true``/``false``), sorted by project, backer, amount and
    eligibility, every line ending in ``\\n``. Ids cannot hold commas or quotes: no quoting."""
    rows = sorted((r["project"], r["backer"], r["amount"], r["eligible"]) for r in ledger)
    lines = [LEDGER_HEADER]
    lines.extend(f"{b},{p},{a},{'true' if e else 'false'}" for p, b, a, e in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def matches_document(
    call: Mapping[str, Any], rule: MatchingRule, ledger: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The published matches. Per project of the call: ``goal``; ``raised`` (every ledger
    pledge to it); ``need`` = max(goal - raised, 0); ``eligible_raised`` and ``backers`` (the
    eligible residents' pledges and their number); ``match`` from ``rule`` over the eligible
    pledges with the call's pool and these needs. Plus ``matched`` (the sum) and ``unmatched``
    (what stays in the pool)."""
    projects: dict[str, dict[str, Any]] = {}
    for project in call["projects"]:
        projects[project["id"]] = {"goal": project["goal"], "raised": 0, "eligible_raised": 0}
    backers: dict[str, set[str]] = {pid: set() for pid in projects}
    pledges = []
    for row in ledger:
        entry = projects[row["project"]]
        entry["raised"] += row["amount"]
        if row["eligible"]:
            entry["eligible_raised"] += row["amount"]
            backers[row["project"]].add(row["backer"])
            pledges.append((row["backer"], row["project"], row["amount"]))
    need = {pid: max(entry["goal"] - entry["raised"], 0) for pid, entry in projects.items()}
    matches = compute_matches(rule, pledges, call["pool"], need)
    for pid, entry in projects.items():
        entry.update(need=need[pid], backers=len(backers[pid]), match=matches.get(pid, 0))
    matched = sum(entry["match"] for entry in projects.values())
    return {
        "format": MATCHES_FORMAT,
        "call_id": call["call_id"],
        "currency": call["currency"],
        "pool": call["pool"],
        "rule": rule.to_json_dict(),
        "matched": matched,
        "unmatched": call["pool"] - matched,
        "projects": projects,
    }


def matches_bytes(
    call: Mapping[str, Any], rule: MatchingRule, ledger: Sequence[Mapping[str, Any]]
) -> bytes:
    """``matches.json``: canonical JSON of :func:`matches_document` + ``\\n``."""
    return canonical_bytes(matches_document(call, rule, ledger)) + b"\n"


def build_funding_bundle(
    call: dict[str, Any], ledger: list[dict[str, Any]], pb_version: str
) -> bytes:
    """The funding bundle of a published call (module docstring), as zip bytes.

    Inputs: the locked ``call`` (:func:`check_call`), whose ``config_sha256`` must be
    :func:`funding_config_sha256` of it; the ``ledger`` of fulfilled pledges of successful
    campaigns, ``{"backer": pseudonym, "project": id, "amount": minor units, "eligible": bool}``
    in any order; the pb version. Computes ``matches.json`` itself. Raises
    :class:`ConfigError` for a call that breaks the contract or whose hash does not hold, and
    :class:`RecordError` naming the first bad ledger rows, so nothing unsound is published.
    """
    rule = check_call(call)
    if call["config_sha256"] != funding_config_sha256(call):
        raise ConfigError(
            "call.config_sha256 is not the SHA-256 of the call's canonical JSON (without it)"
        )
    locked = locked_rules_problems(call)
    if locked:
        raise ConfigError("; ".join(locked))
    known = {project["id"] for project in call["projects"]}
    problems = [
        f"ledger row {n}: {problem}"
        for n, row in enumerate(ledger)
        for problem in ledger_row_problems(row, known)
    ]
    if problems:
        raise RecordError("the ledger is not valid: " + "; ".join(problems[:5]))
    if not isinstance(pb_version, str) or not pb_version:
        raise ValueError(f"pb_version is {pb_version!r}, expected a version string")
    members = {
        CALL: canonical_bytes(call) + b"\n",
        LEDGER: ledger_bytes(ledger),
        MATCHES: matches_bytes(call, rule, ledger),
    }
    manifest = {
        "format": FUNDING_FORMAT,
        "kind": "funding",
        "pb_version": pb_version,
        "call_id": call["call_id"],
        "config_sha256": call["config_sha256"],
        "pledges": len(ledger),
        "files": {name: sha256_hex(data) for name, data in members.items()},
    }
    return zip_bytes([(MANIFEST, canonical_bytes(manifest) + b"\n"), *members.items()])
