"""Method of Equal Shares on small elections worked out by hand."""

from __future__ import annotations

from tally_builders import election

from pb.tally.mes import equal_shares, equal_shares_add1, equal_shares_add1_comparison


def test_cheapest_price_per_unit_first_then_out_of_money() -> None:
    # 3 voters x 10. c: 3 each (rho 1/3) beats a: 10 each (rho 1/2) and b (v2 has 10 < 12).
    # After c everyone has 7: a's supporters have 14 < 20, b's 7 < 12.
    e = election(30, {"a": 20, "b": 12, "c": 9}, [["a", "c"], ["a", "c"], ["b", "c"]])
    out = equal_shares(e)
    assert out.selected == ("c",)
    assert out.spent == 9
    bought = [s for s in out.steps if s.kind == "bought"]
    assert len(bought) == 1
    assert bought[0].data["rho"] == {"exact": "1/3", "decimal": "0.333333"}
    assert bought[0].data["payment"] == {"exact": "3", "decimal": "3.00"}
    assert "c: bought for 9; each of its 3 supporters pays 3.00" in bought[0].text
    unaffordable = {s.project: s.data["money"] for s in out.steps if s.kind == "unaffordable"}
    assert unaffordable == {
        "a": {"exact": "14", "decimal": "14.00"},
        "b": {"exact": "7", "decimal": "7.00"},
    }


def test_capped_supporter_pays_what_is_left_and_the_others_share_the_rest() -> None:
    # 4 voters x 10. y (6, all four): 3/2 each, rho 1/4. z (21; v0, v2, v3): 7 each, rho 1/3.
    # x (9; v0, v1): v0 has 3/2 left and pays it all, v1 pays 15/2 -> rho 5/6.
    e = election(
        40,
        {"x": 9, "y": 6, "z": 21},
        [["x", "y", "z"], ["x", "y"], ["y", "z"], ["y", "z"]],
    )
    out = equal_shares(e)
    assert out.selected == ("y", "z", "x")
    x = next(s for s in out.steps if s.project == "x")
    assert x.data["rho"] == {"exact": "5/6", "decimal": "0.833333"}
    assert x.data["payment"] == {"exact": "15/2", "decimal": "7.50"}
    assert x.data["capped"] == 1
    assert x.data["money_left"] == {"exact": "4", "decimal": "4.00"}


def test_cardinal_ballots_pay_per_point() -> None:
    # 2 voters x 5. a (4): v0 gives 3 points -> rho 4/3. b (6): 1 + 2 points -> rho 2.
    # After a, v0 has 1 and pays it all for b; v1 pays 5 for its 2 points -> rho 5/2.
    e = election(10, {"a": 4, "b": 6}, [{"a": 3, "b": 1}, {"b": 2}], vote_type="cumulative")
    out = equal_shares(e)
    assert out.selected == ("a", "b")
    rhos = [s.data["rho"] for s in out.steps if s.kind == "bought"]
    assert rhos == [
        {"exact": "4/3", "decimal": "1.333333"},
        {"exact": "5/2", "decimal": "2.500000"},
    ]


def test_equal_prices_are_a_tie_broken_in_natural_id_order() -> None:
    # both cost 10 and are approved by both voters (5 each): rho 1/2 for both.
    e = election(10, {"10": 10, "9": 10}, [["10", "9"], ["10", "9"]])
    out = equal_shares(e)
    assert out.selected == ("9",)
    (tie,) = out.ties
    assert tie.projects == ("9", "10")
    assert tie.decided_by == "natural-id"
    assert tie.on == "rho 1/2"
    assert tie.context == "MES purchase 1"


def test_voters_without_choices_still_get_a_share() -> None:
    # 4 ballots, 2 empty: 5 each; a's two supporters have 10 < 12.
    e = election(20, {"a": 12}, [["a"], ["a"], [], []])
    assert equal_shares(e).selected == ()


def test_add1_raises_the_share_until_the_next_raise_would_overspend() -> None:
    # plain MES: 3 voters x 10/3; nothing is affordable for a (cost 8, 2 supporters) until
    # each has 4; b (cost 3, v2) is bought at once.
    e = election(10, {"a": 8, "b": 3}, [["a"], ["a"], ["b"]])
    assert equal_shares(e).selected == ("b",)
    out = equal_shares_add1(e)
    # share 4: a and b cost 11 > 10, so the last share that fits is 3 (b only)
    assert out.selected == ("b",)
    assert out.details["raises"] == 0
    assert out.details["add1_stopped"] == "a starting share of 4 would spend 11 > budget 10"


