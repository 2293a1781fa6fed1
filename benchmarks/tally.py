"""Benchmark pb.tally against pabutools on a large real election (Łódź 2022 by default).

Usage (from the repository root, in the project's virtualenv):

    python benchmarks/tally.py [FILE.pb] [--no-pabutools]       in-process: parse and rules
    python benchmarks/tally.py [FILE.pb] --whole-process [--repeat N]

In-process, it times our parse + greedy-threshold, plain MES and MES with Add1 completion, then
pabutools' parse, greedy and plain MES on the same file, and prints the times, their ratios, the
peak memory of our part and whether the outcomes are identical.

``--whole-process`` times what a user waits for: a fresh process from start to exit. Ours is
``pb tally FILE --rule R --format json`` (start-up, parse, tally, output; best of ``--repeat``,
default 3); theirs a fresh Python running pabutools' parse and the same rule (once: it is slow).
It prints both (wall clock and CPU time: on a loaded machine the CPU time is the steadier
figure), the ratios, and whether both processes funded the same projects in the same order.
Rules: greedy-threshold and plain MES (``equalshares``).

pabutools is configured to compute the same thing, as in tests/tally/test_tally_pabutools.py:
the floored budget, cost satisfaction (approval) or points (cumulative), our tie-break, and only
the eligible projects (its greedy has no threshold; ours leaves out what is below META
``min_project_score_threshold`` under every rule). Skips pabutools when it is not installed.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "pabulib" / "Poland_Lodz_2022.pb"
T = TypeVar("T")
REPEAT = 3  # ours is fast enough to time three times; pabutools runs once
WHOLE_PROCESS_RULES = ("greedy-threshold", "equalshares")


def timed(label: str, fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Run ``fn`` ``repeat`` times; report the best time (the least disturbed by other load)."""
    best = float("inf")
    result: T
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


def ours(path: Path) -> tuple[dict[str, list[str]], dict[str, float]]:
    from pb.tally import equal_shares, equal_shares_add1, greedy_threshold, load

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
    return selections, times


def pabutools_setup(path: Path) -> tuple[Any, Any, Any, Any]:
    """pabutools' parse of ``path``, configured as the module docstring says: the instance of
    eligible projects, the profile, the satisfaction class for MES and the tie-breaking rule."""
    from pabutools.election import Additive_Cardinal_Sat, Cost_Sat, parse_pabulib
    from pabutools.election.instance import Instance
    from pabutools.fractions import frac
    from pabutools.tiebreaking import TieBreakingRule

    from pb.tally.tiebreak import DEFAULT_TIE_BREAK, Candidate

    instance, profile = parse_pabulib(str(path))
    approval = instance.meta["vote_type"] in ("approval", "choose-1")
    scores = {p.name: 0 for p in instance}
    for ballot in profile:
        for p in ballot:
            scores[p.name] += 1 if approval else int(ballot[p])
    threshold = int(instance.meta.get("min_project_score_threshold") or 0)
    budget = frac(int(float(instance.meta["budget"].replace(",", "."))))
    eligible = Instance([p for p in instance if scores[p.name] >= threshold], budget_limit=budget)

    def key(inst: Any, prof: Any, project: Any) -> Any:
        return DEFAULT_TIE_BREAK.key(
            Candidate(project.name, int(project.cost), scores[project.name])
        )

    sat = Cost_Sat if approval else Additive_Cardinal_Sat
    return eligible, profile, sat, TieBreakingRule(key)


def pabutools_rule(rule: str, instance: Any, profile: Any, sat: Any, tie: Any) -> list[str]:
    from pabutools.election import Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    if rule == "equalshares":
        out = method_of_equal_shares(instance, profile, sat_class=sat, tie_breaking=tie)
    else:  # greedy by score: cost satisfaction per unit of cost is the number of approvals
        out = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    return [p.name for p in out]


