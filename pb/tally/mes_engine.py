"""The Method of Equal Shares, computed exactly: the engine behind :mod:`pb.tally.mes`.

Definition (Peters, Pierczyński and Skowron; equalshares.net). Every voter starts with the same
budget ``b``. A project ``c`` of cost ``cost(c)`` is affordable at price ``rho`` when its supporters
can pay for it with each supporter ``i`` paying ``min(budget_i, rho * u_i(c))``, i.e. when
``sum_i min(budget_i, rho * u_i(c)) = cost(c)``. Each round buys the affordable project with the
lowest such ``rho`` (ties broken by the tie-break), charges its supporters, and repeats until no
project is affordable. Utilities ``u_i(c)``: for approval ballots the cost of the project (``cost
utilities``: every supporter then pays the same amount ``rho * cost(c)`` unless they have less);
for cardinal ballots (cumulative, scoring, quadratic) the points the voter gave.

Exactness and speed. All money is ``int`` or ``fractions.Fraction``; nothing is rounded. Voters
with identical ballots keep identical budgets throughout, so they form one weighted class. A
voter's budget takes few distinct values during a run, so budgets live in a table of *levels*;
each class points at a level, and buying a project moves its supporters' classes to new levels
through a map computed once per old level. The price of a project only rises as budgets fall, so
each round re-prices projects lazily, cheapest last-known price first, and stops as soon as no
remaining project can match the best price found (ties included).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from pb.tally.model import APPROVAL_LIKE, Election
from pb.tally.scores import project_scores
from pb.tally.tiebreak import Candidate, TieBreak

__all__ = ["MESProblem", "MESRun", "Purchase", "Unaffordable"]

_ZERO = Fraction(0)


@dataclass(frozen=True, slots=True)
class Purchase:
    """One project bought by MES: at price ``rho`` per unit of utility.

    For cost utilities ``payment = rho * cost`` is what each supporter pays (or all they have
    left, for the ``capped`` voters who have less). For cardinal ballots ``payment`` is ``rho``,
    the price of one point. ``units`` is what the price is paid per, summed over the supporters:
    the supporters themselves for cost utilities, their points (votes) for cardinal ballots;
    ``capped_units`` the part of it held by the capped voters, who paid ``capped_paid`` in all
    (so ``(units - capped_units) * payment + capped_paid == cost``). ``tied`` lists the
    projects that had the same lowest price (winner first) when more than one did.
    """

    project: str
    cost: int
    rho: Fraction
    payment: Fraction
    supporters: int
    capped: int
    money_left: Fraction
    tied: tuple[str, ...] = ()
    decided_by: str = ""
    units: int = 0
    capped_units: int = 0
    capped_paid: Fraction = _ZERO


@dataclass(frozen=True, slots=True)
class Unaffordable:
    """A project dropped because its supporters had less money left than its cost."""

    project: str
    cost: int
    money: Fraction
    after_purchases: int


@dataclass(frozen=True, slots=True)
class MESRun:
    """The result of one run of MES with a given starting budget per voter."""

    per_voter: Fraction
    selected: tuple[str, ...]
    spent: int
    purchases: tuple[Purchase, ...]
    unaffordable: tuple[Unaffordable, ...]
    free: tuple[str, ...]


class MESProblem:
    """An election prepared for (repeated) runs of MES: classes of identical ballots, and for
    every project its supporting classes and their utilities. Build once, run many times.

    Projects the election makes ineligible under every rule (score below its
    ``min_project_score_threshold``, or the pabulib sentinel cost) are left out and listed in
    ``ineligible``: MES never buys them, and Add1 does not wait for them."""

    def __init__(self, election: Election, tie_break: TieBreak) -> None:
        self.cost_utility = election.vote_type in APPROVAL_LIKE
        self.voters = len(election.ballots)
        classes: dict[frozenset[tuple[str, int]], int] = {}
        if self.cost_utility:  # every chosen project has 1 point
            approvals = Counter(frozenset(b.points) for b in election.ballots)
            for approved, weight in approvals.items():
                classes[frozenset((pid, 1) for pid in approved)] = weight
        else:
            for ballot in election.ballots:
                key = frozenset((pid, pts) for pid, pts in ballot.points.items() if pts > 0)
                classes[key] = classes.get(key, 0) + 1
        self.weights = list(classes.values())
        self.scores = scores = project_scores(election)
        index = {p.id: i for i, p in enumerate(election.projects)}
        supporters: list[list[int]] = [[] for _ in election.projects]
        utilities: list[list[int]] = [[] for _ in election.projects]
        for k, ballot_items in enumerate(classes):
            for pid, pts in ballot_items:
                supporters[index[pid]].append(k)
                utilities[index[pid]].append(pts)
        self.ids: list[str] = []
        self.costs: list[int] = []
        self.supporters: list[list[int]] = []
        self.utilities: list[list[int]] = []
        self.total_weight: list[int] = []
        self.total_utility: list[int] = []
        self.candidates: list[Candidate] = []
        free: list[Candidate] = []
        threshold = election.min_project_score_threshold
        sentinel = election.sentinel_cost
        self.ineligible: list[Candidate] = []
        """Projects the election does not let any rule fund (below the threshold, or costing the
        pabulib sentinel), by score descending then the tie-break (as greedy ranks them)."""
        for p, supp, utils in zip(election.projects, supporters, utilities, strict=True):
            candidate = Candidate(p.id, p.cost, scores[p.id])
            if p.cost == sentinel or (threshold is not None and candidate.score < threshold):
                self.ineligible.append(candidate)
                continue
            if not supp:
                continue  # nobody wants it: MES never buys it
            if p.cost == 0:
                free.append(candidate)
                continue
            self.ids.append(p.id)
            self.costs.append(p.cost)
            self.supporters.append(supp)
            self.utilities.append(utils)
            self.total_weight.append(sum(self.weights[k] for k in supp))
            self.total_utility.append(
                sum(self.weights[k] * u for k, u in zip(supp, utils, strict=True))
            )
            self.candidates.append(candidate)
        self.free = tuple(c.id for c in tie_break.order(free))
        self.ineligible.sort(key=lambda c: (-c.score, tie_break.key(c)))
        self.tie_break = tie_break
        self.tie_keys = [tie_break.key(c) for c in self.candidates]
        # position in the tie-break order: makes every run independent of the project order
        self.tie_rank = [0] * len(self.candidates)
        for rank, j in enumerate(
            sorted(range(len(self.candidates)), key=self.tie_keys.__getitem__)
        ):
            self.tie_rank[j] = rank

    def run(self, per_voter: Fraction) -> MESRun:
        """Run MES with ``per_voter`` money for every voter; see the module docstring."""
        money = _Money(per_voter, len(self.weights))
        heap: list[tuple[Fraction, int, int]] = []
        for j, cost in enumerate(self.costs):
            # lower bound of the price: nobody capped
            if self.cost_utility:
                heap.append((Fraction(1, self.total_weight[j]), self.tie_rank[j], j))
            else:
                heap.append((Fraction(cost, self.total_utility[j]), self.tie_rank[j], j))
        heapq.heapify(heap)
        money_left = per_voter * self.voters
        purchases: list[Purchase] = []
        dropped: list[Unaffordable] = []
        selected: list[str] = list(self.free)
        spent = 0
        while heap:
            best: list[int] = []
            best_rho: Fraction | None = None
            priced: list[tuple[Fraction, int]] = []
            while heap and (best_rho is None or heap[0][0] <= best_rho):
                _, _, j = heapq.heappop(heap)
                rho, available = self._price(j, money)
                if rho is None:
                    dropped.append(
                        Unaffordable(self.ids[j], self.costs[j], available, len(purchases))
                    )
                    continue
                priced.append((rho, j))
                if best_rho is None or rho < best_rho:
                    best_rho, best = rho, [j]
                elif rho == best_rho:
                    best.append(j)
            if best_rho is None:
                break
            best.sort(key=self.tie_rank.__getitem__)
            winner = best[0]
            for rho, j in priced:
                if j != winner:
                    heapq.heappush(heap, (rho, self.tie_rank[j], j))
            cost = self.costs[winner]
            capped, capped_units, capped_paid = self._charge(winner, best_rho, money)
            money_left -= cost
            spent += cost
            selected.append(self.ids[winner])
            tied = tuple(self.ids[j] for j in best) if len(best) > 1 else ()
            decided_by = (
                self.tie_break.deciding(self.candidates[best[0]], self.candidates[best[1]])
                if tied
                else ""
            )
            purchases.append(
                Purchase(
                    self.ids[winner],
                    cost,
                    best_rho,
                    best_rho * cost if self.cost_utility else best_rho,
                    self.total_weight[winner],
                    capped,
                    money_left,
                    tied,
                    decided_by,
                    self.total_weight[winner] if self.cost_utility else self.total_utility[winner],
                    capped_units,
                    capped_paid,
                )
            )
        return MESRun(
            per_voter, tuple(selected), spent, tuple(purchases), tuple(dropped), self.free
        )

    def _price(self, j: int, money: _Money) -> tuple[Fraction | None, Fraction]:
        """The lowest ``rho`` at which project ``j`` is affordable (``None`` if it is not), and,
        when it is not, the money its supporters have left.

        Water-filling over the supporters sorted by budget per unit of utility: the poorest pay
        all they have while that is less than the equal price the others would pay.
        """
        weights = self.weights
        at = money.at
        levels = money.levels
        denominator = money.denominator
        cost_d = self.costs[j] * denominator
        paid = 0  # in units of 1/denominator
        if self.cost_utility:
            by_level: dict[int, int] = {}
            for k in self.supporters[j]:
                lv = at[k]
                by_level[lv] = by_level.get(lv, 0) + weights[k]
            rest = self.total_weight[j]
            for lv in sorted(by_level, key=levels.__getitem__):
                budget = levels[lv]
                # equal payment (cost_d - paid) / (rest * denominator) fits this budget?
                if cost_d - paid <= budget * rest:
                    return Fraction(cost_d - paid, rest * denominator * self.costs[j]), _ZERO
                paid += budget * by_level[lv]
                rest -= by_level[lv]
            return None, Fraction(paid, denominator)
        by_key: dict[tuple[int, int], int] = {}
        for k, u in zip(self.supporters[j], self.utilities[j], strict=True):
            key = (at[k], u)
            by_key[key] = by_key.get(key, 0) + weights[k]
        rest = self.total_utility[j]
        for lv, u in sorted(by_key, key=lambda key: Fraction(levels[key[0]], key[1])):
            budget = levels[lv]
            if (cost_d - paid) * u <= budget * rest:
                return Fraction(cost_d - paid, rest * denominator), _ZERO
            w = by_key[(lv, u)]
            paid += budget * w
            rest -= u * w
        return None, Fraction(paid, denominator)

    def _charge(self, j: int, rho: Fraction, money: _Money) -> tuple[int, int, Fraction]:
        """Charge the supporters of ``j`` at price ``rho``; return how many were capped, the
        units (supporters, or their points) they hold, and what they paid together."""
        unit = rho * self.costs[j] if self.cost_utility else rho
        money.refine(unit.denominator)
        owed_unit = unit.numerator * (money.denominator // unit.denominator)
        levels = money.levels
        at = money.at
        moved: dict[tuple[int, int], tuple[int, bool]] = {}
        capped = capped_units = capped_paid = 0
        weights = self.weights
        for k, u in zip(self.supporters[j], self.utilities[j], strict=True):
            old = at[k]
            move = moved.get((old, u))
            if move is None:
                owed = owed_unit if self.cost_utility else owed_unit * u
                move = moved[(old, u)] = (money.level(levels[old] - owed), levels[old] < owed)
            if move[1]:
                capped += weights[k]
                capped_units += weights[k] * (1 if self.cost_utility else u)
                capped_paid += weights[k] * levels[old]
            at[k] = move[0]
        return capped, capped_units, Fraction(capped_paid, money.denominator)


class _Money:
    """Voters' budgets during one run: ``levels[at[k]] / denominator`` is the budget of each
    voter of class ``k``. Levels are integers over one common denominator, so the inner loops
    compare and add integers; the denominator grows (lcm) as payments need it."""

    def __init__(self, per_voter: Fraction, classes: int) -> None:
        self.denominator = per_voter.denominator
        self.levels = [per_voter.numerator]
        self.level_of = {per_voter.numerator: 0}
        self.at = [0] * classes

    def refine(self, denominator: int) -> None:
        """Make ``denominator`` divide the common denominator."""
        if self.denominator % denominator:
            new = math.lcm(self.denominator, denominator)
            factor = new // self.denominator
            self.denominator = new
            self.levels = [v * factor for v in self.levels]
            self.level_of = {v: i for i, v in enumerate(self.levels)}

    def level(self, value: int) -> int:
        """The index of the level holding ``max(value, 0)``, adding it when new."""
        value = max(value, 0)
        index = self.level_of.get(value)
        if index is None:
            index = self.level_of[value] = len(self.levels)
            self.levels.append(value)
        return index
