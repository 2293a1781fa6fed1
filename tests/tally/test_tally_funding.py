"""Matching for funding calls: exact fast quadratic funding (checked against the former
exact implementation), capped 1:1 matching, the locked rule, and the live estimate."""

from __future__ import annotations

import math
import random
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from funding_reference import raw_match, reference_quadratic_funding
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.tally import (
    MatchingRule,
    ProjectAggregate,
    RuleError,
    capped_matching,
    compute_matches,
    marginal_estimate,
    quadratic_funding,
)
from pb.tally.funding import raw_estimate
from pb.tally.radicals import RadicalSum
from pb.tally.raw_match import RawMatch, RawTotal, floor_share, sign

Pledges = list[tuple[str, str, int]]

# Small amounts with many perfect squares and shared square-free parts (2, 8, 18, 50), so that
# raw matches are often whole numbers and ties between projects are frequent.
amounts = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 8, 9, 12, 16, 18, 25, 50]), st.integers(0, 60))
pledge_lists = st.lists(
    st.tuples(st.sampled_from("abcdefg"), st.sampled_from("wxyz"), amounts), max_size=12
)
needs = st.fixed_dictionaries(
    {
        p: st.one_of(st.sampled_from([0, 5, 20, 50, 100, 10**6]), st.integers(-5, 250))
        for p in "wxyz"
    }
)
pools = st.one_of(st.sampled_from([0, 1, 10, 50, 100, 200, 1000]), st.integers(-5, 500))


def mirrored(pledges: Pledges) -> Pledges:
    """The pledges plus the same pledges to project w instead of x: two projects tie exactly."""
    return pledges + [(r, "w", a) for r, p, a in pledges if p == "x"]


@given(pledge_lists, pools, needs, st.booleans())
@settings(max_examples=400, deadline=None)
def test_quadratic_funding_equals_the_reference(
    pledges: Pledges, pool: int, need: dict[str, int], mirror: bool
) -> None:
    if mirror:
        pledges = mirrored(pledges)
    expected = reference_quadratic_funding(pledges, pool, need)
    assert quadratic_funding(pledges, pool, need) == expected


def test_random_cases_equal_the_reference() -> None:
    rng = random.Random(12)
    for _ in range(300):
        pledges = [
            (f"r{rng.randrange(30)}", rng.choice("xyz"), rng.randint(1, 5_000))
            for _ in range(rng.randint(2, 40))
        ]
        pledges = mirrored(pledges) if rng.random() < 0.3 else pledges
        pool = rng.randint(0, 40_000)
        need = {p: rng.randint(0, 20_000) for p in "wxyz"}
        assert quadratic_funding(pledges, pool, need) == reference_quadratic_funding(
            pledges, pool, need
        )


def test_exact_ties_between_irrational_matches() -> None:
    # x and w both have raw 2 * sqrt(200 * 300) = 489.89...: the pool of 500 gives each exactly
    # 250, which is exactly x's need (not above it: x is not capped), and 250 is not floored to 249
    pledges = mirrored([("a", "x", 200), ("b", "x", 300)])
    assert quadratic_funding(pledges, 500, {"x": 250, "w": 10**6}) == {"x": 250, "w": 250}
    # 250.5 is over x's need: x is capped at 250 and w gets the other 251
    assert quadratic_funding(pledges, 501, {"x": 250, "w": 10**6}) == {"x": 250, "w": 251}
    assert quadratic_funding(pledges, 499, {"x": 10**6, "w": 10**6}) == {"x": 249, "w": 249}


