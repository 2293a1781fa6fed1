"""The demo town's words in each language: districts, categories, proposals, rounds and the
crowdfunding calls, as data in ``pb/demo_texts/<locale>.json`` (not gettext messages: they are
a town's content, which the catalogs do not translate).

Every file has the shape of ``en.json``: the same keys, lists of the same lengths, no empty text.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from pb.errors import PbError

TEXTS_DIR = Path(__file__).resolve().parent.parent / "demo_texts"
LOCALES = ("en", "fr", "es", "it", "el", "pl")


class DemoTextsError(PbError):
    """A demo language pb has no texts for, or a texts file of the wrong shape."""


@functools.cache
def load(locale: str) -> dict[str, Any]:
    """The demo texts of ``locale``, checked against the English ones."""
    if locale not in LOCALES:
        raise DemoTextsError(f"no demo texts in {locale!r}: choose one of {', '.join(LOCALES)}")
    texts = _read(locale)
    if locale != "en":
        problem = _shape_problem(_read("en"), texts, locale)
        if problem:
            raise DemoTextsError(problem)
    return texts


def _read(locale: str) -> dict[str, Any]:
    path = TEXTS_DIR / f"{locale}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DemoTextsError(f"cannot read the demo texts {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DemoTextsError(f"{path}: the demo texts must be a JSON object")
    return data


def _shape_problem(model: Any, texts: Any, where: str) -> str | None:
    """Where ``texts`` differs in shape from ``model``, or None."""
    if isinstance(model, dict):
        if not isinstance(texts, dict) or set(texts) != set(model):
            return f"{where}: expected the keys {sorted(model)}"
        for key in model:
            problem = _shape_problem(model[key], texts[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(model, list):
        if not isinstance(texts, list) or len(texts) != len(model):
            return f"{where}: expected a list of {len(model)}"
        for n, (m, t) in enumerate(zip(model, texts, strict=True)):
            problem = _shape_problem(m, t, f"{where}[{n}]")
            if problem:
                return problem
        return None
    if not isinstance(texts, str) or not texts.strip():
        return f"{where}: expected a text"
    return None
