"""Votes that name a project twice: counted once, as pabutools reads them, with a warning.

Real files have them (19 Warsaw files of 2022 and 2026 in the public library). The two small
files in tests/data/pabulib-duplicates hold such votes in an approval and a cumulative election.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tally_paths import DUPLICATES

from pb.tally import PabulibError, load, loads, tally
from pb.tally.cli import SHOWN_WARNINGS, main
from pb.tally.scores import project_scores

APPROVAL = DUPLICATES / "approval_duplicate_vote.pb"
CUMULATIVE = DUPLICATES / "cumulative_duplicate_vote.pb"

pabulib = pytest.importorskip("pabutools.election.pabulib")


def pabutools_ballots(text: str) -> list[dict[str, Any]]:
    """The ballots as pabutools reads them: project -> points (1 for approval, None for
    ordinal), in pabutools' order."""
    _, profile = pabulib.parse_pabulib_from_string(text)
    return [
        {p.name: (ballot[p] if isinstance(ballot, Mapping) else 1) for p in ballot}
        for ballot in profile
    ]


def test_an_approval_vote_naming_a_project_twice_approves_it_once() -> None:
    election = load(APPROVAL)
    assert [dict(b.points) for b in election.ballots] == [
        {"1": 1, "2": 1},
        {"2": 1, "1": 1},
        {"2": 1, "3": 1},
        {"1": 1, "3": 1},
        {"2": 1},
        {"4": 1},
    ]
    assert [str(w) for w in election.warnings] == [
        "line 21: vote of voter 'v2' names project '2' more than once; counted once",
        "line 23: vote of voter 'v4' names project '3' more than once; counted once",
    ]
    assert project_scores(election) == {"1": 3, "2": 4, "3": 2, "4": 1}
    # the file's own `votes` column counts each voter once too
    assert {p.id: int(p.extra["votes"]) for p in election.projects} == project_scores(election)
    assert tally(election).selected == ("2", "3", "4")


def test_a_cumulative_vote_naming_a_project_twice_keeps_its_last_points() -> None:
    election = load(CUMULATIVE)
    # v2 gives project 2 first 1 then 4 points: 4 (pabutools assigns each mention in turn)
    assert [dict(b.points) for b in election.ballots] == [
        {"1": 3, "2": 2},
        {"2": 4, "1": 1},
        {"3": 1, "1": 2},
        {"1": 5},
    ]
    assert [w.line for w in election.warnings] == [21, 22]
    assert "counted once, with the points of its last mention" in election.warnings[0].problem
    assert project_scores(election) == {"1": 11, "2": 6, "3": 1}


@pytest.mark.parametrize("path", [APPROVAL, CUMULATIVE], ids=["approval", "cumulative"])
def test_duplicates_are_read_as_pabutools_reads_them(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = [dict(b.points) for b in loads(text).ballots]
    assert ours == pabutools_ballots(text)
    if path == CUMULATIVE:  # pabutools keeps approval ballots as sets, cumulative ones in order
        assert [list(b) for b in ours] == [list(b) for b in pabutools_ballots(text)]


def test_an_ordinal_vote_keeps_a_repeated_project_at_its_first_position() -> None:
    text = APPROVAL.read_text(encoding="utf-8").replace("vote_type;approval", "vote_type;ordinal")
    election = loads(text)
    # v2 ranks 2, 1, 2: two distinct projects, Borda by ballot length gives 2 then 1
    assert list(election.ballots[1].points.items()) == [("2", 2), ("1", 1)]
    # v4 ranks 1, 3, 3, 3
    assert list(election.ballots[3].points.items()) == [("1", 2), ("3", 1)]
    assert [list(b.points) for b in election.ballots] == [list(b) for b in pabutools_ballots(text)]
    assert [w.line for w in election.warnings] == [21, 23]


@pytest.mark.parametrize("path", [APPROVAL, CUMULATIVE], ids=["approval", "cumulative"])
def test_strict_refuses_a_repeated_project(path: Path) -> None:
    with pytest.raises(PabulibError) as caught:
        load(path, strict=True)
    assert str(caught.value) == "line 21: vote of voter 'v2' names a project twice"


def test_warnings_are_not_part_of_the_election_value() -> None:
    clean = APPROVAL.read_text(encoding="utf-8").replace("v2;2,1,2", "v2;2,1")
    clean = clean.replace("v4;1,3,3,3", "v4;1,3")
    assert loads(clean) == load(APPROVAL)
    assert loads(clean).warnings == ()


def test_pb_tally_warns_on_stderr_naming_file_and_line_and_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([str(APPROVAL), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert '"selected":["2","3","4"]' in captured.out
    assert captured.err.splitlines() == [
        f"pb tally: {APPROVAL}: line 21: warning: vote of voter 'v2' names project '2' more "
        "than once; counted once",
        f"pb tally: {APPROVAL}: line 23: warning: vote of voter 'v4' names project '3' more "
        "than once; counted once",
    ]


def test_pb_tally_strict_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(CUMULATIVE), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"pb tally: {CUMULATIVE}: line 21: vote of voter 'v2' names a project twice\n"
    )


def test_many_warnings_are_summed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = APPROVAL.read_text(encoding="utf-8")
    extra = "".join(f"w{n};1,1\n" for n in range(SHOWN_WARNINGS + 5))
    many = tmp_path / "many.pb"
    many.write_text(text + extra, encoding="utf-8")
    assert main([str(many), "--rule", "greedy"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == SHOWN_WARNINGS + 1
    assert err[-1] == (
        f"pb tally: {many}: warning: {2 + SHOWN_WARNINGS + 5 - SHOWN_WARNINGS} more like these "
        "(--strict stops at the first)"
    )