def test_an_exact_tie_between_two_large_identical_projects_is_decided_at_once() -> None:
    rng = random.Random(5)
    amounts = [rng.randint(100, 50_000) for _ in range(3_000)]  # ~3,000 distinct amounts
    pledges = [(f"r{i}", "x", a) for i, a in enumerate(amounts)]
    pledges += [(f"s{i}", "w", a) for i, a in enumerate(amounts)]
    # each gets exactly half of the pool, exactly its need: not over it, and not floored below
    need = {"x": 500_000, "w": 10**9}
    assert quadratic_funding(pledges, 1_000_000, need) == {"x": 500_000, "w": 500_000}
    assert quadratic_funding(pledges, 1_000_001, need) == {"x": 500_000, "w": 500_001}


def test_whole_raw_matches_are_exact() -> None:
    squares = [("a", "x", 100), ("b", "x", 400), ("c", "x", 900)]  # (10 + 20 + 30)^2 - 1400
    assert quadratic_funding(squares, 10**6, {"x": 10**6}) == {"x": 2200}
    assert quadratic_funding(squares, 2200, {"x": 2200}) == {"x": 2200}  # pool and need exact
    assert quadratic_funding(squares, 2199, {"x": 10**6}) == {"x": 2199}
    shared_part = [("a", "y", 2), ("b", "y", 8), ("c", "y", 18)]  # (6 sqrt 2)^2 - 28 = 44
    assert RawMatch([2, 8, 18]).exact == 44
    assert quadratic_funding(shared_part, 10**6, {"y": 10**6}) == {"y": 44}
    assert RawMatch([2, 3]).exact is None


def test_a_large_project_is_exact_and_fast() -> None:
    rng = random.Random(7)
    contributions = [rng.randint(100, 50_000) for _ in range(20_000)]
    pledges = [(f"r{i}", "x", c) for i, c in enumerate(contributions)]
    pledges += [("s1", "y", 1_000), ("s2", "y", 2_000)]
    need = {"x": 10**15, "y": 10**15}
    pool = 10**12
    matches = quadratic_funding(pledges, pool, need)
    with localcontext() as ctx:  # an independent computation at 120 digits
        ctx.prec = 120
        raw_x = sum(Decimal(c).sqrt() for c in contributions) ** 2 - sum(contributions)
        raw_y = (Decimal(1_000).sqrt() + Decimal(2_000).sqrt()) ** 2 - 3_000
        factor = min(1, pool / (raw_x + raw_y))
    assert raw_x + raw_y > pool  # the pool is short: both are scaled
    assert matches == {"x": math.floor(raw_x * factor), "y": math.floor(raw_y * factor)}


def test_signs_and_floors_of_combinations() -> None:
    x, y = RawMatch([2, 3]), RawMatch([2, 3])
    both = RawTotal([x, y])
    assert sign([(1, x), (-1, y)]) == 0  # equal, decided by the exact expansion
    assert sign([(2, x), (-1, both)]) == 0
    assert sign([(1, x)], -4) == 1 and sign([(1, x)], -5) == -1  # 2 sqrt 6 = 4.899
    assert floor_share(x, 7, both) == 3  # 7 / 2
    assert floor_share(x, 8, both) == 4
    z = RawMatch([5, 7])
    assert sign([(1, z), (-1, x)]) == 1
    assert floor_share(x, 10, RawTotal([x, z])) == 2  # 10 sqrt 6 / (sqrt 6 + sqrt 35) = 2.93


def test_many_projects_capped_in_several_rounds_equal_the_reference() -> None:
    rng = random.Random(21)
    for _ in range(5):
        pledges = [
            (
                f"r{rng.randrange(200)}",
                f"p{p}",
                rng.choice([1, 2, 3, 4, 9, 10, 25, rng.randint(1, 99)]),
            )
            for p in range(40)
            for _ in range(rng.randint(1, 6))
        ]
        need = {
            f"p{p}": rng.choice([0, rng.randint(0, 40), rng.randint(0, 400)]) for p in range(40)
        }
        pool = rng.randint(0, 3_000)
        assert quadratic_funding(pledges, pool, need) == reference_quadratic_funding(
            pledges, pool, need
        )


