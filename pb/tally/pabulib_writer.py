"""Write elections as pabulib text; see :mod:`pb.tally.pabulib` for the format."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pb.tally.model import APPROVAL_LIKE, INT_META_KEYS, ORDINAL, Election

__all__ = ["dump", "dumps"]


def _clean(value: object) -> str:
    # pabulib is line based: a line break inside a field cannot be read back, so it becomes a space
    return " ".join(str(value).splitlines()).strip()


def dumps(election: Election) -> str:
    """Write an election as pabulib text (LF line ends, no BOM), readable by :func:`loads` and
    by pabutools' ``parse_pabulib_from_string``.

    META is ``election.meta`` with ``budget``, ``vote_type``, ``num_projects``, ``num_votes`` and
    the typed limits of the election written over it. Fields holding ``;`` or ``"`` are quoted;
    line breaks inside a field are written as spaces. Ordinal ballots are written in ranking
    order; cumulative/scoring ballots with their points (quadratic: votes, plus META
    ``quadratic_credits``).
    """
    meta: dict[str, str] = dict(election.meta)
    meta["budget"] = str(election.budget)
    meta["vote_type"] = election.vote_type
    meta["num_projects"] = str(len(election.projects))
    meta["num_votes"] = str(len(election.ballots))
    for key in INT_META_KEYS:
        value = getattr(election, key)
        if value is not None:
            meta[key] = str(value)
        else:
            meta.pop(key, None)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    out.write("META\n")
    writer.writerow(["key", "value"])
    for key, value in meta.items():
        writer.writerow([_clean(key), _clean(value)])
    out.write("PROJECTS\n")
    pcols = list(election.project_columns)
    for p in election.projects:
        pcols.extend(
            k for k in p.extra if k not in pcols and k not in ("project_id", "cost", "name")
        )
    writer.writerow(["project_id", "cost", "name", *pcols])
    for p in election.projects:
        writer.writerow(
            [_clean(p.id), p.cost, _clean(p.name), *(_clean(p.extra.get(k, "")) for k in pcols)]
        )
    out.write("VOTES\n")
    with_points = election.vote_type not in APPROVAL_LIKE and election.vote_type != ORDINAL
    vcols = list(election.vote_columns)
    for b in election.ballots:
        vcols.extend(
            k for k in b.extra if k not in vcols and k not in ("voter_id", "vote", "points")
        )
    writer.writerow(["voter_id", "vote", *(["points"] if with_points else []), *vcols])
    for b in election.ballots:
        ids = list(b.points)
        if election.vote_type == ORDINAL:
            ids.sort(key=lambda pid: -b.points[pid])  # stable: ties keep the ballot's order
        fields: list[object] = [_clean(b.voter_id), ",".join(ids)]
        if with_points:
            fields.append(",".join(str(b.points[pid]) for pid in ids))
        fields.extend(_clean(b.extra.get(k, "")) for k in vcols)
        writer.writerow(fields)
    return out.getvalue()


def dump(election: Election, path: str | Path) -> None:
    """Write :func:`dumps` of the election to ``path`` as UTF-8 (no BOM)."""
    Path(path).write_text(dumps(election), encoding="utf-8", newline="")
