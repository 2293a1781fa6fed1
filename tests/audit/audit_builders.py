"""Builders for synthetic rounds: a locked config and a chained ballot log of random, valid
ballots, made with the same public functions the web app calls."""

from __future__ import annotations

import datetime
import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pb.audit.chain import ballot_record, chain_hashes, genesis_record, new_receipt_code
from pb.audit.receipt import ALPHABET, GROUPS

PB_VERSION = "0.1.0"
RULE_FOR_KIND = {
    "approval": "greedy",
    "knapsack": "equalshares/add1",
    "quadratic": "greedy-threshold",
    "cumulative": "equalshares",
}


@dataclass
class Round:
    """A synthetic round: the locked config, the log records and their hashes."""

    config: dict[str, Any]
    records: list[dict[str, Any]]
    hashes: list[str]

    @property
    def ballots(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "ballot"]


def receipt(rng: random.Random) -> str:
    """A receipt code drawn from ``rng`` (reproducible, unlike :func:`new_receipt_code`)."""
    chars = "".join(rng.choice(ALPHABET) for _ in range(sum(GROUPS)))
    parts, start = [], 0
    for size in GROUPS:
        parts.append(chars[start : start + size])
        start += size
    return "-".join(parts)


def method(kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": kind,
        "min_choices": None,
        "max_choices": None,
        "credits": None,
        "points": None,
        "max_per_project": None,
    }
    if kind == "approval":
        base.update(min_choices=1, max_choices=4)
    elif kind == "quadratic":
        base.update(credits=100)
    elif kind == "cumulative":
        base.update(points=10, max_per_project=5)
    return base


def make_config(
    rng: random.Random, kind: str, rule: str | None = None, n_districts: int = 3
) -> dict[str, Any]:
    keys = ["citywide", "north", "south-2"][:n_districts]
    districts = []
    next_id = 1
    for key in keys:
        projects: list[dict[str, Any]] = []
        for _ in range(rng.randint(4, 9)):
            # small amounts keep Add1 quick: pb.tally raises shares by one *minor* unit
            cost = rng.randint(5, 60) * 100
            projects.append({"id": str(next_id), "title": f"Project {next_id}", "cost": cost})
            next_id += 1
        total = sum(p["cost"] for p in projects)
        districts.append(
            {"key": key, "name": key.title(), "budget": total // 2, "projects": projects}
        )
    rule = rule or RULE_FOR_KIND[kind]
    return {
        "round": {"id": "7", "title": "Town budget 2025 · «Ünïcode»", "currency": "EUR"},
        "method": method(kind),
        "rule": rule,
        "min_project_score_threshold": 3 if rule == "greedy-threshold" else None,
        "tie_break": "lower-cost,higher-score,natural-id",
        "districts": districts,
    }


def random_choices(
    rng: random.Random, config: dict[str, Any], district: dict[str, Any]
) -> dict[str, int]:
    m = config["method"]
    ids = [p["id"] for p in district["projects"]]
    kind = m["kind"]
    if kind == "approval":
        return dict.fromkeys(rng.sample(ids, rng.randint(1, min(4, len(ids)))), 1)
    if kind == "knapsack":
        chosen: dict[str, int] = {}
        left = district["budget"]
        for p in rng.sample(district["projects"], len(ids)):
            if p["cost"] <= left and rng.random() < 0.6:
                chosen[p["id"]] = 1
                left -= p["cost"]
        return chosen
    if kind == "quadratic":
        votes: dict[str, int] = {}
        credits = m["credits"]
        for pid in rng.sample(ids, len(ids)):
            v = rng.randint(0, 6)
            if v * v <= credits:
                votes[pid] = v
                credits -= v * v
        return votes
    points: dict[str, int] = {}
    left = m["points"]
    for pid in rng.sample(ids, len(ids)):
        v = min(rng.randint(0, m["max_per_project"]), left)
        points[pid] = v
        left -= v
    return points


def make_round(
    seed: int = 1,
    kind: str = "approval",
    rule: str | None = None,
    n_ballots: int | None = None,
    n_districts: int = 3,
) -> Round:
    """A round of ``kind`` with 30-200 random valid ballots (``n_ballots`` to fix the number)."""
    rng = random.Random(seed)
    config = make_config(rng, kind, rule, n_districts)
    records: list[dict[str, Any]] = [genesis_record("7", config)]
    total = n_ballots if n_ballots is not None else rng.randint(30, 200)
    start = datetime.date(2025, 5, 1)
    for seq in range(1, total + 1):
        district = rng.choice(config["districts"])
        records.append(
            ballot_record(
                seq,
                district["key"],
                receipt(rng),
                random_choices(rng, config, district),
                start + datetime.timedelta(days=rng.randint(0, 13)),
                rng.choice(("online", "online", "paper")),
            )
        )
    return Round(config, records, chain_hashes(records))


__all__ = [
    "PB_VERSION",
    "Round",
    "bundle_bytes",
    "edit_manifest",
    "log_entries",
    "make_config",
    "make_round",
    "members",
    "new_receipt_code",
    "receipt",
    "rezip",
    "set_log",
]


def bundle_bytes(round_: Round, pb_version: str = PB_VERSION) -> bytes:
    """The ballot bundle of a round, as the web app would write it."""
    from pb.audit.bundle import write_bundle
    from pb.audit.results import ballots_by_district, results_bytes

    out = io.BytesIO()
    results = results_bytes(round_.config, ballots_by_district(round_.records))
    write_bundle(out, round_.config, round_.records, round_.hashes, results, pb_version)
    return out.getvalue()


def members(bundle: bytes) -> dict[str, bytes]:
    """The members of a zip, in zip order."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(files: dict[str, bytes], *, fix_digests: bool = False) -> bytes:
    """A zip of ``files`` (in order) as the bundle writer makes them. With ``fix_digests`` the
    manifest's digests are recomputed first, as a tamperer who knows the format would do."""
    from pb.audit.bundle import MANIFEST, zip_bytes
    from pb.audit.canonical import canonical_bytes, sha256_hex

    files = dict(files)
    if fix_digests:
        manifest = json.loads(files[MANIFEST])
        manifest["files"] = {n: sha256_hex(d) for n, d in files.items() if n != MANIFEST}
        files[MANIFEST] = canonical_bytes(manifest) + b"\n"
    return zip_bytes(list(files.items()))


def edit_manifest(files: dict[str, bytes], change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the parsed manifest and write it back in canonical form."""
    from pb.audit.canonical import canonical_bytes

    manifest = json.loads(files["manifest.json"])
    change(manifest)
    files["manifest.json"] = canonical_bytes(manifest) + b"\n"


def log_entries(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files["ballot_log.jsonl"].splitlines()]


def set_log(files: dict[str, bytes], entries: list[dict[str, Any]]) -> None:
    from pb.audit.canonical import canonical_bytes

    files["ballot_log.jsonl"] = b"".join(canonical_bytes(e) + b"\n" for e in entries)
