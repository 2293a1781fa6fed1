""" "How the winners were chosen": the tally's own steps told in plain, translated language.

Each step of a ``pb.tally`` outcome has a ``kind`` and exact ``data``; every sentence here is
built from those, never from the tally's English ``text``, so it reads in the visitor's
language and says nothing the tally did not record.

The order is the order in which the count happened. For the Method of Equal Shares: the budget
is shared equally among the voters, the completion (Add1) settles how large the shares finally
are, then the projects are bought one by one from those shares, then the comparison (if the
rule has one). What a share pays for depends on the ballot: with approval ballots every
supporter of a project pays the same part of its cost; with points or quadratic ballots every
*point* (or vote) pays the same price, so a supporter who gave more pays more.

Every sentence carries the ``figures`` it shows (money in minor units, rounded as displayed;
counts as integers), so a test can check that the arithmetic a reader would do adds up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pb.i18n import format_money, format_number, ngettext
from pb.i18n import gettext as _

FUNDED_KINDS = ("funded", "bought", "free")


@dataclass(frozen=True)
class Sentence:
    kind: str
    text: str
    funded: bool
    figures: dict[str, Fraction] = field(default_factory=dict)


def _exact(value: Any) -> Fraction:
    """A number from the tally's JSON: an int, or {"exact": "p/q", "decimal": ...}."""
    if isinstance(value, dict):
        return Fraction(value["exact"])
    return Fraction(value)


class _Writer:
    """Formats the figures of one sentence and remembers them as displayed."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.figures: dict[str, Fraction] = {}

    def money(self, key: str, value: Any) -> str:
        exact = _exact(value)
        shown = round(exact)
        self.figures[key] = Fraction(shown)
        text = format_money(shown, self.currency)
        return text if shown == exact else _("about %(amount)s", amount=text)

    def count(self, key: str, value: Any) -> str:
        self.figures[key] = Fraction(int(value))
        return format_number(int(value))

    def take(self) -> dict[str, Fraction]:
        figures, self.figures = self.figures, {}
        return figures


def _ordered(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps in the order the count happened: the starting share, the projects no rule may
    fund, the completion that sets the final share, then the rest as the tally recorded it."""
    first = {"start": 0, "ineligible": 1, "add1": 2}
    head = sorted((s for s in steps if s["kind"] in first), key=lambda s: first[s["kind"]])
    return head + [s for s in steps if s["kind"] not in first]


def explain(
    outcome: dict[str, Any],
    titles: dict[str, str],
    currency: str,
    method: str,
) -> list[Sentence]:
    """Sentences for every step of ``outcome`` (one district's entry of results.json), for a
    round whose ballots are of voting ``method`` (approval, knapsack, quadratic, cumulative)."""
    w = _Writer(currency)
    out: list[Sentence] = []

    def add(kind: str, text: str | None, funded: bool = False) -> None:
        figures = w.take()
        if text:
            out.append(Sentence(kind, text, funded, figures))

    steps = _ordered(list(outcome.get("steps", [])))
    for step in steps:
        kind = step["kind"]
        name = titles.get(str(step.get("project")), str(step.get("project")))
        data = step.get("data") or {}
        if kind == "start":
            add(kind, _start(w, data, outcome))
            add("share", _share_rule(method))
        elif kind == "bought":
            add(kind, _bought(w, data, name, method), True)
        else:
            add(kind, _sentence(w, kind, data, name, method), kind in FUNDED_KINDS)
    if steps:
        budget, spent = outcome.get("budget"), outcome.get("spent")
        if budget is not None and spent is not None:
            add(
                "total",
                _(
                    "In all, %(spent)s of the budget of %(budget)s is spent; %(left)s is left.",
                    spent=w.money("spent", spent),
                    budget=w.money("budget", budget),
                    left=w.money("left", budget - spent),
                ),
            )
    return out


def _start(w: _Writer, data: dict[str, Any], outcome: dict[str, Any]) -> str:
    budget = data.get("budget", outcome.get("budget"))
    voters = data.get("voters", (outcome.get("turnout") or {}).get("ballots"))
    if budget is None or not voters:
        return _(
            "Every voter starts with an equal share of the budget: %(share)s.",
            share=w.money("share", data["per_voter"]),
        )
    return ngettext(
        "The budget of %(budget)s goes to the only voter: a share of %(share)s.",
        "The budget of %(budget)s is shared equally among the %(voters)s voters: "
        "each starts with %(share)s.",
        int(voters),
        budget=w.money("budget", budget),
        voters=w.count("voters", voters),
        share=w.money("share", Fraction(budget, voters)),
    )


def _share_rule(method: str) -> str:
    if method == "quadratic":
        return _(
            "A project is paid for from the shares of the voters who gave it votes. Every "
            "vote pays the same price, so a voter who gave it more votes pays more; nobody "
            "pays more than they have left."
        )
    if method == "cumulative":
        return _(
            "A project is paid for from the shares of the voters who gave it points. Every "
            "point pays the same price, so a voter who gave it more points pays more; nobody "
            "pays more than they have left."
        )
    return _(
        "A project is paid for from the shares of the voters who chose it, each paying the "
        "same amount; nobody pays more than they have left. The projects that cost their "
        "supporters least are bought first."
    )


