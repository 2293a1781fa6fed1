"""Reading and writing pabulib files: real-file quirks are read, malformed files are refused
with the line and the problem."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import pytest

from pb.tally import PabulibError, dumps, loads
from pb.tally.model import Ballot, Election, Project
from pb.tally.pabulib import parse_amount

SMALL = """META
key;value
description;tiny
budget;100
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;name
1;60;One
2;50;Two
VOTES
voter_id;vote
a;1,2
b;2
"""


def test_reads_a_small_file() -> None:
    e = loads(SMALL)
    assert e.budget == 100
    assert e.rule == "greedy"
    assert [(p.id, p.cost, p.name) for p in e.projects] == [("1", 60, "One"), ("2", 50, "Two")]
    assert [(b.voter_id, dict(b.points)) for b in e.ballots] == [
        ("a", {"1": 1, "2": 1}),
        ("b", {"2": 1}),
    ]


def test_section_names_with_trailing_separators_and_spaces() -> None:
    text = SMALL.replace("PROJECTS\n", " Projects;;;\n").replace("VOTES\n", "VOTES;;\n")
    e = loads(text.replace("META\n", "META;\n"))
    assert len(e.projects) == 2
    assert len(e.ballots) == 2


def test_bom_crlf_cr_and_blank_lines() -> None:
    text = "\ufeff" + SMALL.replace("\n", "\r\n").replace("PROJECTS", "\r\nPROJECTS\r", 1)
    text = text.replace("VOTES", "\n\nVOTES")
    e = loads(text)
    assert len(e.projects) == 2
    assert len(e.ballots) == 2


@pytest.mark.parametrize(
    ("written", "budget"),
    [("1 000,50", 1000), ("1000,5", 1000), ("804828.79", 804828), ("1\u00a0000", 1000)],
)
def test_decimal_commas_and_spaces_in_the_budget(written: str, budget: int) -> None:
    assert loads(SMALL.replace("budget;100", f"budget;{written}")).budget == budget


def test_quoted_fields_extra_columns_and_trailing_separators() -> None:
    text = SMALL.replace(
        "project_id;cost;name\n1;60;One\n2;50;Two",
        "project_id;cost;name;category;selected\n"
        '1;60,0;"One; ""big"" one";parks;1\n'
        "2;4000.0;Two;;0;;",
    ).replace("voter_id;vote\na;1,2\nb;2", "voter_id;vote;age;sex\na;1,2;40;F\nb;2;;")
    e = loads(text)
    assert e.projects[0].name == 'One; "big" one'
    assert e.projects[0].cost == 60
    assert e.projects[1].cost == 4000
    assert dict(e.projects[0].extra) == {"category": "parks", "selected": "1"}
    assert dict(e.ballots[0].extra) == {"age": "40", "sex": "F"}
    assert e.vote_columns == ("age", "sex")


def test_cumulative_and_ordinal_ballots() -> None:
    cumulative = SMALL.replace("vote_type;approval", "vote_type;cumulative").replace(
        "voter_id;vote\na;1,2\nb;2", "voter_id;vote;points\na;1,2;3,2\nb;2;5.0"
    )
    assert [dict(b.points) for b in loads(cumulative).ballots] == [{"1": 3, "2": 2}, {"2": 5}]
    ordinal = SMALL.replace("vote_type;approval", "vote_type;ordinal\nmax_length;3").replace(
        "voter_id;vote\na;1,2\nb;2", "voter_id;vote\na;2,1\nb;1"
    )
    e = loads(ordinal)
    # Borda as pabulib counts it: a ballot ranking k projects gives k, k - 1, ..., 1 (not the
    # max_length of META)
    assert [list(b.points.items()) for b in e.ballots] == [[("2", 2), ("1", 1)], [("1", 1)]]
    custom = ordinal.replace("max_length;3", "scoring_fn;5,1")
    assert [dict(b.points) for b in loads(custom).ballots] == [{"2": 5, "1": 1}, {"1": 5}]


def test_quadratic_credits_are_an_extra_meta_key_of_cumulative_ballots() -> None:
    e = loads(
        SMALL.replace("vote_type;approval", "vote_type;cumulative\nquadratic_credits;100").replace(
            "voter_id;vote\na;1,2\nb;2", "voter_id;vote;points\na;1,2;6,8\nb;2;10"
        )
    )
    assert e.quadratic_credits == 100
    assert loads(dumps(e)).quadratic_credits == 100


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "problem"),
    [
        ("1;60;One", "1;abc;One", "1;abc", "project '1' has cost 'abc', expected a whole number"),
        ("1;60;One", "1;60.5;One", "1;60.5", "project '1' has cost '60.5', expected a whole"),
        ("1;60;One", "1;-5;One", "1;-5", "not negative"),
        ("1;60;One", "1;;One", "1;;One", "project '1' has no cost"),
        ("2;50;Two", "1;50;Two", "1;50;Two", "project '1' appears twice"),
        ("b;2", "b;3", "b;3", "vote of voter 'b' names unknown project '3'"),
        ("b;2", "a;2", "a;2", "voter 'a' appears twice"),
        ("b;2", "b;2;x", "b;2;x", "3 fields but the header has 2 columns"),
        ("budget;100", "budget;lots", "budget;lots", "budget is 'lots', expected a whole number"),
        ("vote_type;approval", "vote_type;secret", "vote_type", "vote_type is 'secret'"),
        ("project_id;cost;name", "project_id;price;name", "project_id;price", "no 'cost' column"),
        ("1;60;One", '1;60;"One', "1;60;", "badly quoted field"),
        ("description;tiny", "budget;7", "budget;100", "'budget' appears twice"),
    ],
)
def test_malformed_files_name_the_line_and_the_problem(
    old: str, new: str, needle: str, problem: str
) -> None:
    text = SMALL.replace(old, new, 1)
    with pytest.raises(PabulibError) as caught:
        loads(text)
    assert caught.value.line == _line_of(text, needle)
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"line {caught.value.line}: ")


def test_points_must_match_the_vote() -> None:
    text = SMALL.replace("vote_type;approval", "vote_type;cumulative").replace(
        "voter_id;vote\na;1,2\nb;2", "voter_id;vote;points\na;1,2;3\nb;2;x"
    )
    with pytest.raises(PabulibError, match="line 13: vote of voter 'a' lists 2 projects but 1"):
        loads(text)
    with pytest.raises(PabulibError, match="line 14: voter 'b' gives project '2' points 'x'"):
        loads(text.replace("a;1,2;3", "a;1,2;3,4"))


def test_missing_sections_and_text_before_them() -> None:
    with pytest.raises(PabulibError, match="no VOTES section"):
        loads(SMALL.split("VOTES")[0])
    with pytest.raises(PabulibError, match="line 1: expected a section name"):
        loads("hello\n" + SMALL)
    with pytest.raises(PabulibError, match="META has no budget"):
        loads(SMALL.replace("budget;100\n", ""))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1000", 1000),
        ("1 000,50", Fraction(2001, 2)),
        ("1,000.50", Fraction(2001, 2)),
        ("1.000,50", Fraction(2001, 2)),
        ("1,000,000", 1000000),
        ("-3", -3),
        (".5", Fraction(1, 2)),
    ],
)
def test_parse_amount(text: str, value: Fraction) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1e3", "1_000", "--1", "1,2.3,4"])
def test_parse_amount_refuses_what_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def _sample() -> Election:
    return Election(
        budget=1000,
        projects=(
            Project("1", 300, "Park; with benches", {"category": "green"}),
            Project("L10", 700, 'The "big" one'),
        ),
        ballots=(
            Ballot("r1", {"L10": 3, "1": 1}, {"age": "30"}),
            Ballot("r2", {"1": 2}, {"age": ""}),
        ),
        vote_type="cumulative",
        meta={"description": "sample", "rule": "greedy", "comment": "a;b"},
        max_sum_points=5,
    )


def _filled(extra: Mapping[str, str]) -> dict[str, str]:
    """Extra columns that hold a value (an empty field and a missing column are the same)."""
    return {k: v for k, v in extra.items() if v}


def test_dumps_round_trips_through_loads() -> None:
    e = _sample()
    again = loads(dumps(e))
    assert [(p.id, p.cost, p.name, _filled(p.extra)) for p in again.projects] == [
        (p.id, p.cost, p.name, _filled(p.extra)) for p in e.projects
    ]
    assert [(b.voter_id, list(b.points.items()), _filled(b.extra)) for b in again.ballots] == [
        (b.voter_id, list(b.points.items()), _filled(b.extra)) for b in e.ballots
    ]
    assert again.meta["comment"] == "a;b"
    assert again.max_sum_points == 5
    assert dumps(again) == dumps(e)


def test_dumps_is_readable_by_pabutools() -> None:
    pabulib = pytest.importorskip("pabutools.election.pabulib")
    instance, profile = pabulib.parse_pabulib_from_string(dumps(_sample()))
    assert instance.budget_limit == 1000
    assert sorted(p.name for p in instance) == ["1", "L10"]
    assert len(profile) == 2
    scores = {p.name: sum(b.get(p, 0) for b in profile) for p in instance}
    assert scores == {"1": 3, "L10": 3}


def test_borda_scores_each_ballot_by_its_own_length() -> None:
    # pabulib's published ordinal scores: a ballot ranking k projects gives k, k - 1, ..., 1,
    # whatever META max_length says
    text = SMALL.replace("vote_type;approval", "vote_type;ordinal\nmax_length;5").replace(
        "voter_id;vote\na;1,2\nb;2", "voter_id;vote\na;2,1\nb;1\nc;1,2"
    )
    e = loads(text)
    assert [dict(b.points) for b in e.ballots] == [{"2": 2, "1": 1}, {"1": 1}, {"1": 2, "2": 1}]
    assert loads(text.replace("max_length;5", "scoring_fn;Borda")).ballots == e.ballots


def test_scoring_ballots_may_be_negative_and_have_a_default_score() -> None:
    text = SMALL.replace(
        "vote_type;approval", "vote_type;scoring\nmin_points;-2\nmax_points;2\ndefault_score;1"
    ).replace("voter_id;vote\na;1,2\nb;2", "voter_id;vote;points\na;1,2;2,-2\nb;2;0")
    e = loads(text)
    assert (e.min_points, e.max_points, e.default_score) == (-2, 2, 1)
    # b does not list project 1: it gives it the default score
    assert [dict(b.points) for b in e.ballots] == [{"1": 2, "2": -2}, {"2": 0, "1": 1}]
    assert loads(dumps(e)).ballots == e.ballots
    with pytest.raises(PabulibError, match="not negative"):
        loads(text.replace("vote_type;scoring", "vote_type;cumulative"))


def test_selection_constraints_pb_does_not_apply_are_named_in_warnings() -> None:
    e = loads(SMALL.replace("rule;greedy", "rule;greedy\nbudget_per_category;60,40"))
    assert [str(w) for w in e.warnings] == [
        "line 7: META budget_per_category is not applied: rules fund from the whole budget"
    ]
