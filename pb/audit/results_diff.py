"""Naming where two results documents differ: ``district 'north', field 'selected'``."""

from __future__ import annotations

from typing import Any

__all__ = ["describe_difference", "differences"]

_SHOWN = 60


def differences(
    published: Any, recomputed: Any, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Any, Any]]:
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


def _place(path: tuple[str | int, ...]) -> str:
    if len(path) >= 2 and path[0] == "districts":
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[2:])
        field = rest.lstrip(".") or "(the whole district)"
        return f"district {path[1]!r}, field {field!r}"
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return f"field {text or '(the whole document)'!r}"


def describe_difference(published: Any, recomputed: Any) -> list[str]:
    """One sentence per difference: where, what was published, what the re-tally gives."""
    return [
        f"{_place(path)}: published {_shown(a)}, re-tally {_shown(b)}"
        for path, a, b in differences(published, recomputed)
    ]