combination = st.lists(
    st.tuples(
        st.integers(-6, 6), st.lists(st.sampled_from([1, 2, 3, 4, 5, 8, 12, 18]), max_size=4)
    ),
    min_size=1,
    max_size=4,
)


@given(combination, st.integers(-60, 60))
@settings(max_examples=300, deadline=None)
def test_sign_equals_the_exact_expansion(terms: list[tuple[int, list[int]]], const: int) -> None:
    raws = [(a, RawMatch(amounts)) for a, amounts in terms]
    exact = RadicalSum.integer(const)
    for a, amounts in terms:
        exact = exact + raw_match(amounts) * a
    assert sign(raws, const) == exact.sign()
    leaves = [raw for _, raw in raws]
    total = RawTotal(leaves)
    if any(r.backers > 1 for r in leaves):  # the total is positive
        share = floor_share(leaves[0], abs(const), total)
        assert share == raw_match(terms[0][1]).floor_ratio(
            abs(const), sum((raw_match(a) for _, a in terms), RadicalSum())
        )


@given(pledge_lists, pools, needs, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_quadratic_properties(
    pledges: Pledges, pool: int, need: dict[str, int], rng: random.Random
) -> None:
    matches = quadratic_funding(pledges, pool, need)
    assert sum(matches.values()) <= max(pool, 0)
    for project, match in matches.items():
        assert 0 <= match <= max(need[project], 0)
        by_resident: dict[str, int] = {}
        for resident, p, amount in pledges:
            if p == project:
                by_resident[resident] = by_resident.get(resident, 0) + amount
        assert match <= raw_match(by_resident.values()).floor()
    shuffled = list(pledges)
    rng.shuffle(shuffled)
    assert quadratic_funding(shuffled, pool, need) == matches


@given(pledge_lists, pools, needs, st.sampled_from("wxyz"), st.integers(1, 60))
@settings(max_examples=200, deadline=None)
def test_a_new_backer_never_lowers_a_projects_match(
    pledges: Pledges, pool: int, need: dict[str, int], project: str, amount: int
) -> None:
    before = [a for _, p, a in pledges if p == project]
    assert raw_match([*before, amount]).floor() >= raw_match(before).floor()
    grown = [*pledges, ("newcomer", project, amount)]
    assert quadratic_funding(grown, pool, need)[project] >= quadratic_funding(
        pledges, pool, need
    ).get(project, 0)


def test_bad_pledges_are_refused() -> None:
    for rule in (MatchingRule("quadratic"), MatchingRule("capped")):
        with pytest.raises(RuleError, match="negative"):
            compute_matches(rule, [("a", "x", -1)], 10, {"x": 10})
        with pytest.raises(RuleError, match="no remaining need"):
            compute_matches(rule, [("a", "x", 1)], 10, {})
        with pytest.raises(RuleError, match="not a whole number"):
            compute_matches(rule, [("a", "x", 1.5)], 10, {"x": 10})  # type: ignore[list-item]


# Capped 1:1


def test_capped_matching_applies_each_cap() -> None:
    pledges = [("a", "x", 100), ("a", "y", 300), ("b", "x", 50), ("c", "z", 80)]
    need = {"x": 10**6, "y": 10**6, "z": 10**6}
    plain = {"per_pledge_cap": None, "per_resident_cap": None, "per_project_cap": None}
    assert capped_matching(pledges, 10**6, need, **plain) == {"x": 150, "y": 300, "z": 80}
    # a's 100 and 300 become 100 and 200 (per pledge), then 83 and 166 (250 per resident)
    caps = {**plain, "per_pledge_cap": 200, "per_resident_cap": 250}
    assert capped_matching(pledges, 10**6, need, **caps) == {"x": 133, "y": 166, "z": 80}
    caps = {**plain, "per_project_cap": 120}
    assert capped_matching(pledges, 10**6, need, **caps) == {"x": 120, "y": 120, "z": 80}
    assert capped_matching(pledges, 10**6, {**need, "y": 7}, **plain)["y"] == 7


def test_capped_matching_scales_down_to_a_short_pool() -> None:
    pledges = [("a", "x", 100), ("b", "y", 200), ("c", "z", 1)]
    plain = {"per_pledge_cap": None, "per_resident_cap": None, "per_project_cap": None}
    need = {"x": 10**6, "y": 10**6, "z": 10**6}
    # 301 wanted, 150 in the pool: 100 * 150 / 301 = 49.8, 99.6, 0.5
    assert capped_matching(pledges, 150, need, **plain) == {"x": 49, "y": 99, "z": 0}
    assert capped_matching(pledges, 301, need, **plain) == {"x": 100, "y": 200, "z": 1}
    assert capped_matching(pledges, 0, need, **plain) == {"x": 0, "y": 0, "z": 0}


def test_split_pledges_earn_no_more() -> None:
    caps = {"per_pledge_cap": 50, "per_resident_cap": None, "per_project_cap": None}
    one = capped_matching([("a", "x", 100)], 10**6, {"x": 10**6}, **caps)
    two = capped_matching([("a", "x", 50), ("a", "x", 50)], 10**6, {"x": 10**6}, **caps)
    assert one == two == {"x": 50}


def capped_by_definition(
    pledges: Pledges, pool: int, need: dict[str, int], caps: tuple[int | None, ...]
) -> dict[str, int]:
    """The capped 1:1 rule written out independently, pledge by pledge, with fractions."""
    per_pledge, per_resident, per_project = caps
    summed: dict[tuple[str, str], int] = {}
    for resident, project, amount in pledges:
        summed[resident, project] = summed.get((resident, project), 0) + amount
    residents = {r for r, _ in summed}
    result = {p: 0 for _, p, _ in pledges}
    for resident in residents:
        mine = {
            p: a if per_pledge is None else min(a, per_pledge)
            for (r, p), a in summed.items()
            if r == resident and a > 0
        }
        total = sum(mine.values())
        for project, e in mine.items():
            if per_resident is not None and total > per_resident:
                e = math.floor(Fraction(e * per_resident, total))
            result[project] += e
    for project in result:
        limits = [result[project], max(need[project], 0)]
        limits += [per_project] if per_project is not None else []
        result[project] = min(limits)
    wanted = sum(result.values())
    if wanted > max(pool, 0):
        result = {p: m * max(pool, 0) // wanted for p, m in result.items()}
    return result


caps_strategy = st.tuples(*[st.one_of(st.none(), st.integers(0, 80)) for _ in range(3)])


@given(pledge_lists, pools, needs, caps_strategy, st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None)
def test_capped_matching_properties(
    pledges: Pledges,
    pool: int,
    need: dict[str, int],
    caps: tuple[int | None, int | None, int | None],
    rng: random.Random,
) -> None:
    names = dict(zip(("per_pledge_cap", "per_resident_cap", "per_project_cap"), caps, strict=True))
    matches = capped_matching(pledges, pool, need, **names)
    assert matches == capped_by_definition(pledges, pool, need, caps)
    assert sum(matches.values()) <= max(pool, 0)
    for project, match in matches.items():
        assert 0 <= match <= max(need[project], 0)
        assert match <= sum(a for _, p, a in pledges if p == project)
        if caps[2] is not None:
            assert match <= caps[2]
    shuffled = list(pledges)
    rng.shuffle(shuffled)
    assert capped_matching(shuffled, pool, need, **names) == matches
    rule = MatchingRule("capped", *caps)
    assert compute_matches(rule, pledges, pool, need) == matches


# The locked rule


def test_matching_rule_round_trips_through_json() -> None:
    rule = MatchingRule("capped", per_pledge_cap=5_000, per_resident_cap=None, per_project_cap=0)
    data = rule.to_json_dict()
    assert data == {
        "kind": "capped",
        "per_pledge_cap": 5_000,
        "per_resident_cap": None,
        "per_project_cap": 0,
    }
    assert MatchingRule.from_json_dict(data) == rule
    assert MatchingRule.from_json_dict({"kind": "quadratic"}) == MatchingRule("quadratic")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"kind": "lottery"}, "'lottery' is not one of quadratic, capped"),
        ({}, "None is not one of"),
        ({"kind": "capped", "per_pledge_cap": -1}, "per_pledge_cap is -1"),
        ({"kind": "capped", "per_project_cap": True}, "per_project_cap is True"),
        ({"kind": "capped", "per_resident_cap": "10"}, "per_resident_cap is '10'"),
        ({"kind": "quadratic", "per_project_cap": 10}, "the quadratic rule takes no caps"),
        ({"kind": "capped", "cap": 10}, "unknown matching rule field"),
        (["quadratic"], "a matching rule is an object"),
    ],
)
def test_bad_matching_rules_are_refused(data: object, problem: str) -> None:
    with pytest.raises(RuleError, match=problem):
        MatchingRule.from_json_dict(data)  # type: ignore[arg-type]


