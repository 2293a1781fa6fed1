"""Quadratic voting helpers and quadratic funding."""

from __future__ import annotations

import math

import pytest
from funding_reference import raw_match
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.tally.errors import BallotError, RuleError
from pb.tally.funding import quadratic_funding
from pb.tally.quadratic import quadratic_cost, quadratic_scores
from pb.tally.quadratic import validate_quadratic_ballot as validate
from pb.tally.radicals import RadicalSum, square_free_split


def test_a_quadratic_ballot_may_spend_up_to_its_credits() -> None:
    validate({"a": 6, "b": 8}, 100)  # 36 + 64 = 100
    assert quadratic_cost({"a": 6, "b": 8}) == 100
    with pytest.raises(BallotError, match="cost 101 voice credits, more than the 100"):
        validate({"a": 10, "b": 1}, 100)


@pytest.mark.parametrize(
    ("votes", "problem"),
    [
        ({"a": -1}, "cannot be negative"),
        ({"a": 1.5}, "must be a whole number"),
        ({"a": True}, "must be a whole number"),
        ({"z": 1}, "'z' is not on the ballot"),
    ],
)
def test_invalid_quadratic_ballots(votes: dict[str, int], problem: str) -> None:
    with pytest.raises(BallotError, match=problem):
        validate(votes, 100, projects={"a", "b"})


def test_quadratic_score_is_the_sum_of_votes() -> None:
    assert quadratic_scores([{"a": 3, "b": 1}, {"a": 2}]) == {"a": 5, "b": 1}


def test_raw_match_sums_each_residents_pledges_first() -> None:
    two = [("r1", "x", 100), ("r2", "x", 100)]
    assert quadratic_funding(two, 10_000, {"x": 10_000}) == {"x": 200}  # (10 + 10)^2 - 200
    split = [("r1", "x", 50), ("r1", "x", 50), ("r2", "x", 100)]
    assert quadratic_funding(split, 10_000, {"x": 10_000}) == {"x": 200}
    alone = [("r1", "y", 500)]
    assert quadratic_funding(alone, 10_000, {"y": 10_000}) == {"y": 0}


def test_matches_are_scaled_down_to_the_pool() -> None:
    pledges = [("a", "x", 100), ("b", "x", 100), ("c", "y", 1), ("d", "y", 1)]
    # raw: x 200, y 2; pool 101 = half of 202
    assert quadratic_funding(pledges, 101, {"x": 10**6, "y": 10**6}) == {"x": 100, "y": 1}


def test_capped_excess_is_shared_among_the_others_in_proportion() -> None:
    pledges = [
        *[(r, "x", 100) for r in ("a", "b")],  # raw 200
        *[(r, "y", 100) for r in ("c", "d")],  # raw 200
        *[(r, "z", 50) for r in ("e", "f")],  # raw 100
    ]
    # scaled by 250/500: x would get 100 > 30, so x is capped at 30; y and z share 220 in the
    # ratio 2:1 -> 146.67 and 73.33, rounded down; 1 stays in the pool
    assert quadratic_funding(pledges, 250, {"x": 30, "y": 10**6, "z": 10**6}) == {
        "x": 30,
        "y": 146,
        "z": 73,
    }


def test_sharing_never_goes_beyond_the_raw_match() -> None:
    pledges = [("a", "x", 100), ("b", "x", 100), ("c", "y", 1), ("d", "y", 1)]
    assert quadratic_funding(pledges, 101, {"x": 50, "y": 10**6}) == {"x": 50, "y": 2}


def test_irrational_matches_are_floored_exactly() -> None:
    # raw 2*sqrt(6) = 4.898..., floored to 4
    assert quadratic_funding([("a", "x", 2), ("b", "x", 3)], 100, {"x": 100}) == {"x": 4}
    # scaled to a pool of 3: 3 * raw / raw is exactly 3, though raw is irrational
    assert quadratic_funding([("a", "x", 2), ("b", "x", 3)], 3, {"x": 100}) == {"x": 3}
    # raw 2*sqrt(6) and 2*sqrt(35), pool 10: 10 * sqrt(6) / (sqrt(6) + sqrt(35)) = 2.93 and 7.07
    pledges = [("a", "x", 2), ("b", "x", 3), ("c", "y", 5), ("d", "y", 7)]
    assert quadratic_funding(pledges, 10, {"x": 100, "y": 100}) == {"x": 2, "y": 7}


def test_bad_pledges_are_refused() -> None:
    with pytest.raises(RuleError, match="negative"):
        quadratic_funding([("a", "x", -1)], 10, {"x": 10})
    with pytest.raises(RuleError, match="no remaining need"):
        quadratic_funding([("a", "x", 1)], 10, {})


def test_square_free_split() -> None:
    for n in [1, 2, 4, 8, 12, 72, 1000, 999_999_937, 2 * 1_000_003**2, 10**12]:
        s, m = square_free_split(n)
        assert s * s * m == n
        assert all(m % (p * p) for p in range(2, math.isqrt(m) + 1)), n


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_radical_floor_matches_integer_square_roots(values: list[int]) -> None:
    # sum sqrt(v) lies in [lo, lo + len(values)] / 10**30, from isqrt at that scale
    scale = 10**30
    lo = sum(math.isqrt(v * scale * scale) for v in values)
    exact = RadicalSum.sqrt_sum(values).floor()
    assert lo // scale <= exact <= (lo + len(values)) // scale
    if all(math.isqrt(v) ** 2 == v for v in values):
        assert exact == sum(math.isqrt(v) for v in values)


pledge_lists = st.lists(
    st.tuples(st.sampled_from("abcdef"), st.sampled_from("xyz"), st.integers(0, 10_000)),
    max_size=14,
)


@given(
    pledge_lists,
    st.integers(0, 50_000),
    st.dictionaries(st.sampled_from("xyz"), st.integers(0, 40_000), min_size=3, max_size=3),
)
@settings(max_examples=80, deadline=None)
def test_funding_respects_pool_and_needs_and_ignores_order(
    pledges: list[tuple[str, str, int]], pool: int, need: dict[str, int]
) -> None:
    matches = quadratic_funding(pledges, pool, need)
    assert sum(matches.values()) <= pool
    for project, match in matches.items():
        assert 0 <= match <= need[project]
        raw = raw_match(
            [sum(a for r2, p, a in pledges if r2 == r and p == project) for r in "abcdef"]
        )
        assert match <= raw.floor()
    assert quadratic_funding(pledges[::-1], pool, need) == matches
    assert quadratic_funding(pledges[1:] + pledges[:1], pool, need) == matches
