"""Method of Equal Shares rules: plain, with Add1 completion, and with the comparison step.

* ``equalshares``: one run of MES (see :mod:`pb.tally.mes_engine` for the definition) with the
  budget shared equally: every voter starts with ``budget / number of ballots``.
* ``equalshares/add1``: Add1 completion exactly as cities run it (equalshares.net's completion,
  run to its end). After the plain run, each voter's starting share is set to the whole part of
  ``budget / voters`` plus one currency unit and MES is rerun; the share keeps rising by one unit
  while the new outcome still fits the *real* budget. The result is the last outcome that fits:
  the run before the first raise that would overspend. (Stopping at the first outcome that
  happens to be exhaustive, as pabutools' built-in completion does, gives a different outcome on
  some elections.) Raising also stops once every project somebody supports is funded, since no
  further raise can then change the outcome.
* ``equalshares/add1-comparison``: the Add1 outcome is compared with ``greedy``'s. A voter
  prefers the outcome that gives more points to the projects it funds (for approval ballots:
  funds more of the projects the voter approved); the MES outcome is kept unless strictly more
  voters prefer the greedy one.
* ``equalshares-comparison``: the same comparison, with the plain MES outcome.

Eligibility is the election's, as for every rule: a project below META
``min_project_score_threshold`` (or costing the pabulib sentinel 999999999) is never bought, nor
funded by the greedy outcome of the comparison; the explanation lists it as ``ineligible``.

Utilities: cost utilities for approval and choose-1 ballots (the Method of Equal Shares as cities
use it), the points for cumulative, scoring and quadratic ballots (and the positional score for
ordinal ones). Exact arithmetic throughout; the displays in the explanation are rounded only for
reading (2 decimals for money, 6 for prices per unit of utility).
"""

from __future__ import annotations

from fractions import Fraction

from pb.tally.errors import RuleError
from pb.tally.greedy import greedy, make_outcome
from pb.tally.mes_engine import MESProblem, MESRun, Unaffordable
from pb.tally.model import Election
from pb.tally.outcome import JSONValue, Outcome, Step, Tie, decimal_text, fraction_json
from pb.tally.tiebreak import DEFAULT_TIE_BREAK, TieBreak

__all__ = [
    "equal_shares",
    "equal_shares_add1",
    "equal_shares_add1_comparison",
    "equal_shares_comparison",
]


def _ineligible_steps(problem: MESProblem, election: Election) -> list[Step]:
    threshold = election.min_project_score_threshold
    steps: list[Step] = []
    for c in problem.ineligible:
        data: dict[str, JSONValue] = {"cost": c.cost, "score": c.score}
        if threshold is not None and c.score < threshold:
            text = f"{c.id}: not eligible, score {c.score} below threshold {threshold}"
            data["threshold"] = threshold
        else:
            text = (
                f"{c.id}: not eligible, cost {c.cost} marks a project that could not be carried out"
            )
        steps.append(Step("ineligible", text, c.id, data))
    return steps


def _explain(
    run: MESRun, cost_utility: bool, budget: int, voters: int
) -> tuple[list[Step], list[Tie]]:
    steps: list[Step] = [
        Step(
            "start",
            f"every voter starts with {decimal_text(run.per_voter)} (exactly {run.per_voter})",
            None,
            {
                "per_voter": fraction_json(run.per_voter),
                "budget": budget,
                "voters": voters,
            },
        )
    ]
    steps.extend(
        Step("free", f"{pid}: funded at no cost (cost 0, supported)", pid) for pid in run.free
    )
    ties: list[Tie] = []
    dropped = list(run.unaffordable)
    for n, buy in enumerate(run.purchases, start=1):
        while dropped and dropped[0].after_purchases < n:
            steps.append(_unaffordable_step(dropped.pop(0)))
        capped = f"; {buy.capped} of them had less and paid all they had left" if buy.capped else ""
        if cost_utility:
            text = (
                f"{buy.project}: bought for {buy.cost}; each of its {buy.supporters} supporters "
                f"pays {decimal_text(buy.payment)}{capped} (rho = {decimal_text(buy.rho, 6)})"
            )
        else:
            text = (
                f"{buy.project}: bought for {buy.cost}; its {buy.supporters} supporters pay "
                f"{decimal_text(buy.rho)} per point{capped}"
            )
        steps.append(
            Step(
                "bought",
                text,
                buy.project,
                {
                    "cost": buy.cost,
                    "rho": fraction_json(buy.rho),
                    "payment": fraction_json(buy.payment, 2),
                    "supporters": buy.supporters,
                    "capped": buy.capped,
                    "money_left": fraction_json(buy.money_left, 2),
                    "units": buy.units,
                    "capped_units": buy.capped_units,
                    "capped_paid": fraction_json(buy.capped_paid, 2),
                },
            )
        )
        if buy.tied:
            ties.append(
                Tie(
                    context=f"MES purchase {n}",
                    on=f"rho {buy.rho}",
                    projects=buy.tied,
                    winner=buy.project,
                    decided_by=buy.decided_by,
                )
            )
    steps.extend(_unaffordable_step(d) for d in dropped)
    return steps, ties


