"""Benchmark pb.tally against pabutools on a large real election (Łódź 2022 by default).

Usage (from the repository root, with pb importable, e.g. ``PYTHONPATH=.``):

    python benchmarks/tally.py [FILE.pb] [--no-pabutools]

Times our parse + greedy-threshold, plain MES and MES with Add1 completion, then pabutools' parse,
greedy and plain MES on the same file (pabutools configured to the same satisfaction, budget and
tie-break, as in tests/tally/test_tally_pabutools.py; its greedy gets the eligible projects only,
which is what greedy-threshold ranks). Prints the times, their ratios, the peak memory of our part
and whether the outcomes are identical. Skips pabutools when it is not installed.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pb.tally import Election, equal_shares, equal_shares_add1, greedy_threshold, load
from pb.tally.model import APPROVAL_LIKE
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, Candidate

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "pabulib" / "Poland_Lodz_2022.pb"
T = TypeVar("T")
REPEAT = 3  # ours is fast enough to time three times; pabutools runs once


def timed(label: str, fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Run ``fn`` ``repeat`` times; report the best time (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    note = f"(best of {repeat})" if repeat > 1 else ""
    print(f"  {label:<34} {best:8.3f} s {note}", flush=True)
    return result, best


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(path: Path) -> tuple[Election, dict[str, list[str]], dict[str, float]]:
    print(f"pb.tally on {path.name}")
    election, t_parse = timed("parse", lambda: load(path), REPEAT)
    greedy_out, t_greedy = timed("greedy-threshold", lambda: greedy_threshold(election), REPEAT)
    mes_out, t_mes = timed("equalshares (plain MES)", lambda: equal_shares(election), REPEAT)
    add1_out, t_add1 = timed("equalshares/add1", lambda: equal_shares_add1(election), REPEAT)
    print(f"  {'parse + greedy-threshold':<34} {t_parse + t_greedy:8.3f} s")
    print(f"  {'parse + MES with Add1':<34} {t_parse + t_add1:8.3f} s")
    print(
        f"  Add1: {add1_out.details['raises']} raises, per-voter budget "
        f"{add1_out.details['per_voter_budget']}; funds {len(add1_out.selected)} projects, "
        f"spends {add1_out.spent} of {add1_out.budget}"
    )
    print(f"  peak memory (max RSS so far)       {peak_mb():8.1f} MB")
    selections = {"greedy": list(greedy_out.selected), "mes": list(mes_out.selected)}
    times = {"parse": t_parse, "greedy": t_greedy, "mes": t_mes, "add1": t_add1}
    return election, selections, times


def theirs(path: Path, election: Election) -> tuple[dict[str, list[str]], dict[str, float]]:
    from pabutools.election import Additive_Cardinal_Sat, Cost_Sat, parse_pabulib
    from pabutools.election.instance import Instance
    from pabutools.fractions import frac
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
    from pabutools.tiebreaking import TieBreakingRule

    print(f"pabutools on {path.name}")
    (instance, profile), t_parse = timed("parse", lambda: parse_pabulib(str(path)))
    instance.budget_limit = frac(election.budget)
    scores = {p.id: 0 for p in election.projects}
    for ballot in election.ballots:
        for pid, points in ballot.points.items():
            scores[pid] += points

    def key(inst: Any, prof: Any, project: Any) -> Any:
        candidate = Candidate(project.name, int(project.cost), scores[project.name])
        return DEFAULT_TIE_BREAK.key(candidate)

    tie = TieBreakingRule(key)
    mes_sat = Cost_Sat if election.vote_type in APPROVAL_LIKE else Additive_Cardinal_Sat
    threshold = election.min_project_score_threshold or 0
    eligible = Instance(
        [p for p in instance if scores[p.name] >= threshold], budget_limit=instance.budget_limit
    )
    greedy_out, t_greedy = timed(
        "greedy (eligible projects)",
        lambda: greedy_utilitarian_welfare(eligible, profile, sat_class=Cost_Sat, tie_breaking=tie),
    )
    mes_out, t_mes = timed(
        "method_of_equal_shares",
        lambda: method_of_equal_shares(instance, profile, sat_class=mes_sat, tie_breaking=tie),
    )
    selections = {"greedy": [p.name for p in greedy_out], "mes": [p.name for p in mes_out]}
    return selections, {"parse": t_parse, "greedy": t_greedy, "mes": t_mes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--no-pabutools", action="store_true")
    args = parser.parse_args()
    if not args.file.exists():
        print(f"skipped: {args.file} not found", file=sys.stderr)
        return 0
    election, our_sel, our_t = ours(args.file)
    if args.no_pabutools:
        return 0
    try:
        import pabutools  # noqa: F401
    except ImportError:
        print("pabutools is not installed: comparison skipped")
        return 0
    their_sel, their_t = theirs(args.file, election)
    print("comparison (pabutools time / our time)")
    for rule, label in (("greedy", "greedy-threshold"), ("mes", "plain MES")):
        ratio = their_t[rule] / our_t[rule]
        with_parse = (their_t["parse"] + their_t[rule]) / (our_t["parse"] + our_t[rule])
        same = "yes" if our_sel[rule] == their_sel[rule] else "NO"
        print(
            f"  {label:<17} rule {ratio:7.1f}x   parse + rule {with_parse:6.1f}x   "
            f"identical outcomes (same projects, same order): {same}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