# The live estimate


def aggregate_of(contributions: list[int]) -> ProjectAggregate:
    return ProjectAggregate(
        len(contributions), sum(contributions), sum(math.sqrt(c) for c in contributions)
    )


@pytest.mark.parametrize("pool", [10**9, 300_000])
def test_the_quadratic_estimate_follows_the_exact_match(pool: int) -> None:
    rng = random.Random(3)
    project = [rng.randint(500, 20_000) for _ in range(400)]
    other = [rng.randint(500, 20_000) for _ in range(300)]
    pledges = [(f"p{i}", "x", c) for i, c in enumerate(project)]
    pledges += [(f"o{i}", "y", c) for i, c in enumerate(other)]
    need = {"x": 10**12, "y": 10**12}
    rule = MatchingRule("quadratic")
    aggregate = aggregate_of(project)
    total_raw = raw_estimate(rule, aggregate) + raw_estimate(rule, aggregate_of(other))
    before = quadratic_funding(pledges, pool, need)["x"]
    for resident, current, add in [("new", 0, 1_000), ("p0", project[0], 5_000)]:
        after = quadratic_funding([*pledges, (resident, "x", add)], pool, need)["x"]
        estimate = marginal_estimate(rule, aggregate, current, add, pool, total_raw)
        assert abs(estimate - (after - before)) <= 2
        assert estimate > 0