def _unaffordable_step(d: Unaffordable) -> Step:
    return Step(
        "unaffordable",
        f"{d.project}: cannot be bought: its supporters have {decimal_text(d.money)} left "
        f"< cost {d.cost}",
        d.project,
        {"cost": d.cost, "money": fraction_json(d.money, 2), "after_purchases": d.after_purchases},
    )


def _outcome(
    election: Election,
    rule: str,
    tie_break: TieBreak,
    problem: MESProblem,
    run: MESRun,
    extra_steps: list[Step],
    details: dict[str, JSONValue],
) -> Outcome:
    steps, ties = _explain(run, problem.cost_utility, election.budget, len(election.ballots))
    return make_outcome(
        election,
        rule,
        tie_break,
        list(run.selected),
        ties,
        _ineligible_steps(problem, election) + extra_steps + steps,
        details,
        scores=problem.scores,
    )


def equal_shares(election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Method of Equal Shares without completion.

    Inputs: the election (approval ballots use cost utilities, cardinal ballots their points)
    and the tie-break among projects with the same lowest price ``rho``. Every voter starts with
    ``budget / number of ballots`` (exact fraction). Definition in :mod:`pb.tally.mes_engine`.
    The outcome never exceeds the budget; it may leave money unspent.
    """
    problem = MESProblem(election, tie_break)
    run = problem.run(_share(election))
    return _outcome(election, "equalshares", tie_break, problem, run, [], {})


def _share(election: Election) -> Fraction:
    return Fraction(election.budget, max(len(election.ballots), 1))


def _currency_unit(election: Election) -> int:
    """How many of the file's money units make one whole currency unit: META
    ``currency_unit`` (pb writes 100 when amounts are in cents), else 1 (pabulib's own files
    count whole units). Add1 raises the starting share by one such unit at a time."""
    raw = election.meta.get("currency_unit", "1")
    try:
        unit = int(raw)
    except ValueError:
        raise RuleError(f"META currency_unit is {raw!r}, expected a whole number >= 1") from None
    if unit < 1:
        raise RuleError(f"META currency_unit is {raw!r}, expected a whole number >= 1")
    return unit


def _add1(election: Election, problem: MESProblem) -> tuple[MESRun, dict[str, JSONValue], Step]:
    """The Add1 completion (module docstring): the last run that fits the real budget."""
    supported = set(problem.ids) | set(problem.free)
    run = problem.run(_share(election))
    unit = _currency_unit(election)
    whole = election.budget // max(len(election.ballots), 1) // unit * unit
    raises = 0
    reason = "every supported project is funded"
    while not supported <= set(run.selected):
        share = whole + (raises + 1) * unit
        trial = problem.run(Fraction(share))
        if trial.spent > election.budget:
            reason = (
                f"a starting share of {share} would spend {trial.spent} > budget {election.budget}"
            )
            break
        run = trial
        raises += 1
    details: dict[str, JSONValue] = {
        "per_voter_budget": fraction_json(run.per_voter, 2),
        "raises": raises,
        "add1_stopped": reason,
    }
    step = Step(
        "add1",
        f"Add1: starting share raised {raises} time(s) by {unit} to {decimal_text(run.per_voter)} "
        f"per voter; stopped because {reason}",
        None,
        {
            **details,
            "first_per_voter": fraction_json(_share(election), 2),
            "whole": whole,
            "unit": unit,
            "all_funded": supported <= set(run.selected),
            "voters": len(election.ballots),
        },
    )
    return run, details, step


def equal_shares_add1(election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Method of Equal Shares with Add1 completion, as cities run it.

    Inputs as :func:`equal_shares`. Definition: run MES with ``budget / voters`` each; then with
    ``floor(budget / voters) + u``, ``+ 2u``, ... where ``u`` is one whole currency unit (META
    ``currency_unit``, default 1; the floor is to whole units too) for as long as the outcome
    still fits the real budget; the result is the last outcome that fits (see the module
    docstring). ``details`` records the per-voter budget settled on and the number of raises.
    """
    problem = MESProblem(election, tie_break)
    run, details, step = _add1(election, problem)
    return _outcome(election, "equalshares/add1", tie_break, problem, run, [step], details)


def equal_shares_add1_comparison(
    election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK
) -> Outcome:
    """MES with Add1 completion, then the comparison with greedy.

    Definition: compute the Add1 outcome and the :func:`greedy` outcome (same tie-break). Each
    voter prefers the outcome whose funded projects get more of the voter's points (approval:
    more of the projects the voter approved); voters with equal totals prefer neither. The MES
    outcome is kept unless strictly more voters prefer greedy's. ``details`` records the counts.
    """
    problem = MESProblem(election, tie_break)
    run, details, step = _add1(election, problem)
    return _compare(
        election, "equalshares/add1-comparison", tie_break, problem, run, details, [step]
    )


def equal_shares_comparison(election: Election, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Plain MES (no completion), then the comparison with greedy.

    As :func:`equal_shares_add1_comparison`, with the outcome of :func:`equal_shares` in place
    of the Add1 outcome (pabulib's rule ``equalshares-comparison``).
    """
    problem = MESProblem(election, tie_break)
    run = problem.run(_share(election))
    return _compare(election, "equalshares-comparison", tie_break, problem, run, {}, [])


def _compare(
    election: Election,
    rule: str,
    tie_break: TieBreak,
    problem: MESProblem,
    run: MESRun,
    details: dict[str, JSONValue],
    first_steps: list[Step],
) -> Outcome:
    """The comparison step: keep the MES ``run`` unless strictly more voters prefer greedy's."""
    mes_set = set(run.selected)
    greedy_outcome = greedy(election, tie_break)
    greedy_set = set(greedy_outcome.selected)
    prefer_mes = prefer_greedy = 0
    if mes_set != greedy_set:
        for ballot in election.ballots:
            points = ballot.points
            mes_total = sum(p for pid, p in points.items() if pid in mes_set)
            greedy_total = sum(p for pid, p in points.items() if pid in greedy_set)
            if mes_total > greedy_total:
                prefer_mes += 1
            elif greedy_total > mes_total:
                prefer_greedy += 1
    keep = prefer_greedy <= prefer_mes
    details = {
        **details,
        "prefer_mes": prefer_mes,
        "prefer_greedy": prefer_greedy,
        "indifferent": len(election.ballots) - prefer_mes - prefer_greedy,
        "comparison_winner": "equalshares" if keep else "greedy",
    }
    compare = Step(
        "comparison",
        f"comparison with greedy: {prefer_mes} voter(s) prefer the MES outcome, "
        f"{prefer_greedy} the greedy outcome; "
        + ("MES is kept" if keep else "greedy's outcome is chosen (strictly more voters)"),
        None,
        {"prefer_mes": prefer_mes, "prefer_greedy": prefer_greedy, "keep_mes": keep},
    )
    mes_steps, mes_ties = _explain(
        run, problem.cost_utility, election.budget, len(election.ballots)
    )
    ties = [*mes_ties, *greedy_outcome.ties]
    steps = [*_ineligible_steps(problem, election), *first_steps, *mes_steps, compare]
    if keep:
        selected = list(run.selected)
    else:
        selected = list(greedy_outcome.selected)
        steps.extend(s for s in greedy_outcome.steps if s.kind != "ineligible")
    return make_outcome(
        election, rule, tie_break, selected, ties, steps, details, scores=problem.scores
    )
