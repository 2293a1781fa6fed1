"""``audit_bundle``: re-run everything a round published, offline, from its ballot bundle.

No server, database or network: only the zip, the standard library and :mod:`pb.tally`.
The checks, in order (each one a :class:`Check` in the :class:`Report`):

* ``files``: every member but the manifest is listed in ``manifest.json`` with its SHA-256 and
  matches it; none is missing, unlisted or repeated; the manifest is in canonical form;
* ``config``: the manifest's ``config_sha256``, ``rule`` and ``tie_break`` agree with its config,
  and the genesis record of the log holds that config's round id and SHA-256;
* ``chain``: the ballot log recomputes (:func:`pb.audit.chain.verify_chain`), every line is
  canonical, and the manifest's chain head and length are the log's;
* ``ballots``: every chained ballot is valid under the round's method (:mod:`pb.audit.method`);
* ``districts``: each ``districts/<key>.pb`` holds exactly the chained ballots of its district
  (same receipt codes, same choices) and the config's budget, projects and costs;
* ``results``: re-tallying every district with the recorded rule and tie-break gives
  ``results.json`` byte for byte; a difference names the district and field.

Unreadable input raises :class:`pb.audit.errors.BundleError` instead of giving a report.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from pb.audit.bundle import LOG, MANIFEST, RESULTS, district_member, read_bundle
from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.chain import record_problems, verify_chain
from pb.audit.config import config_sha256
from pb.audit.district_file import district_file_problems
from pb.audit.errors import AuditError, BundleError
from pb.audit.method import ballot_problems
from pb.audit.parse import Log, parse_json, parse_log, parse_manifest, parse_pb
from pb.audit.results import ballots_by_district, results_bytes
from pb.audit.results_diff import describe_difference
from pb.tally import TallyError

__all__ = ["Check", "Report", "audit_bundle"]

MAX_LISTED = 20
"""At most this many problems are listed per check (then a count of the rest)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the audit: its ``name``, a one-line ``summary`` of what was checked, and the
    ``problems`` found (none when it holds)."""

    name: str
    summary: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Report:
    """What ``audit_bundle`` found. ``ok`` only when every check holds."""

    source: str
    round_id: str
    title: str
    rule: str
    tie_break: str
    pb_version: str
    chain_head: str
    chain_length: int
    ballots_per_district: Mapping[str, int]
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def passed(self) -> list[str]:
        """Names of the checks that hold."""
        return [c.name for c in self.checks if c.ok]

    @property
    def problems(self) -> list[str]:
        """Every problem, prefixed with the name of its check."""
        return [f"{c.name}: {p}" for c in self.checks for p in c.problems]


def capped_problems(problems: list[str]) -> tuple[str, ...]:
    """At most MAX_LISTED problems, then how many more there are."""
    if len(problems) <= MAX_LISTED:
        return tuple(problems)
    return (*problems[:MAX_LISTED], f"... and {len(problems) - MAX_LISTED} more")


def _check_files(
    names: tuple[str, ...],
    data: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    manifest_bytes: bytes,
) -> Check:
    problems = []
    listed: Mapping[str, str] = manifest["files"]
    for name in sorted(set(names)):
        if names.count(name) > 1:
            problems.append(f"{name} appears {names.count(name)} times in the zip")
    if MANIFEST in listed:
        problems.append(f"{MANIFEST} lists itself")
    expected = [LOG, RESULTS, *(district_member(d["key"]) for d in manifest["config"]["districts"])]
    for name in expected:
        if name not in listed and name not in data:
            problems.append(f"the bundle has no {name}")
    for name, digest in sorted(listed.items()):
        if name == MANIFEST:
            continue
        if name not in data:
            problems.append(f"{name} is listed in the manifest but missing from the zip")
        elif sha256_hex(data[name]) != digest:
            problems.append(
                f"{name}: SHA-256 {sha256_hex(data[name])[:16]}... does not match the "
                f"manifest's {digest[:16]}..."
            )
    for name in sorted(set(data) - set(listed) - {MANIFEST}):
        problems.append(f"{name} is in the zip but not listed in the manifest")
    if canonical_bytes(manifest) + b"\n" != manifest_bytes:
        problems.append(f"{MANIFEST} is not in canonical form")
    summary = f"{len(set(names))} members; every SHA-256 matches the manifest"
    return Check("files", summary, capped_problems(problems))


def _check_config(manifest: Mapping[str, Any], log: Log | None) -> Check:
    config = manifest["config"]
    digest = config_sha256(config)
    problems = []
    if manifest["config_sha256"] != digest:
        problems.append("the manifest's config_sha256 is not the SHA-256 of its config")
    for key in ("rule", "tie_break"):
        if manifest[key] != config[key]:
            problems.append(
                f"the manifest's {key} {manifest[key]!r} is not the config's {config[key]!r}"
            )
    genesis = log.records[0] if log is not None and log.records else None
    if not isinstance(genesis, dict) or genesis.get("kind") != "genesis":
        problems.append("the ballot log has no genesis record to hold the config's SHA-256")
    else:
        if genesis.get("config_sha256") != digest:
            problems.append(
                "genesis mismatch: the genesis record holds another SHA-256 than the config's "
                "(the config changed after the ballot log began)"
            )
        if genesis.get("round") != config["round"]["id"]:
            problems.append(
                f"genesis mismatch: the genesis record is for round "
                f"{genesis.get('round')!r}, the config for {config['round']['id']!r}"
            )
    summary = f"config SHA-256 {digest[:16]}... is in the manifest and the genesis record"
    return Check("config", summary, capped_problems(problems))


def _check_chain(manifest: Mapping[str, Any], log: Log | None) -> Check:
    head, length = manifest["chain"]["head"], manifest["chain"]["length"]
    if log is None:
        return Check("chain", "ballot log", (f"the bundle has no {LOG}",))
    problems = verify_chain(log.records, log.hashes)
    problems.extend(f"{LOG} line {n} is not canonical JSON" for n in log.not_canonical)
    if len(log.records) != length:
        problems.append(f"the log has {len(log.records)} records, the manifest says {length}")
    if not log.hashes or log.hashes[-1] != head:
        problems.append("the log's last hash is not the chain head in the manifest")
    summary = f"{len(log.records)} records; every hash recomputes; the head is the manifest's"
    return Check("chain", summary, capped_problems(problems))


def _good_ballots(log: Log | None) -> list[dict[str, Any]]:
    """The chained ballot records that are well formed (malformed ones are chain problems)."""
    if log is None:
        return []
    return [
        r
        for r in log.records
        if isinstance(r, dict) and r.get("kind") == "ballot" and not record_problems(r)
    ]


def _check_ballots(config: Mapping[str, Any], ballots: list[dict[str, Any]]) -> Check:
    districts = {d["key"]: d for d in config["districts"]}
    problems = []
    for record in ballots:
        district = districts.get(record["district"])
        if district is None:
            problems.append(
                f"ballot {record['receipt']} (seq {record['seq']}) is for district "
                f"{record['district']!r}, which the config does not have"
            )
            continue
        problems.extend(
            f"ballot {record['receipt']} (seq {record['seq']}) {p}"
            for p in ballot_problems(config, district, record["choices"])
        )
    summary = f"{len(ballots)} ballots valid under the {config['method']['kind']} method"
    return Check("ballots", summary, capped_problems(problems))


def _check_districts(
    config: Mapping[str, Any],
    ballots: list[dict[str, Any]],
    data: Mapping[str, bytes],
    pb_version: str,
) -> Check:
    grouped = ballots_by_district(ballots)
    problems = []
    counts = []
    for district in config["districts"]:
        member = district_member(district["key"])
        if member not in data:
            problems.append(f"the bundle has no {member}")
            continue
        election = parse_pb(data[member], member)
        mine = [dict(r) for r in grouped.get(district["key"], [])]
        problems.extend(district_file_problems(config, district, mine, election, pb_version))
        counts.append(f"{district['key']} {len(election.ballots)}")
    known = {district_member(d["key"]) for d in config["districts"]}
    problems.extend(
        f"{name} is not a district of the config"
        for name in sorted(data)
        if name.startswith("districts/") and name not in known
    )
    summary = f"each .pb holds exactly its chained ballots ({', '.join(counts)})"
    return Check("districts", summary, capped_problems(problems))


def _check_results(
    config: Mapping[str, Any], ballots: list[dict[str, Any]], data: Mapping[str, bytes]
) -> Check:
    summary = (
        f"re-tally of {len(config['districts'])} district(s) with {config['rule']} "
        "equals results.json byte for byte"
    )
    if RESULTS not in data:
        return Check("results", summary, (f"the bundle has no {RESULTS}",))
    published = data[RESULTS]
    published_value = parse_json(published, RESULTS)
    try:
        recomputed = results_bytes(config, ballots_by_district(ballots))
    except (AuditError, TallyError) as exc:
        return Check("results", summary, (f"cannot re-tally the chained ballots: {exc}",))
    if recomputed == published:
        return Check("results", summary)
    differences = describe_difference(published_value, parse_json(recomputed, RESULTS))
    if not differences:
        differences = ["results.json holds the same values but is not in canonical form"]
    return Check(
        "results",
        summary,
        capped_problems([f"results.json differs from the re-tally: {d}" for d in differences]),
    )


def audit_bundle(source: str | os.PathLike[str] | IO[bytes]) -> Report:
    """Audit the ballot bundle at ``source`` (a path or a binary file object); see the module
    docstring for the checks. Raises :class:`BundleError` when the bundle cannot be read."""
    raw = read_bundle(source)
    if MANIFEST not in raw.data:
        raise BundleError(f"the zip has no {MANIFEST}; is it a pb ballot bundle?")
    manifest = parse_manifest(raw.data[MANIFEST])
    config = manifest["config"]
    log = parse_log(raw.data[LOG], LOG) if LOG in raw.data else None
    ballots = _good_ballots(log)
    checks = (
        _check_files(raw.names, raw.data, manifest, raw.data[MANIFEST]),
        _check_config(manifest, log),
        _check_chain(manifest, log),
        _check_ballots(config, ballots),
        _check_districts(config, ballots, raw.data, manifest["pb_version"]),
        _check_results(config, ballots, raw.data),
    )
    per_district = {d["key"]: 0 for d in config["districts"]}
    for record in ballots:
        if record["district"] in per_district:
            per_district[record["district"]] += 1
    return Report(
        source=os.fspath(source) if isinstance(source, str | os.PathLike) else "<stream>",
        round_id=config["round"]["id"],
        title=config["round"]["title"],
        rule=config["rule"],
        tie_break=config["tie_break"],
        pb_version=manifest["pb_version"],
        chain_head=manifest["chain"]["head"],
        chain_length=manifest["chain"]["length"],
        ballots_per_district=per_district,
        checks=checks,
    )
