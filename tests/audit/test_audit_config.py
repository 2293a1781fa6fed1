"""The locked-config contract and ballot validity under each method."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from audit_builders import make_config

from pb.audit.config import check_config, district_config
from pb.audit.errors import ConfigError
from pb.audit.method import ballot_problems


def _config(kind: str = "approval", rule: str | None = None) -> dict[str, Any]:
    return make_config(random.Random(1), kind, rule)


@pytest.mark.parametrize("kind", ["approval", "knapsack", "quadratic", "cumulative"])
def test_builder_configs_follow_the_contract(kind: str) -> None:
    check_config(_config(kind))


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("round", "id"), 7, "config.round.id is 7, expected a string"),
        (("method", "kind"), "ranked", "config.method.kind is 'ranked'"),
        (("method", "max_choices"), -1, "config.method.max_choices is -1"),
        (("rule",), "borda", "config.rule is 'borda'"),
        (("tie_break",), "random", "unknown tie-break criterion 'random'"),
        (("districts", 0, "budget"), 10.5, "float"),
        (("districts", 0, "budget"), True, "budget is True"),
        (("districts", 0, "key"), "North Side", "expected a slug"),
        (("districts", 1, "key"), "citywide", "repeats a key"),
        (("districts", 0, "projects", 0, "id"), "1;2", "expected no spaces"),
        (("districts", 0, "projects", 1, "id"), "1", "'1' appears twice"),
        (("districts", 0, "projects", 0, "cost"), "100", "cost is '100'"),
        (("districts",), [], "config.districts is empty"),
    ],
)
def test_contract_breaks_are_named(path: tuple[Any, ...], value: Any, problem: str) -> None:
    config = _config()
    target = config
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check_config(config)


def test_missing_keys_and_method_requirements_are_named() -> None:
    config = _config()
    del config["method"]["credits"]
    with pytest.raises(ConfigError, match="write null when there is none"):
        check_config(config)
    with pytest.raises(ConfigError, match="credits is required for quadratic"):
        check_config(dict(_config(), method=dict(_config()["method"], kind="quadratic")))
    with pytest.raises(ConfigError, match="threshold is required"):
        check_config(dict(_config(), rule="greedy-threshold"))
    with pytest.raises(ConfigError, match="no district 'east'"):
        district_config(_config(), "east")


def _district(config: dict[str, Any]) -> dict[str, Any]:
    district: dict[str, Any] = copy.deepcopy(config["districts"][0])
    district["budget"] = 1000
    district["projects"] = [
        {"id": "1", "title": "a", "cost": 600},
        {"id": "2", "title": "b", "cost": 400},
        {"id": "3", "title": "c", "cost": 300},
    ]
    return district


def test_approval_and_knapsack_validity() -> None:
    approval = _config("approval")  # 1 to 4 choices
    district = _district(approval)
    assert ballot_problems(approval, district, {"1": 1, "2": 1, "3": 1}) == []
    assert ballot_problems(approval, district, {}) == [
        "chooses 0 project(s), fewer than the minimum 1"
    ]
    assert ballot_problems(approval, district, {"1": 2}) == [
        "gives project '1' 2; an approval ballot gives 1"
    ]
    assert ballot_problems(approval, district, {"9": 1}) == [
        f"names project(s) '9' not on the ballot of district {district['key']!r}"
    ]
    knapsack = _config("knapsack")
    assert ballot_problems(knapsack, district, {"1": 1, "2": 1}) == []
    assert ballot_problems(knapsack, district, {"1": 1, "2": 1, "3": 1}) == [
        "chooses projects costing 1300, more than the budget 1000"
    ]


def test_quadratic_and_cumulative_validity() -> None:
    quadratic = _config("quadratic")  # 100 credits
    district = _district(quadratic)
    assert ballot_problems(quadratic, district, {"1": 6, "2": 8}) == []
    assert ballot_problems(quadratic, district, {"1": 6, "2": 9}) == [
        "spends 117 voice credits, more than the 100 allowed"
    ]
    cumulative = _config("cumulative")  # 10 points, at most 5 per project
    assert ballot_problems(cumulative, district, {"1": 5, "2": 5}) == []
    assert ballot_problems(cumulative, district, {"1": 5, "2": 5, "3": 1}) == [
        "gives 11 points, more than the 10 allowed"
    ]
    assert ballot_problems(cumulative, district, {"1": 6}) == [
        "gives project '1' 6, more than the maximum 5 per project"
    ]
