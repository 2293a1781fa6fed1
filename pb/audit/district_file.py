"""Whether a district's ``.pb`` in a bundle holds what the chain and the config say it should.

The comparison is on meaning, not bytes (the file's digest already pins its bytes): the file is
read with :func:`pb.tally.loads` and compared with the export of the same district rebuilt from
the locked config and the chained ballots (:func:`pb.audit.results.district_election`, with
META ``pb_version``): budget, vote type, every META entry (ballot limits included), the
projects with their costs and names, and the ballots, receipt by receipt. A layout change in a
later pabulib writer therefore does not make an old bundle fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pb.audit.bundle import district_member
from pb.audit.errors import AuditError
from pb.audit.results import VOTE_TYPE_OF_METHOD, district_election
from pb.tally import Election, TallyError, dumps, loads

__all__ = ["district_file_problems", "expected_district_file"]


def expected_district_file(
    config: Mapping[str, Any], key: str, ballots: Sequence[Mapping[str, Any]], pb_version: str
) -> Election:
    """The district's export as :func:`pb.audit.bundle.pb_files` writes it, read back."""
    election = district_election(config, key, ballots)
    election = dataclasses.replace(election, meta={**election.meta, "pb_version": pb_version})
    return loads(dumps(election))


def _ballot_problems(
    member: str, file: Election, ballots: Sequence[Mapping[str, Any]]
) -> list[str]:
    problems = []
    in_file = {b.voter_id: dict(b.points) for b in file.ballots}
    in_log = {r["receipt"]: dict(r["choices"]) for r in ballots}
    for receipt in sorted(set(in_log) - set(in_file)):
        problems.append(f"{member}: ballot {receipt} of the log is missing")
    for receipt in sorted(set(in_file) - set(in_log)):
        problems.append(f"{member}: ballot {receipt} is not in the ballot log")
    for receipt in sorted(set(in_file) & set(in_log)):
        if in_file[receipt] != in_log[receipt]:
            problems.append(
                f"{member}: ballot {receipt} gives {in_file[receipt]}, the log {in_log[receipt]}"
            )
    return problems


def district_file_problems(
    config: Mapping[str, Any],
    district: Mapping[str, Any],
    ballots: Sequence[Mapping[str, Any]],
    file: Election,
    pb_version: str,
) -> list[str]:
    """What differs between the district's ``.pb`` (read as ``file``) and the export rebuilt
    from ``config``, the district's chained ``ballots`` and ``pb_version`` (module docstring);
    empty when they agree. Ballots that cannot be exported (an unknown project...) are compared
    receipt by receipt only; they are reported by the other checks."""
    member = district_member(district["key"])
    problems = []
    if file.budget != district["budget"]:
        problems.append(f"{member}: budget {file.budget}, the config says {district['budget']}")
    have = [(p.id, p.cost) for p in file.projects]
    want = [(p["id"], p["cost"]) for p in district["projects"]]
    if have != want:
        problems.append(f"{member}: projects and costs {have} are not the config's {want}")
    vote_type = VOTE_TYPE_OF_METHOD[config["method"]["kind"]]
    if file.vote_type != vote_type:
        problems.append(f"{member}: vote_type {file.vote_type}, expected {vote_type}")
    problems.extend(_ballot_problems(member, file, ballots))
    try:
        expected = expected_district_file(config, district["key"], ballots, pb_version)
    except (AuditError, TallyError):
        return problems
    for key in sorted(set(file.meta) | set(expected.meta)):
        if key in ("budget", "vote_type"):
            continue  # compared above
        if file.meta.get(key) != expected.meta.get(key):
            problems.append(
                f"{member}: META {key} is {file.meta.get(key)!r}, expected "
                f"{expected.meta.get(key)!r}"
            )
    if have == want:
        for mine, theirs in zip(file.projects, expected.projects, strict=True):
            if (mine.name, dict(mine.extra)) != (theirs.name, dict(theirs.extra)):
                problems.append(
                    f"{member}: project {mine.id!r} is named {mine.name!r}, "
                    f"expected {theirs.name!r}"
                )
    file_extra = {b.voter_id: dict(b.extra) for b in file.ballots}
    if any(file_extra.values()) or file.vote_columns != expected.vote_columns:
        problems.append(f"{member}: the votes have extra columns {list(file.vote_columns)}")
    return problems