def _bought(w: _Writer, data: dict[str, Any], name: str, method: str) -> str:
    cost = w.money("cost", data["cost"])
    n = int(data["supporters"])
    capped = int(data.get("capped", 0))
    cardinal = method in ("quadratic", "cumulative")
    if cardinal:
        rho = _exact(data["rho"])
        units = data.get("units")
        if units is None and capped == 0:
            units = Fraction(int(data["cost"])) / rho if rho else 0
        if units is None:
            return _("%(project)s — bought for %(cost)s.", project=name, cost=cost)
        units = int(units)
        paying = units - int(data.get("capped_units", 0))
        supporters = ngettext(
            "%(project)s — bought for %(cost)s. Its only supporter gave it",
            "%(project)s — bought for %(cost)s. Its %(supporters)s supporters gave it",
            n,
            project=name,
            cost=cost,
            supporters=w.count("supporters", n),
        )
        shown = w.count("units", units)
        if method == "quadratic":
            gave = ngettext("%(units)s vote in all.", "%(units)s votes in all.", units, units=shown)
        else:
            gave = ngettext(
                "%(units)s point in all.", "%(units)s points in all.", units, units=shown
            )
        price = w.money("price", rho)
        shown = w.count("paying", paying)
        paid = ""
        if capped:
            paid = ngettext(
                "One of them had less left and paid all they had, %(paid)s.",
                "%(capped)s of them had less left and paid all they had, %(paid)s together.",
                capped,
                capped=w.count("capped", capped),
                paid=w.money("capped_paid", data["capped_paid"]),
            )
        if method == "quadratic":
            each = (
                ngettext(
                    "The other vote paid %(price)s.",
                    "The other %(paying)s votes paid %(price)s each.",
                    paying,
                    paying=shown,
                    price=price,
                )
                if capped
                else ngettext(
                    "That vote paid %(price)s from its voter's share.",
                    "Each vote paid %(price)s from its voter's share.",
                    paying,
                    paying=shown,
                    price=price,
                )
            )
        else:
            each = (
                ngettext(
                    "The other point paid %(price)s.",
                    "The other %(paying)s points paid %(price)s each.",
                    paying,
                    paying=shown,
                    price=price,
                )
                if capped
                else ngettext(
                    "That point paid %(price)s from its voter's share.",
                    "Each point paid %(price)s from its voter's share.",
                    paying,
                    paying=shown,
                    price=price,
                )
            )
        if not paying:  # every supporter paid all they had left
            each = ""
        paid = f"{paid} {each}" if paid and each else paid or each
        left = _money_left(w, data)
        return " ".join(p for p in (supporters, gave, paid, left) if p)
    payment = w.money("payment", data["payment"])
    if capped:
        text = ngettext(
            "%(project)s — bought for %(cost)s. Of its %(supporters)s supporters, one had "
            "less left and paid all they had (%(paid)s); each of the other %(paying)s "
            "paid %(payment)s.",
            "%(project)s — bought for %(cost)s. Of its %(supporters)s supporters, %(capped)s had "
            "less left and paid all they had (%(paid)s in all); each of the other %(paying)s "
            "paid %(payment)s.",
            capped,
            project=name,
            cost=cost,
            supporters=w.count("supporters", n),
            paid=w.money("capped_paid", data["capped_paid"]),
            paying=w.count("paying", n - capped),
            payment=payment,
            capped=w.count("capped", capped),
        )
    else:
        text = ngettext(
            "%(project)s — bought for %(cost)s, paid by its only supporter.",
            "%(project)s — bought for %(cost)s: each of its %(paying)s supporters paid "
            "%(payment)s.",
            n,
            project=name,
            cost=cost,
            payment=payment,
            paying=w.count("paying", n),
        )
    left = _money_left(w, data)
    return f"{text} {left}" if left else text


def _money_left(w: _Writer, data: dict[str, Any]) -> str:
    if "money_left" not in data:
        return ""
    return _(
        "The voters have %(left)s left in their shares.",
        left=w.money("money_left", data["money_left"]),
    )


def _score(w: _Writer, method: str, score: Any) -> str:
    n = int(score)
    shown = w.count("score", n)
    if method == "cumulative":
        return ngettext("%(score)s point", "%(score)s points", n, score=shown)
    return ngettext("%(score)s vote", "%(score)s votes", n, score=shown)


