"""'How the winners were chosen' adds up: for real rule and ballot pairs, every sentence's own
figures (as displayed) are checked against each other and against the text, in English and
French, and no sentence says "1 supporters" or "raised 0 times"."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from pb.i18n import format_money, format_number, reset_locale, set_locale
from pb.tally import pabulib
from pb.tally.model import Ballot, Election, Project
from pb.tally.rules import tally
from pb.web.explain import Sentence, explain

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
RULES = (
    "greedy",
    "equalshares",
    "equalshares/add1",
    "equalshares/add1-comparison",
    "equalshares-comparison",
)
HALF = Fraction(1, 2)  # a displayed amount is rounded to the nearest minor unit


@pytest.fixture(params=["en", "fr"])
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    token = set_locale(request.param)
    yield request.param
    reset_locale(token)


def _election(method: str, seed: int, voters: int, projects: int) -> Election:
    """A random election in minor units (``currency_unit`` 100, as pb writes them)."""
    rng = random.Random(seed)
    costs = {
        str(n + 1): rng.randrange(5, 60) * 1000 + rng.choice((0, 50, 99)) for n in range(projects)
    }
    budget = sum(costs.values()) * 2 // 5
    ballots = []
    for v in range(voters):
        chosen = rng.sample(sorted(costs), rng.randint(1, min(3, projects)))
        if method in ("approval", "knapsack"):
            points = dict.fromkeys(chosen, 1)
        elif method == "quadratic":  # 100 credits: votes whose squares add up to at most 100
            left, points = 100, {}
            for pid in chosen:
                votes = rng.randint(1, int(left**0.5)) if left else 0
                if votes:
                    points[pid] = votes
                    left -= votes * votes
        else:  # cumulative: 10 points, at most 5 per project
            left, points = 10, {}
            for pid in chosen:
                given = rng.randint(1, min(5, left)) if left else 0
                if given:
                    points[pid] = given
                    left -= given
        ballots.append(Ballot(f"v{v}", points))
    return Election(
        budget=budget,
        projects=tuple(Project(pid, cost, f"p{pid}") for pid, cost in costs.items()),
        ballots=tuple(ballots),
        vote_type="approval" if method in ("approval", "knapsack") else "cumulative",
        meta={"description": "generated", "currency_unit": "100"},
    )


def _sentences(election: Election, rule: str, method: str) -> tuple[list[Sentence], Any]:
    document = tally(election, rule).to_json_dict()
    document["turnout"] = {"ballots": len(election.ballots)}
    titles = {p.id: f"Project {p.id}" for p in election.projects}
    return explain(document, titles, "EUR", method), document


def _check(sentences: list[Sentence], document: dict[str, Any], method: str) -> None:
    scores = {p["id"]: p["score"] for p in document["projects"]}
    assert sentences, "no explanation at all"
    voters_money: Fraction | None = None
    greedy_left = Fraction(document["budget"])
    greedy_won = document["details"].get("comparison_winner") == "greedy"
    funded_costs: list[Fraction] = []
    kinds = [s.kind for s in sentences]
    for s in sentences:
        f = s.figures
        _figures_are_in_the_text(s)
        assert not re.search(r"\b1 (supporters|votes|points|voters|raises|times)\b", s.text), s
        assert not re.search(r"\b0 (times|raises)\b", s.text), s
        if s.kind == "start":
            assert abs(f["voters"] * f["share"] - f["budget"]) <= f["voters"] * HALF, s
            assert f["budget"] == document["budget"]
            voters_money = Fraction(document["budget"])
        elif s.kind == "add1":
            assert kinds.index("start") < kinds.index("add1") < len(kinds) - 1
            if "raises" in f:
                assert f["whole"] + f["raises"] * f["unit"] == f["share"], s
                assert f["whole"] <= f["first"], s
                assert f["raises"] >= 1
                assert f["held"] == f["share"] * document["turnout"]["ballots"] > document["budget"]
            voters_money = f["share"] * document["turnout"]["ballots"]
        elif s.kind == "bought":
            assert voters_money is not None, "a purchase before the starting share"
            assert "add1" not in kinds[kinds.index(s.kind) :], "completion told after purchases"
            paid_each = f["price"] if method in ("quadratic", "cumulative") else f["payment"]
            capped = f.get("capped_paid", Fraction(0))
            slack = f["paying"] * HALF + HALF
            assert abs(f["paying"] * paid_each + capped - f["cost"]) <= slack, s
            if method in ("quadratic", "cumulative"):
                project = next(p for p, c in scores.items() if f"Project {p} " in s.text)
                assert f["units"] == scores[project], s  # every vote or point pays
                assert f["units"] >= f["paying"]
            else:
                assert f.get("supporters", f["paying"]) == f["paying"] + f.get("capped", 0), s
            voters_money -= f["cost"]
            assert abs(voters_money - f["money_left"]) <= 1, s
            if not greedy_won:
                funded_costs.append(f["cost"])
        elif s.kind == "unaffordable":
            assert f["money"] < f["cost"], s
        elif s.kind == "funded":
            assert greedy_left - f["cost"] == f["left"], s
            greedy_left = f["left"]
            funded_costs.append(f["cost"])
        elif s.kind in ("skipped", "stopped"):
            assert f["cost"] > f["left"] == greedy_left, s
        elif s.kind == "ineligible" and "threshold" in f:
            assert f["score"] < f["threshold"], s
        elif s.kind == "comparison":
            keep = f["prefer_greedy"] <= f["prefer_mes"]
            assert keep != greedy_won, s
        elif s.kind == "total":
            assert f["spent"] + f["left"] == f["budget"] == document["budget"], s
            assert f["spent"] == sum(funded_costs) == document["spent"], s
    assert kinds[-1] == "total"


def _figures_are_in_the_text(s: Sentence) -> None:
    for key, value in s.figures.items():
        money = format_money(int(value), "EUR")
        count = format_number(int(value))
        if value in (0, 1) and money not in s.text:
            continue  # said in words: "its only supporter", "no voter"
        assert money in s.text or count in s.text, (key, value, s.text)


@pytest.mark.parametrize("method", ["approval", "knapsack", "quadratic", "cumulative"])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("seed", "voters", "projects"), [(1, 1, 2), (2, 3, 3), (3, 40, 7)])
def test_every_sentence_adds_up(
    locale: str, method: str, rule: str, seed: int, voters: int, projects: int
) -> None:
    election = _election(method, seed, voters, projects)
    sentences, document = _sentences(election, rule, method)
    _check(sentences, document, method)


@pytest.mark.parametrize("rule", RULES)
def test_a_real_pabulib_election_adds_up(locale: str, rule: str) -> None:
    election = pabulib.load(DATA / "Poland_Gdynia_2024_Srodmiescie__small.pb")
    sentences, document = _sentences(election, rule, "approval")
    _check(sentences, document, "approval")


def test_points_pay_per_point_not_per_supporter(locale: str) -> None:
    # Two voters with 40.00 each: one gives project 1 three points, the other one point; the
    # 4 points pay 40.00 at 10.00 each (a voter pays 30.00, not half).
    election = Election(
        budget=8000,
        projects=(Project("1", 4000, "p1"),),
        ballots=(Ballot("a", {"1": 3}), Ballot("b", {"1": 1})),
        vote_type="cumulative",
        meta={"currency_unit": "100"},
    )
    sentences, _document = _sentences(election, "equalshares", "cumulative")
    bought = next(s for s in sentences if s.kind == "bought")
    assert bought.figures["units"] == 4
    assert bought.figures["price"] == 1000
    assert format_money(1000, "EUR") in bought.text


def test_add1_is_told_after_the_starting_share_and_before_the_purchases(locale: str) -> None:
    election = _election("approval", 3, 40, 7)
    sentences, document = _sentences(election, "equalshares/add1", "approval")
    kinds = [s.kind for s in sentences]
    assert document["details"]["raises"] > 0
    assert kinds.index("start") < kinds.index("add1") < kinds.index("bought")
