"""Eligibility is the election's: META ``min_project_score_threshold`` and the pabulib sentinel
cost 999999999 hold under every rule, greedy variants and the Method of Equal Shares alike
(``--ignore-threshold`` lifts the threshold for a what-if tally)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tally_builders import election
from tally_paths import DATA

from pb.tally import RULES, Election, RuleError, load, tally
from pb.tally.cli import main
from pb.tally.model import SENTINEL_COST

CHOMICZOWKA = DATA / "Poland_Warszawa_2018_Chomiczowka.pb"
KATOWICE = DATA / "Poland_Katowice_2024_Bogucice.pb"
ALL_BUT_ADD1 = [r for r in RULES if "add1" not in r]

# a and b are popular; c is cheap and has one supporter, who can pay for it alone under MES
SMALL = election(
    100,
    {"a": 50, "b": 40, "c": 10},
    [["a", "b"], ["a", "b"], ["a"], ["c"]],
    min_project_score_threshold=2,
)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_project_below_the_threshold_is_funded_by_no_rule(rule: str) -> None:
    out = tally(SMALL, rule)
    assert "c" not in out.selected
    ineligible = [s for s in out.steps if s.kind == "ineligible"]
    assert [s.text for s in ineligible] == ["c: not eligible, score 1 below threshold 2"]
    assert ineligible[0].data["threshold"] == 2
    if rule != "greedy-threshold":
        assert "c" in tally(SMALL, rule, ignore_threshold=True).selected


def test_mes_and_add1_leave_out_an_ineligible_project() -> None:
    # with 25 each, c's only supporter could pay for it alone
    assert tally(SMALL, "equalshares").selected == ("a",)
    assert tally(SMALL, "equalshares", ignore_threshold=True).selected == ("a", "c")
    # Add1 stops once every *eligible* supported project is funded
    out = tally(SMALL, "equalshares/add1")
    assert set(out.selected) == {"a", "b"}
    assert out.details["add1_stopped"] == "every supported project is funded"
    assert set(tally(SMALL, "equalshares/add1", ignore_threshold=True).selected) == {"a", "b", "c"}


def with_threshold(e: Election, threshold: int | None) -> Election:
    return dataclasses.replace(e, min_project_score_threshold=threshold)


@pytest.mark.parametrize("path", [CHOMICZOWKA, KATOWICE], ids=["approval", "cumulative"])
def test_a_real_file_threshold_binds_every_rule(path: Path) -> None:
    real = load(path)
    assert real.min_project_score_threshold is not None
    free = with_threshold(real, None)
    # a threshold just above the lowest score plain MES funds without one
    mes = tally(free, "equalshares")
    score = {p.id: p.score for p in mes.projects}
    threshold = min(score[pid] for pid in mes.selected) + 1
    raised = with_threshold(real, threshold)
    for rule in ALL_BUT_ADD1:
        out = tally(raised, rule)
        assert all(score[pid] >= threshold for pid in out.selected), rule
        assert (
            tally(raised, rule, ignore_threshold=True).to_json_dict()
            == tally(free, rule if rule != "greedy-threshold" else "greedy").to_json_dict()
        )
    lowest = {pid for pid in mes.selected if score[pid] == threshold - 1}
    assert lowest and not lowest & set(tally(raised, "equalshares").selected)


def test_the_published_threshold_holds_for_mes_on_real_files() -> None:
    for path in (CHOMICZOWKA, KATOWICE):
        e = load(path)
        threshold = e.min_project_score_threshold
        assert threshold is not None
        for rule in ("equalshares", "equalshares-comparison"):  # Add1: the hand-made test
            out = tally(e, rule)
            score = {p.id: p.score for p in out.projects}
            assert all(score[pid] >= threshold for pid in out.selected), (path.name, rule)


def test_the_sentinel_cost_never_stops_greedy_no_skip() -> None:
    e = election(
        100,
        {"a": 60, "gone": SENTINEL_COST, "b": 40},
        [["a", "gone", "b"], ["a", "gone"], ["gone"]],
    )
    out = tally(e, "greedy-no-skip")
    assert out.selected == ("a", "b")
    assert out.steps[0].kind == "ineligible"  # the most approved project
    assert out.steps[0].text == (
        "gone: not eligible, cost 999999999 marks a project that could not be carried out"
    )
    mes = tally(e, "equalshares")
    assert mes.selected == ("a",)
    assert [s.kind for s in mes.steps][:2] == ["ineligible", "start"]
    # in pb's own exports amounts are minor units (META currency_unit): 999999999 is a cost
    pb_export = dataclasses.replace(e, meta={"currency_unit": "100"})
    assert tally(pb_export, "greedy-no-skip").selected == ()


def test_equalshares_comparison_compares_plain_mes_with_greedy() -> None:
    # plain MES funds x only; greedy the big popular project; 2 voters prefer greedy's outcome,
    # 1 MES's (v2 approves both): greedy's is chosen
    e = election(
        90,
        {"big": 90, "x": 30, "y": 30},
        [["big"], ["big"], ["big", "x"], ["x"], ["y"]],
    )
    assert tally(e, "equalshares").selected == ("x",)
    assert tally(e, "greedy").selected == ("big",)
    out = tally(e, "equalshares-comparison")
    assert out.rule == "equalshares-comparison"
    assert out.selected == ("big",)
    assert out.details == {
        "prefer_mes": 1,
        "prefer_greedy": 2,
        "indifferent": 2,
        "comparison_winner": "greedy",
    }


@pytest.mark.parametrize("rule", ["greedy-custom", "greedy-exclusive"])
def test_pabulib_rules_without_a_procedure_are_refused_clearly(rule: str) -> None:
    e = dataclasses.replace(SMALL, meta={"rule": rule})
    with pytest.raises(RuleError, match="described in the file's comment"):
        tally(e)
    assert tally(e, "greedy").selected == ("a", "b")


def test_pb_tally_ignore_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(KATOWICE), "--format", "json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert main([str(KATOWICE), "--format", "json", "--ignore-threshold"]) == 0
    ignored = json.loads(capsys.readouterr().out)
    assert applied["rule"] == "greedy-threshold"
    assert ignored["rule"] == "greedy"
    assert any(s["kind"] == "ineligible" for s in applied["steps"])
    assert not any(s["kind"] == "ineligible" for s in ignored["steps"])