def test_add1_keeps_raising_past_an_outcome_that_fits() -> None:
    e = election(20, {"a": 8, "b": 3, "c": 6}, [["a"], ["a", "c"], ["b", "c"], ["c"]])
    # 5 each: c (2 each for three: rho 1/3), a (4 each for two: rho 1/2), b (3 for v2: rho 1)
    plain = equal_shares(e)
    assert plain.selected == ("c", "a", "b")
    out = equal_shares_add1(e)
    assert out.selected == plain.selected
    assert out.details["add1_stopped"] == "every supported project is funded"


def test_add1_goes_on_past_the_first_exhaustive_outcome() -> None:
    # 7 voters, budget 14.
    # share 2: b (5; three supporters, 5/3 each, rho 1/3) is bought; c needs 12 but its five
    #   supporters have 10, a and d need 11 but theirs have 8: outcome {b}, 9 left and every
    #   other project costs 11 or more, so {b} is exhaustive (where pabutools' Add1 stops).
    # share 3: c's five supporters pay 12/5 each (rho 1/5 < 1/3): c first; then b's three
    #   supporters have 3/5 each, d's have 3/5 + 3/5 + 3 + 3 < 11: outcome {c}, 12 <= 14.
    # share 4: c, then d (11) is affordable: 23 > 14, so the result is the share-3 outcome.
    e = election(
        14,
        {"a": 11, "b": 5, "c": 12, "d": 11},
        [["b", "c"]] * 3 + [["c", "d"]] * 2 + [["a", "d"]] * 2,
    )
    assert equal_shares(e).selected == ("b",)
    out = equal_shares_add1(e)
    assert out.selected == ("c",)
    assert out.details["raises"] == 1
    assert out.details["per_voter_budget"] == {"exact": "3", "decimal": "3.00"}
    assert out.details["add1_stopped"] == "a starting share of 4 would spend 23 > budget 14"


def test_comparison_keeps_greedy_when_strictly_more_voters_prefer_it() -> None:
    # MES (1 each): only 0 (cost 2, three supporters). Greedy: 1 (score 4, cost 5).
    # Voter preferences: v1, v2 prefer greedy; v4 prefers MES; v0, v3 are indifferent.
    e = election(
        5,
        {"0": 2, "1": 5, "2": 2},
        [["0", "1"], ["1", "2"], ["1"], ["0", "1"], ["0"]],
    )
    assert equal_shares_add1(e).selected == ("0",)
    out = equal_shares_add1_comparison(e)
    assert out.selected == ("1",)
    assert out.details["prefer_mes"] == 1
    assert out.details["prefer_greedy"] == 2
    assert out.details["comparison_winner"] == "greedy"
    assert any(s.kind == "comparison" for s in out.steps)


def test_comparison_keeps_mes_on_a_draw() -> None:
    # 4 voters x 9/4: b (3/2 each for v0, v2: rho 1/2), then a (2 for v3: rho 1); c's
    # supporters have 27/4 < 8. Share 3 buys c, b and spends 11 > 9: Add1 keeps {b, a}.
    # Greedy funds c (score 3, cost 8). v0 prefers MES, v1 greedy, v2 and v3 get one project
    # either way: a draw, so MES is kept.
    e = election(9, {"a": 2, "b": 3, "c": 8}, [["b"], ["c"], ["b", "c"], ["a", "c"]])
    out = equal_shares_add1_comparison(e)
    assert out.selected == ("b", "a")
    assert (out.details["prefer_mes"], out.details["prefer_greedy"]) == (1, 1)
    assert out.details["comparison_winner"] == "equalshares"


def test_add1_raises_by_one_whole_currency_unit_when_money_is_in_cents() -> None:
    """pb exports amounts in minor units with META currency_unit; Add1 must then raise the
    share by 100 cents, giving the outcome of the same election counted in whole units."""
    import dataclasses
    from pathlib import Path

    from pb.tally import Project, equal_shares_add1, load

    whole = load(Path(__file__).parents[1] / "data" / "pabulib" / "Netherlands_Assen_2024.pb")
    cents = dataclasses.replace(
        whole,
        budget=whole.budget * 100,
        projects=tuple(Project(p.id, p.cost * 100, p.name) for p in whole.projects),
        meta={**whole.meta, "currency_unit": "100"},
    )
    expected = equal_shares_add1(whole)
    got = equal_shares_add1(cents)
    assert got.selected == expected.selected
    assert got.spent == expected.spent * 100
