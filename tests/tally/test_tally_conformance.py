"""Every real election whose file has a ``selected`` column is reproduced by its META rule.

``selected`` is 1 for a project the city funded and 0 otherwise; 2 or 3 mark special cases
explained in the file's comment (e.g. Katowice 2024 Bogucice: project L13/11/XI, below the score
threshold, was funded outside the rule). Those are not counted as selected by the rule.
Files whose rule is "unknown" or that have no ``selected`` column only need to parse and tally,
under every rule.

The files are the copies in tests/data/pabulib (always) and the fifteen samples of
../shared/pabulib, Łódź 2022 among them (when that folder is there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tally_paths import DATA, SHARED

from pb.tally import RULES, Election, Outcome, load, tally
from pb.tally.scores import supporter_counts

FILES = sorted(DATA.glob("*.pb"))
SAMPLES = sorted(SHARED.glob("*.pb")) if SHARED.is_dir() else []
SMALL_SAMPLES = [p for p in SAMPLES if p.stat().st_size < 1_000_000]

# What the fifteen samples hold (README of ../shared/pabulib): the rule in META of each file whose
# `selected` column the rule reproduces, and the files that only need to tally.
REPRODUCED = {
    "Netherlands_Assen_2024": "equalshares/add1",
    "Poland_Swiecie_2023": "equalshares/add1",
    "Poland_Warszawa_2019_Grochow_Poludniowy": "greedy",
    "Poland_Gdynia_2024_Srodmiescie__small": "greedy-no-skip",
    "Poland_Warszawa_2018_Chomiczowka": "greedy-threshold",
    "Poland_Lodz_2022": "greedy-threshold",
    "Poland_Wroclaw_2017_Rejon_nr_2_250": "greedy-no-skip",
    "Poland_Czestochowa_2024_Bleszno": "greedy",
    "Poland_Katowice_2024_Bogucice": "greedy-threshold",
    "Poland_Krakow_2025_Stare_Miasto": "greedy",
}
TALLY_ONLY = {
    "France_Toulouse_2019",
    "France_Toulouse_2022",
    "Netherlands_Amsterdam_166",
    "US_Stanford_Dataset_PB_Greensboro_District_5_2019_vote_knapsacks",
    "Switzerland_Zurich_D5",
}


def published(election: Election) -> set[str]:
    return {p.id for p in election.projects if p.extra["selected"] == "1"}


def check_eligibility(election: Election, outcome: Outcome) -> None:
    assert outcome.spent <= election.budget
    threshold = election.min_project_score_threshold or 0
    score = {p.id: p.score for p in outcome.projects}
    assert all(score[pid] >= threshold for pid in outcome.selected), outcome.rule


def test_the_real_files_are_here() -> None:
    assert len(FILES) == 14
    assert {p.stem for p in FILES} == (set(REPRODUCED) | TALLY_ONLY) - {"Poland_Lodz_2022"}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_real_file_reproduces_the_published_selection(path: Path) -> None:
    election = load(path)
    rule = election.rule if election.rule in RULES else "greedy"
    outcome = tally(election, rule)
    check_eligibility(election, outcome)
    if election.rule not in RULES or "selected" not in election.project_columns:
        assert path.stem in TALLY_ONLY
        return
    assert REPRODUCED[path.stem] == election.rule
    assert set(outcome.selected) == published(election)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_rule_runs_on_every_real_file(path: Path) -> None:
    # Add1 reruns MES once per unit raised (1,618 times on Toulouse 2022): only where META
    # asks for it; the other rules on every file
    election = load(path)
    for rule in RULES:
        if rule == "greedy-threshold" and election.min_project_score_threshold is None:
            continue
        if "add1" in rule and "add1" not in (election.rule or ""):
            continue
        check_eligibility(election, tally(election, rule))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_recount_gives_the_published_votes_and_scores(path: Path) -> None:
    # `votes` counts the ballots naming a project, `score` the points they give it (positional
    # for ordinal ballots: k, k - 1, ..., 1 on a ballot ranking k projects)
    election = load(path)
    outcome = tally(election, "greedy", ignore_threshold=True)
    supporters = supporter_counts(election)
    for p, result in zip(election.projects, outcome.projects, strict=True):
        if p.extra.get("score"):
            assert int(p.extra["score"]) == result.score, p.id
        if p.extra.get("votes"):
            assert int(p.extra["votes"]) == supporters[p.id], p.id


@pytest.mark.skipif(not SAMPLES, reason=f"the samples are not at {SHARED}")
def test_the_fifteen_samples_are_reproduced_or_tally() -> None:
    assert {p.stem for p in SAMPLES} == set(REPRODUCED) | TALLY_ONLY
    reproduced = []
    for path in SMALL_SAMPLES:
        election = load(path)
        outcome = tally(election, election.rule if election.rule in RULES else "greedy")
        check_eligibility(election, outcome)
        if path.stem in REPRODUCED:
            assert set(outcome.selected) == published(election), path.stem
            reproduced.append(path.stem)
    assert len(reproduced) == len(REPRODUCED) - 1  # Łódź: the next test


def test_lodz_2022_reproduces_the_published_selection(lodz_path: Path) -> None:
    election = load(lodz_path)
    assert len(election.ballots) == 90_494
    assert election.rule == "greedy-threshold"
    assert election.min_project_score_threshold == 100
    assert set(tally(election).selected) == published(election)
    # the threshold is the election's: greedy and plain MES leave out what is below it too
    for rule in ("greedy", "equalshares"):
        check_eligibility(election, tally(election, rule))
