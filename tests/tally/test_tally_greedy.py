"""Greedy, greedy-no-skip and greedy-threshold on hand-made elections with known answers."""

from __future__ import annotations

import pytest
from tally_builders import election

from pb.tally.errors import RuleError
from pb.tally.greedy import greedy, greedy_no_skip, greedy_threshold
from pb.tally.rules import tally
from pb.tally.tiebreak import TieBreak


def test_greedy_skips_what_does_not_fit_and_goes_on() -> None:
    e = election(10, {"a": 6, "b": 5, "c": 4}, [["a", "b", "c"], ["a", "b"], ["a"]])
    out = greedy(e)
    assert out.selected == ("a", "c")
    assert out.spent == 10
    assert [s.kind for s in out.steps] == ["funded", "skipped", "funded"]
    assert out.steps[1].text == "b: skipped, did not fit: remaining budget 4 < cost 5"
    assert [(p.id, p.score, p.selected) for p in out.projects] == [
        ("a", 3, True),
        ("b", 2, False),
        ("c", 1, True),
    ]


def test_no_skip_stops_at_the_first_project_that_does_not_fit() -> None:
    e = election(10, {"a": 6, "b": 5, "c": 4}, [["a", "b", "c"], ["a", "b"], ["a"]])
    out = greedy_no_skip(e)
    assert out.selected == ("a",)
    assert [s.kind for s in out.steps] == ["funded", "stopped", "not-considered"]
    assert "stopped (no-skip)" in out.steps[1].text


def test_equal_scores_go_to_the_cheaper_project_and_the_tie_is_reported() -> None:
    e = election(5, {"x": 5, "y": 3}, [["x", "y"], ["x", "y"]])
    out = greedy(e)
    assert out.selected == ("y",)
    (tie,) = out.ties
    assert tie.projects == ("y", "x")
    assert tie.winner == "y"
    assert tie.decided_by == "lower-cost"
    assert tie.on == "score 2"


def test_ids_are_compared_in_natural_order() -> None:
    # as strings "10" < "9"; in natural order 9 < 10, so 9 is funded
    e = election(5, {"10": 5, "9": 5}, [["10", "9"]])
    out = greedy(e)
    assert out.selected == ("9",)
    assert out.ties[0].decided_by == "natural-id"
    assert out.ties[0].projects == ("9", "10")


def test_the_tie_break_is_explicit_and_recorded() -> None:
    e = election(5, {"x": 5, "y": 3}, [["x", "y"]])
    out = greedy(e, TieBreak(("higher-cost",)))
    assert out.selected == ("x",)
    assert out.tie_break == ("higher-cost", "natural-id")
    assert out.to_json_dict()["tie_break"] == ["higher-cost", "natural-id"]


def test_threshold_makes_low_scores_ineligible_even_when_they_fit() -> None:
    e = election(
        100,
        {"a": 10, "b": 10, "c": 10},
        [["a", "b", "c"], ["a", "b"], ["a"]],
        min_project_score_threshold=2,
    )
    out = greedy_threshold(e)
    assert out.selected == ("a", "b")
    assert out.steps[2].kind == "ineligible"
    assert out.steps[2].text == "c: not eligible, score 1 below threshold 2"
    assert greedy_threshold(e, threshold=3).selected == ("a",)
    # the threshold is the election's: every greedy variant applies it, unless told not to
    assert greedy(e).selected == greedy_no_skip(e).selected == ("a", "b")
    assert tally(e, "greedy", ignore_threshold=True).selected == ("a", "b", "c")
    assert tally(e, "greedy-threshold", ignore_threshold=True).selected == ("a", "b", "c")


def test_ties_below_the_threshold_are_not_reported() -> None:
    e = election(100, {"a": 10, "b": 10, "c": 10}, [["a"], ["a"], ["b", "c"]])
    assert greedy_threshold(e, threshold=2).ties == ()
    assert len(greedy(e).ties) == 1


def test_threshold_rule_needs_a_threshold() -> None:
    e = election(100, {"a": 10}, [["a"]])
    with pytest.raises(RuleError, match="min_project_score_threshold"):
        greedy_threshold(e)


def test_cumulative_score_is_the_sum_of_points() -> None:
    e = election(
        10,
        {"a": 10, "b": 10},
        [{"a": 1, "b": 5}, {"a": 2}, {"a": 1}],
        vote_type="cumulative",
    )
    out = greedy(e)
    assert out.selected == ("b",)
    assert {p.id: (p.score, p.supporters) for p in out.projects} == {"a": (4, 3), "b": (5, 1)}


def test_ordinal_score_is_positional() -> None:
    # points hold the positional scores (3, 2, 1), as the reader computes them
    e = election(
        10,
        {"a": 10, "b": 10, "c": 10},
        [{"a": 3, "b": 2, "c": 1}, {"c": 3, "b": 2, "a": 1}, {"b": 3, "a": 2, "c": 1}],
        vote_type="ordinal",
    )
    assert greedy(e).selected == ("b",)  # b: 7, a: 6, c: 5


def test_tally_picks_the_rule_by_name_and_refuses_unknown_ones() -> None:
    e = election(10, {"a": 6, "b": 5}, [["a"], ["b"], ["a"]])
    assert tally(e, "greedy").selected == ("a",)
    with pytest.raises(RuleError, match="unknown rule 'nope'"):
        tally(e, "nope")
    with pytest.raises(RuleError, match="no rule"):
        tally(e)
