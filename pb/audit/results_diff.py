"""Naming where two results documents differ: ``district 'north', field 'selected'``.

A changed ballot moves many numbers at once (scores, the funded list, every explanation step
after it), so the description leads with what matters: per district, one line naming every
top-level field that differs, then the differences in the most telling fields first
(``selected``, ``spent``, ``leftover``, ``turnout``, ``projects``...), a few per district.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe_difference", "differences"]

Path = tuple[str | int, ...]

_SHOWN = 60
DETAILS_PER_DISTRICT = 4
"""At most this many detailed differences are described per district."""

_PRIORITY = (
    "selected",
    "spent",
    "leftover",
    "budget",
    "turnout",
    "projects",
    "rule",
    "tie_break",
    "details",
    "ties",
    "steps",
)


def differences(published: Any, recomputed: Any, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """Every place where the two JSON values differ, as ``(path, published, recomputed)``; a
    path is the keys and list indexes leading there. Lists of different lengths differ as a
    whole."""
    if isinstance(published, dict) and isinstance(recomputed, dict):
        found = []
        for key in sorted(set(published) | set(recomputed)):
            found.extend(differences(published.get(key), recomputed.get(key), (*path, key)))
        return found
    if (
        isinstance(published, list)
        and isinstance(recomputed, list)
        and len(published) == len(recomputed)
    ):
        found = []
        for n, (a, b) in enumerate(zip(published, recomputed, strict=True)):
            found.extend(differences(a, b, (*path, n)))
        return found
    same = published == recomputed and type(published) is type(recomputed)
    return [] if same else [(path, published, recomputed)]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _dotted(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _rank(path: Path) -> tuple[int, Path]:
    top = path[0] if path else ""
    order = _PRIORITY.index(top) if top in _PRIORITY else len(_PRIORITY)
    return order, path


def describe_difference(published: Any, recomputed: Any) -> list[str]:
    """Sentences saying where the published results differ from the re-tally (module
    docstring); empty when they are equal."""
    found = differences(published, recomputed)
    lines: list[str] = []
    by_district: dict[str, list[tuple[Path, Any, Any]]] = {}
    for path, a, b in found:
        if len(path) >= 3 and path[0] == "districts":
            by_district.setdefault(str(path[1]), []).append((path[2:], a, b))
        else:
            where = _dotted(path) or "(the whole document)"
            lines.append(f"field {where!r}: published {_shown(a)}, re-tally {_shown(b)}")
    for district, diffs in by_district.items():
        fields = sorted({str(p[0]) for p, _, _ in diffs})
        lines.append(f"district {district!r}: {', '.join(fields)} differ")
        ranked = sorted(diffs, key=lambda d: _rank(d[0]))
        for path, a, b in ranked[:DETAILS_PER_DISTRICT]:
            lines.append(
                f"district {district!r}, field {_dotted(path)!r}: "
                f"published {_shown(a)}, re-tally {_shown(b)}"
            )
        if len(ranked) > DETAILS_PER_DISTRICT:
            lines.append(
                f"district {district!r}: {len(ranked) - DETAILS_PER_DISTRICT} more difference(s)"
            )
    return lines
