"""Canonical results: every district of a round tallied with the round's recorded rule.

The web app calls :func:`results_bytes` when it publishes; ``pb audit`` calls it again on the
bundle and compares byte for byte. Same config and same ballots give the same bytes, whatever the
order the ballots come in (they are sorted by receipt code first), on any machine.

One district's election (:func:`district_election`), as pabulib sees it:

* budget and costs in integer minor units (cents), META ``currency`` names the currency;
* voter ids are the receipt codes; ballots sorted by receipt; points in the config's project order;
* approval and knapsack ballots are ``approval`` ballots (knapsack adds META ``max_sum_cost``);
  quadratic ballots are ``cumulative`` with ``quadratic_credits`` (points = votes); cumulative
  ballots are ``cumulative`` with ``max_sum_points``; ``min_length``/``max_length`` and
  ``max_points`` carry the method's limits when set;
* META ``rule`` is the round's rule and ``min_project_score_threshold`` its threshold, if any.

Note: ``equalshares/add1`` raises each voter's share by one unit of the election's money, so here
by one minor unit (``pb.tally`` has no option to raise by a whole currency unit).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pb.audit.canonical import canonical_bytes
from pb.audit.config import district_config, tie_break_of
from pb.audit.errors import RecordError
from pb.tally import Ballot, Election, Project, tally

__all__ = [
    "RESULTS_FORMAT",
    "VOTE_TYPE_OF_METHOD",
    "ballots_by_district",
    "district_election",
    "results_bytes",
    "results_document",
]

RESULTS_FORMAT = "pb-results/1"
"""The ``format`` of a results document; a change of layout gets a new number."""

VOTE_TYPE_OF_METHOD = {
    "approval": "approval",
    "knapsack": "approval",
    "quadratic": "cumulative",
    "cumulative": "cumulative",
}
"""The pabulib vote type of each voting method."""


def ballots_by_district(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The ballot records of a log grouped by district key (the genesis record is skipped),
    in log order."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("kind") == "ballot":
            grouped.setdefault(record["district"], []).append(record)
    return grouped


def _points(
    record: Mapping[str, Any], order: Mapping[str, int], approval: bool, key: str
) -> dict[str, int]:
    choices = record["choices"]
    receipt = record["receipt"]
    if record.get("district") != key:
        raise RecordError(
            f"ballot {receipt} is for district {record.get('district')!r}, not {key!r}"
        )
    unknown = [pid for pid in choices if pid not in order]
    if unknown:
        raise RecordError(f"ballot {receipt} names project {unknown[0]!r}, not on ballot {key!r}")
    if approval and any(n != 1 for n in choices.values()):
        raise RecordError(f"ballot {receipt} gives a project more than 1 in an approval vote")
    return {pid: choices[pid] for pid in sorted(choices, key=order.__getitem__)}


def district_election(
    config: Mapping[str, Any], district_key: str, ballots: Iterable[Mapping[str, Any]]
) -> Election:
    """The pabulib election of one district (module docstring) from the locked ``config`` and
    the district's chained ballot records.

    Raises :class:`pb.audit.errors.RecordError` when a ballot is for another district, names a
    project that is not on the district's ballot, or gives an approval project anything but 1.
    Ballot *validity* (limits, credits) is not checked here: see :mod:`pb.audit.method`.
    """
    district = district_config(config, district_key)
    method = config["method"]
    kind = method["kind"]
    vote_type = VOTE_TYPE_OF_METHOD[kind]
    order = {p["id"]: n for n, p in enumerate(district["projects"])}
    made = [
        Ballot(r["receipt"], _points(r, order, vote_type == "approval", district_key))
        for r in sorted(ballots, key=lambda r: str(r["receipt"]))
    ]
    meta = {
        "description": f"{config['round']['title']}: {district['name']}",
        "instance": config["round"]["id"],
        "unit": district["name"],
        "district": district_key,
        "currency": config["round"]["currency"],
        "rule": config["rule"],
        # Add1 raises the starting share by one whole currency unit; amounts are minor units.
        "currency_unit": str(config["round"].get("currency_unit", 1)),
    }
    if kind == "knapsack":
        meta["max_sum_cost"] = str(district["budget"])
    return Election(
        budget=district["budget"],
        projects=tuple(Project(p["id"], p["cost"], p["title"]) for p in district["projects"]),
        ballots=tuple(made),
        vote_type=vote_type,
        meta=meta,
        min_length=method.get("min_choices"),
        max_length=method.get("max_choices"),
        max_points=method.get("max_per_project") if vote_type == "cumulative" else None,
        max_sum_points=method.get("points") if kind == "cumulative" else None,
        quadratic_credits=method.get("credits") if kind == "quadratic" else None,
        min_project_score_threshold=config.get("min_project_score_threshold"),
    )


def results_document(
    config: Mapping[str, Any], ballots_by_district: Mapping[str, Iterable[Mapping[str, Any]]]
) -> dict[str, Any]:
    """Tally every district of ``config`` with its rule and tie-break.

    ``ballots_by_district`` maps district key to that district's ballot records (a district with
    no entry has no ballots). Returns ``{"format": "pb-results/1", "round": <round id>, "rule",
    "tie_break": <as in the config>, "districts": {key: <Outcome.to_json_dict()> + "turnout":
    {"ballots", "online", "paper"}}}``. Raises ``RecordError`` for a district key the config does
    not have, and as :func:`district_election`.
    """
    known = {d["key"] for d in config["districts"]}
    strange = sorted(set(ballots_by_district) - known)
    if strange:
        raise RecordError(f"ballots for district(s) {', '.join(strange)} not in the config")
    tie_break = tie_break_of(config)
    districts: dict[str, Any] = {}
    for district in config["districts"]:
        key = district["key"]
        records = list(ballots_by_district.get(key, ()))
        election = district_election(config, key, records)
        outcome = tally(election, config["rule"], tie_break).to_json_dict()
        channels = [r["channel"] for r in records]
        outcome["turnout"] = {
            "ballots": len(records),
            "online": channels.count("online"),
            "paper": channels.count("paper"),
        }
        districts[key] = outcome
    return {
        "format": RESULTS_FORMAT,
        "round": config["round"]["id"],
        "rule": config["rule"],
        "tie_break": config["tie_break"],
        "districts": districts,
    }


def results_bytes(
    config: Mapping[str, Any], ballots_by_district: Mapping[str, Iterable[Mapping[str, Any]]]
) -> bytes:
    """``canonical_bytes(results_document(...)) + b"\\n"``: the bytes of ``results.json``."""
    return canonical_bytes(results_document(config, ballots_by_district)) + b"\n"
