"""A plain-text report of an outcome, for people reading a terminal."""

from __future__ import annotations

from pb.tally.model import Election
from pb.tally.outcome import Outcome

__all__ = ["format_text"]


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "-"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}%"


def format_text(outcome: Outcome, election: Election | None = None) -> str:
    """The outcome as readable text: winners in funding order, money spent, ties, steps."""
    names = {p.id: p.name for p in election.projects} if election is not None else {}
    by_id = {p.id: p for p in outcome.projects}
    lines = [
        f"Rule: {outcome.rule}",
        f"Tie-break: {', '.join(outcome.tie_break)}",
        f"Budget: {outcome.budget}",
        (
            f"Spent: {outcome.spent} of {outcome.budget} "
            f"({_percent(outcome.spent, outcome.budget)}), "
            f"left over: {outcome.budget - outcome.spent}"
        ),
        "",
        f"Funded projects ({len(outcome.selected)}), in the order funded:",
    ]
    for n, pid in enumerate(outcome.selected, start=1):
        p = by_id[pid]
        name = f"  {names[pid]}" if names.get(pid) else ""
        lines.append(f"  {n:>3}. {pid}  cost {p.cost}  score {p.score}{name}")
    not_funded = [p for p in outcome.projects if not p.selected]
    lines += ["", f"Not funded ({len(not_funded)}):"]
    for p in not_funded:
        lines.append(f"       {p.id}  cost {p.cost}  score {p.score}")
    if outcome.details:
        lines += ["", "Details:"]
        for key in sorted(outcome.details):
            value = outcome.details[key]
            if isinstance(value, dict) and "exact" in value:  # an exact number
                value = f"{value['decimal']} (exactly {value['exact']})"
            lines.append(f"  {key}: {value}")
    lines += ["", f"Ties broken ({len(outcome.ties)}):"]
    for t in outcome.ties:
        lines.append(
            f"  {t.context}: {', '.join(t.projects)} tied on {t.on}; "
            f"{t.winner} first (by {t.decided_by})"
        )
    lines += ["", "Steps:"]
    lines.extend(f"  {s.text}" for s in outcome.steps)
    return "\n".join(lines) + "\n"