def test_the_capped_estimate_respects_the_caps_and_the_need() -> None:
    rule = MatchingRule(
        "capped", per_pledge_cap=2_000, per_resident_cap=4_000, per_project_cap=None
    )
    aggregate = ProjectAggregate(backers=3, total=3_000, sum_sqrt=0.0)
    assert marginal_estimate(rule, aggregate, 0, 1_000, 10**6, 3_000.0) == 1_000
    assert marginal_estimate(rule, aggregate, 0, 2_500, 10**6, 3_000.0) == 2_000  # per pledge
    # the resident already pledges 3,500 in the call: 500 of the 4,000 per resident are left
    assert marginal_estimate(rule, aggregate, 3_500, 1_000, 10**6, 3_000.0) == 500
    # after the pledge the project needs 3,500 more: its match rises from 3,000 to 3,500 only
    assert marginal_estimate(rule, aggregate, 0, 1_000, 10**6, 3_000.0, remaining_need=4_500) == 500
    # the pool is short: the call wants 6,000 then 7,000 of matches from 2,000, so this project's
    # share goes from 3,000 * 2/6 = 1,000 to 4,000 * 2/7 = 1,142.9
    assert marginal_estimate(rule, aggregate, 0, 1_000, 2_000, 6_000.0) == 142
    assert marginal_estimate(rule, aggregate, 0, 0, 10**6, 3_000.0) == 0