def _sentence(w: _Writer, kind: str, data: dict[str, Any], name: str, method: str) -> str | None:
    def money(key: str, shown_as: str | None = None) -> str:
        return w.money(shown_as or key, data[key])

    writers: dict[str, Callable[[], str | None]] = {
        "funded": lambda: _(
            "%(project)s — funded with %(score)s; it costs %(cost)s, so %(left)s is left.",
            project=name,
            score=_score(w, method, data["score"]),
            cost=money("cost"),
            left=money("remaining_after", "left"),
        ),
        "skipped": lambda: _(
            "%(project)s — skipped: it costs %(cost)s but only %(left)s was left.",
            project=name,
            cost=money("cost"),
            left=money("remaining", "left"),
        ),
        "stopped": lambda: _(
            "%(project)s — did not fit (it costs %(cost)s, %(left)s was left), so the "
            "count stopped here, as this round's rule says.",
            project=name,
            cost=money("cost"),
            left=money("remaining", "left"),
        ),
        "not-considered": lambda: _(
            "%(project)s — not considered: the count had stopped.", project=name
        ),
        "ineligible": lambda: _ineligible(w, data, name, method),
        "add1": lambda: _add1(w, data),
        "free": lambda: _("%(project)s — funded at no cost.", project=name),
        "unaffordable": lambda: _(
            "%(project)s — not funded: its supporters had only %(money)s left, less "
            "than its cost of %(cost)s.",
            project=name,
            money=money("money"),
            cost=money("cost"),
        ),
        "comparison": lambda: _comparison(w, data),
    }
    writer = writers.get(kind)
    return writer() if writer else None


def _ineligible(w: _Writer, data: dict[str, Any], name: str, method: str) -> str:
    if "threshold" not in data:
        return _("%(project)s — not eligible: it cannot be carried out.", project=name)
    score = _score(w, method, data["score"])
    return _(
        "%(project)s — not eligible: %(score)s, below the minimum of %(threshold)s.",
        project=name,
        score=score,
        threshold=w.count("threshold", data["threshold"]),
    )


def _add1(w: _Writer, data: dict[str, Any]) -> str | None:
    raises = int(data["raises"])
    if "whole" not in data:  # results counted before the completion recorded its figures
        if not raises:
            return None
        return ngettext(
            "The equal shares left money unspent, so every share was raised once, to %(share)s.",
            "The equal shares left money unspent, so every share was raised %(num)s times, "
            "to %(share)s.",
            raises,
            share=w.money("share", data["per_voter_budget"]),
        )
    if not raises:
        if data.get("all_funded"):
            return None
        return _(
            "Larger shares would have bought projects costing more than the budget, so the "
            "shares stay at %(share)s.",
            share=w.money("share", data["per_voter_budget"]),
        )
    unit = w.money("unit", data["unit"])
    shown = w.count("raises", raises)
    text = ngettext(
        "Shares of %(first)s would leave money unspent, so, as this round's rule says, the "
        "count is done with larger shares: rounded down to %(whole)s, then raised by %(unit)s "
        "as long as the projects bought still fit in the budget. After %(raises)s raise, every "
        "voter starts with %(share)s, and the projects below are bought with these shares.",
        "Shares of %(first)s would leave money unspent, so, as this round's rule says, the "
        "count is done with larger shares: rounded down to %(whole)s, then raised by %(unit)s "
        "at a time as long as the projects bought still fit in the budget. After %(raises)s "
        "raises, every voter starts with %(share)s, and the projects below are bought with "
        "these shares.",
        raises,
        first=w.money("first", data["first_per_voter"]),
        whole=w.money("whole", data["whole"]),
        unit=unit,
        share=w.money("share", data["per_voter_budget"]),
        raises=shown,
    )
    voters = data.get("voters")
    if not voters:
        return text
    held = _(
        "Together these shares come to %(held)s, more than the budget: only what the projects "
        "bought cost is spent.",
        held=w.money("held", _exact(data["per_voter_budget"]) * int(voters)),
    )
    return f"{text} {held}"


def _comparison(w: _Writer, data: dict[str, Any]) -> str:
    mes, greedy = int(data["prefer_mes"]), int(data["prefer_greedy"])
    w.count("prefer_mes", mes)
    w.count("prefer_greedy", greedy)
    if mes == greedy == 0:
        return _(
            "Finally the result was compared with the simple 'most votes first' count: no "
            "voter preferred either, so the equal-shares result is kept."
        )
    text = " ".join(
        (
            _("Finally the result was compared with the simple 'most votes first' count."),
            ngettext(
                "%(mes)s voter preferred the equal-shares result",
                "%(mes)s voters preferred the equal-shares result",
                mes,
                mes=format_number(mes),
            ),
            ngettext(
                "and %(greedy)s voter the other.",
                "and %(greedy)s voters the other.",
                greedy,
                greedy=format_number(greedy),
            ),
        )
    )
    kept = data.get("keep_mes", True)
    return f"{text} " + (
        _("The equal-shares result is kept.")
        if kept
        else _("More voters preferred the other result, so it is the one funded.")
    )


def tie_sentences(outcome: dict[str, Any], titles: dict[str, str]) -> list[str]:
    reasons = {
        "lower-cost": _("the lower cost"),
        "higher-score": _("the higher score"),
        "natural-id": _("the lower project number"),
    }
    out = []
    for tie in outcome.get("ties", []):
        names = ", ".join(titles.get(str(p), str(p)) for p in tie["projects"])
        out.append(
            _(
                "Tie between %(projects)s: %(winner)s went first, by %(reason)s.",
                projects=names,
                winner=titles.get(str(tie["winner"]), str(tie["winner"])),
                reason=reasons.get(tie["decided_by"], tie["decided_by"]),
            )
        )
    return out
