""" "How the winners were chosen": the tally's own steps told in plain, translated language.

Each step of a ``pb.tally`` outcome has a ``kind`` and exact ``data``; every sentence here is
built from those, never from the tally's English ``text``, so it reads in the visitor's
language and says nothing the tally did not record.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pb.i18n import format_money
from pb.i18n import gettext as _


@dataclass(frozen=True)
class Sentence:
    kind: str
    text: str
    funded: bool


def _exact(value: Any) -> Fraction:
    """A number from the tally's JSON: an int, or {"exact": "p/q", "decimal": ...}."""
    if isinstance(value, dict):
        return Fraction(value["exact"])
    return Fraction(value)


def _money(value: Any, currency: str) -> str:
    return format_money(round(_exact(value)), currency)


def explain(
    outcome: dict[str, Any], titles: dict[str, str], currency: str, score_word: str
) -> list[Sentence]:
    """Sentences for every step of ``outcome`` (one district's entry of results.json)."""
    out: list[Sentence] = []
    for step in outcome.get("steps", []):
        kind = step["kind"]
        name = titles.get(str(step.get("project")), str(step.get("project")))
        text = _sentence(step, name, currency, score_word)
        out.append(Sentence(kind, text, kind in ("funded", "bought", "free")))
    return out


def _sentence(step: dict[str, Any], name: str, currency: str, score_word: str) -> str:
    kind, data = step["kind"], step.get("data") or {}

    def money(key: str) -> str:
        return _money(data[key], currency)

    if kind == "funded":
        text = _(
            "%(project)s — funded: %(score)s %(unit)s, costs %(cost)s; %(left)s left after it.",
            project=name,
            score=data["score"],
            unit=score_word,
            cost=money("cost"),
            left=money("remaining_after"),
        )
    elif kind == "skipped":
        text = _(
            "%(project)s — skipped: it costs %(cost)s but only %(left)s was left.",
            project=name,
            cost=money("cost"),
            left=money("remaining"),
        )
    elif kind == "stopped":
        text = _(
            "%(project)s — did not fit (it costs %(cost)s, %(left)s was left), so the "
            "count stopped here, as this round's rule says.",
            project=name,
            cost=money("cost"),
            left=money("remaining"),
        )
    elif kind == "not-considered":
        text = _("%(project)s — not considered: the count had stopped.", project=name)
    elif kind == "ineligible":
        text = _(
            "%(project)s — not eligible: %(score)s %(unit)s, below the minimum of %(threshold)s.",
            project=name,
            score=data["score"],
            unit=score_word,
            threshold=data["threshold"],
        )
    elif kind == "start":
        text = _(
            "Every voter starts with an equal share of the budget: %(share)s.",
            share=money("per_voter"),
        )
    elif kind == "add1":
        text = _(
            "The equal shares left money unspent, so every voter's share was raised "
            "%(raises)s times by one unit of currency, to %(share)s, until one more "
            "raise would have spent more than the budget.",
            raises=data["raises"],
            share=money("per_voter_budget"),
        )
    elif kind == "bought":
        text = _(
            "%(project)s — funded for %(cost)s: each of its %(n)s supporters paid "
            "%(payment)s from their share.",
            project=name,
            cost=money("cost"),
            n=data["supporters"],
            payment=money("payment"),
        )
    elif kind == "free":
        text = _("%(project)s — funded at no cost.", project=name)
    elif kind == "unaffordable":
        text = _(
            "%(project)s — not funded: its supporters had only %(money)s left, less "
            "than its cost of %(cost)s.",
            project=name,
            money=money("money"),
            cost=money("cost"),
        )
    elif kind == "comparison":
        kept = data.get("keep_mes", True)
        text = (
            _(
                "Finally the result was compared with the simple 'most votes first' count: "
                "%(mes)s voters preferred the equal-shares result and %(greedy)s the other.",
                mes=data["prefer_mes"],
                greedy=data["prefer_greedy"],
            )
            + " "
            + (
                _("The equal-shares result is kept.")
                if kept
                else _("More voters preferred the other result, so it is the one funded.")
            )
        )
    else:
        text = str(step.get("text", kind))
    return text


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