def theirs(path: Path) -> tuple[dict[str, list[str]], dict[str, float]]:
    print(f"pabutools on {path.name}")
    (instance, profile, sat, tie), t_parse = timed("parse", lambda: pabutools_setup(path))
    greedy_sel, t_greedy = timed(
        "greedy (eligible projects)",
        lambda: pabutools_rule("greedy-threshold", instance, profile, sat, tie),
    )
    mes_sel, t_mes = timed(
        "method_of_equal_shares", lambda: pabutools_rule("equalshares", instance, profile, sat, tie)
    )
    return {"greedy": greedy_sel, "mes": mes_sel}, {
        "parse": t_parse,
        "greedy": t_greedy,
        "mes": t_mes,
    }


def in_process(path: Path, with_pabutools: bool) -> None:
    our_sel, our_t = ours(path)
    if not with_pabutools:
        return
    their_sel, their_t = theirs(path)
    print("comparison (pabutools time / our time)")
    for rule, label in (("greedy", "greedy-threshold"), ("mes", "plain MES")):
        ratio = their_t[rule] / our_t[rule]
        with_parse = (their_t["parse"] + their_t[rule]) / (our_t["parse"] + our_t[rule])
        same = "yes" if our_sel[rule] == their_sel[rule] else "NO"
        print(
            f"  {label:<17} rule {ratio:7.1f}x   parse + rule {with_parse:6.1f}x   "
            f"identical outcomes (same projects, same order): {same}"
        )


def run_process(command: Sequence[str]) -> tuple[str, float, float]:
    """Run ``command`` to its end: its stdout, the wall-clock seconds it took and the CPU seconds
    it used (user + system; unlike wall clock, barely moved by other load on the machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    return done.stdout, elapsed, cpu


def pb_command() -> list[str]:
    script = Path(sys.executable).with_name("pb")  # the console script of this virtualenv
    return [str(script)] if script.exists() else [sys.executable, "-m", "pb.cli"]


def whole_process(path: Path, repeat: int) -> int:
    print(f"whole process on {path.name}: start, parse, tally, exit")
    print(f"  {'':<42} {'wall clock':>10} {'CPU':>9}")
    failed = False
    for rule in WHOLE_PROCESS_RULES:
        ours_cmd = [*pb_command(), "tally", str(path), "--rule", rule, "--format", "json"]
        wall = cpu = float("inf")
        for _ in range(repeat):
            out, elapsed, used = run_process(ours_cmd)
            wall, cpu = min(wall, elapsed), min(cpu, used)
        our_sel = json.loads(out)["selected"]
        print(f"  {'pb tally --rule ' + rule:<42} {wall:8.2f} s {cpu:7.2f} s (best of {repeat})")
        their_cmd = [sys.executable, str(Path(__file__).resolve()), "--pabutools-child", rule]
        out, their_wall, their_cpu = run_process([*their_cmd, str(path)])
        their_sel = json.loads(out)["selected"]
        same = our_sel == their_sel
        failed |= not same
        print(f"  {'pabutools parse + ' + rule:<42} {their_wall:8.2f} s {their_cpu:7.2f} s")
        print(
            f"  {'ratio (pabutools / pb)':<42} {their_wall / wall:8.1f} x {their_cpu / cpu:7.1f} x"
            f"   identical outcomes (same projects, same order): {'yes' if same else 'NO'}",
            flush=True,
        )
    return 1 if failed else 0


def pabutools_child(rule: str, path: Path) -> int:
    """The pabutools side of ``--whole-process``: parse, run the rule, print the selection."""
    instance, profile, sat, tie = pabutools_setup(path)
    print(json.dumps({"selected": pabutools_rule(rule, instance, profile, sat, tie)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--no-pabutools", action="store_true")
    parser.add_argument("--whole-process", action="store_true")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--pabutools-child", choices=WHOLE_PROCESS_RULES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pabutools_child:
        return pabutools_child(args.pabutools_child, args.file)
    if not args.file.exists():
        print(f"skipped: {args.file} not found", file=sys.stderr)
        return 0
    try:
        import pabutools  # noqa: F401
    except ImportError:
        if args.whole_process or not args.no_pabutools:
            print("pabutools is not installed: comparison skipped")
        args.no_pabutools = True
    if args.whole_process:
        return whole_process(args.file, args.repeat) if not args.no_pabutools else 0
    in_process(args.file, not args.no_pabutools)
    return 0


if __name__ == "__main__":
    sys.exit(main())
