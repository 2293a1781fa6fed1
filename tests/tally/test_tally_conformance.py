"""Every real election whose file has a ``selected`` column is reproduced by its META rule.

``selected`` is 1 for a project the city funded and 0 otherwise; 2 or 3 mark special cases
explained in the file's comment (e.g. Katowice 2024 Bogucice: project L13/11/XI, below the score
threshold, was funded outside the rule). Those are not counted as selected by the rule.
Files whose rule is "unknown" or that have no ``selected`` column only need to parse and tally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA

from pb.tally import RULES, load, tally

FILES = sorted(DATA.glob("*.pb"))


def test_the_real_files_are_here() -> None:
    assert len(FILES) == 14


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_real_file_reproduces_the_published_selection(path: Path) -> None:
    election = load(path)
    rule = election.rule if election.rule in RULES else "greedy"
    outcome = tally(election, rule)
    assert outcome.spent <= election.budget
    if election.rule not in RULES or "selected" not in election.project_columns:
        return
    published = {p.id for p in election.projects if p.extra["selected"] == "1"}
    assert set(outcome.selected) == published


def test_lodz_2022_reproduces_the_published_selection(lodz_path: Path) -> None:
    election = load(lodz_path)
    assert len(election.ballots) == 90_494
    published = {p.id for p in election.projects if p.extra["selected"] == "1"}
    assert set(tally(election).selected) == published
