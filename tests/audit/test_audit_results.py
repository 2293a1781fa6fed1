"""Canonical results and the pabulib election of a district."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from audit_builders import Round, make_round

from pb.audit.errors import RecordError
from pb.audit.results import (
    ballots_by_district,
    district_election,
    results_bytes,
    results_document,
)
from pb.tally import dumps, loads, natural_key, tally


def test_district_election_follows_the_config(any_round: Round) -> None:
    config = any_round.config
    grouped = ballots_by_district(any_round.records)
    kind = config["method"]["kind"]
    for district in config["districts"]:
        election = district_election(config, district["key"], grouped.get(district["key"], []))
        assert election.budget == district["budget"]
        assert [(p.id, p.cost, p.name) for p in election.projects] == [
            (p["id"], p["cost"], p["title"]) for p in district["projects"]
        ]
        mine = grouped.get(district["key"], [])
        assert [b.voter_id for b in election.ballots] == sorted(r["receipt"] for r in mine)
        assert {b.voter_id: dict(b.points) for b in election.ballots} == {
            r["receipt"]: r["choices"] for r in mine
        }
        assert election.meta["currency"] == "EUR"
        assert election.vote_type == (
            "approval" if kind in ("approval", "knapsack") else "cumulative"
        )
        assert election.quadratic_credits == (100 if kind == "quadratic" else None)
        assert election.max_sum_points == (10 if kind == "cumulative" else None)
        again = loads(dumps(election))  # the export reads back as the same election
        assert again.budget == election.budget
        assert [dict(b.points) for b in again.ballots] == [dict(b.points) for b in election.ballots]
        assert again.quadratic_credits == election.quadratic_credits


def test_district_election_refuses_foreign_or_unknown_ballots() -> None:
    round_ = make_round(seed=4)
    grouped = ballots_by_district(round_.records)
    with pytest.raises(RecordError, match="is for district 'north', not 'citywide'"):
        district_election(round_.config, "citywide", grouped["north"])
    bad = dict(copy.deepcopy(grouped["north"][0]))
    bad["choices"] = {"999": 1}
    with pytest.raises(RecordError, match="names project '999'"):
        district_election(round_.config, "north", [bad])
    bad["choices"] = {round_.config["districts"][1]["projects"][0]["id"]: 2}
    with pytest.raises(RecordError, match="more than 1 in an approval vote"):
        district_election(round_.config, "north", [bad])
    with pytest.raises(RecordError, match="not in the config"):
        results_document(round_.config, {"east": []})


def test_results_document_shape(any_round: Round) -> None:
    config = any_round.config
    grouped = ballots_by_district(any_round.records)
    document = results_document(config, grouped)
    assert document["format"] == "pb-results/1"
    assert document["round"] == "7"
    assert document["rule"] == config["rule"]
    assert document["tie_break"] == config["tie_break"]
    assert list(document["districts"]) == [d["key"] for d in config["districts"]]
    for key, result in document["districts"].items():
        mine = grouped.get(key, [])
        assert result["turnout"] == {
            "ballots": len(mine),
            "online": sum(r["channel"] == "online" for r in mine),
            "paper": sum(r["channel"] == "paper" for r in mine),
        }
        outcome = tally(district_election(config, key, mine), config["rule"])
        assert result["selected"] == list(outcome.selected)
        assert result["spent"] <= result["budget"]
    data = results_bytes(config, grouped)
    assert data.endswith(b"}\n")
    assert json.loads(data) == document


def test_results_do_not_depend_on_ballot_order(any_round: Round) -> None:
    grouped = ballots_by_district(any_round.records)
    shuffled = {}
    rng = random.Random(3)
    for key in reversed(list(grouped)):
        records = [dict(reversed(list(r.items()))) for r in grouped[key]]
        rng.shuffle(records)
        shuffled[key] = records
    config = json.loads(json.dumps(any_round.config, sort_keys=True))
    assert results_bytes(config, shuffled) == results_bytes(any_round.config, grouped)


def test_a_district_without_ballots_is_tallied() -> None:
    round_ = make_round(seed=4, n_ballots=0)
    document = results_document(round_.config, {})
    for result in document["districts"].values():
        assert result["turnout"] == {"ballots": 0, "online": 0, "paper": 0}
        assert all(p["score"] == 0 for p in result["projects"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_pabutools_reads_every_export_and_its_greedy_agrees(seed: int) -> None:
    pabulib = pytest.importorskip("pabutools.election.pabulib")
    election_mod = pytest.importorskip("pabutools.election")
    rules = pytest.importorskip("pabutools.rules")
    tiebreaking = pytest.importorskip("pabutools.tiebreaking")
    ours_first = tiebreaking.TieBreakingRule(
        lambda inst, prof, proj: (proj.cost, natural_key(proj.name))
    )
    round_ = make_round(seed=seed, kind="approval", rule="greedy")
    grouped = ballots_by_district(round_.records)
    document = results_document(round_.config, grouped)
    for district in round_.config["districts"]:
        mine = grouped.get(district["key"], [])
        text = dumps(district_election(round_.config, district["key"], mine))
        instance, profile = pabulib.parse_pabulib_from_string(text)
        assert instance.budget_limit == district["budget"]
        assert len(profile) == len(mine)
        assert instance.meta["currency"] == "EUR"
        funded = rules.greedy_utilitarian_welfare(
            instance, profile, sat_class=election_mod.Cost_Sat, tie_breaking=ours_first
        )
        assert sorted(p.name for p in funded) == sorted(
            document["districts"][district["key"]]["selected"]
        )


def test_differences_are_named_by_district_and_field() -> None:
    from pb.audit.results_diff import describe_difference

    published: dict[str, Any] = {
        "rule": "greedy",
        "districts": {
            "north": {"selected": ["1", "2"], "spent": 10, "steps": [{"text": "a"}] * 6},
            "south": {"selected": ["3"], "spent": 5},
        },
    }
    recomputed = copy.deepcopy(published)
    recomputed["rule"] = "equalshares"
    recomputed["districts"]["north"]["selected"] = ["1"]
    recomputed["districts"]["north"]["steps"] = [{"text": "b"}] * 6
    assert describe_difference(published, published) == []
    assert describe_difference(published, recomputed) == [
        "field 'rule': published 'greedy', re-tally 'equalshares'",
        "district 'north': selected, steps differ",
        "district 'north', field 'selected': published ['1', '2'], re-tally ['1']",
        "district 'north', field 'steps[0].text': published 'a', re-tally 'b'",
        "district 'north', field 'steps[1].text': published 'a', re-tally 'b'",
        "district 'north', field 'steps[2].text': published 'a', re-tally 'b'",
        "district 'north': 3 more difference(s)",
    ]
