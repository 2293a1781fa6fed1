"""The locked round configuration: the contract between the web app and the audit.

When voting opens the web app freezes the rules of a round into one JSON object (the shape is
documented in ``docs/audit.md``; :func:`check_config` enforces it)::

    {"round": {"id": "7", "title": "...", "currency": "EUR"},
     "method": {"kind": "approval", "min_choices": 1, "max_choices": 3,
                "credits": null, "points": null, "max_per_project": null},
     "rule": "greedy", "min_project_score_threshold": null,
     "tie_break": "lower-cost,higher-score,natural-id",
     "districts": [{"key": "citywide", "name": "...", "budget": 100000,
                    "projects": [{"id": "12", "title": "...", "cost": 25000}]}]}

Money (``budget``, ``cost``) is in integer minor units (cents). Its SHA-256
(:func:`config_sha256`, over :func:`pb.audit.canonical.canonical_bytes`) is the first record of
the ballot log, so the rules cannot change once the first ballot is chained.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pb.audit.canonical import canonical_bytes, sha256_hex
from pb.audit.errors import ConfigError
from pb.tally import RULES, RuleError, TieBreak

__all__ = [
    "DISTRICT_KEY",
    "METHOD_KINDS",
    "check_config",
    "config_sha256",
    "district_config",
    "tie_break_of",
]

METHOD_KINDS = ("approval", "knapsack", "quadratic", "cumulative")
"""The voting methods a round may use (see DESIGN.md, "Voting methods")."""

DISTRICT_KEY = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")
"""A district key is a slug: it names the file ``districts/<key>.pb`` in the bundle."""

PROJECT_ID = re.compile(r"[^\s,;\"]{1,64}")
"""A project id has no space, comma, semicolon or quote (it is written in pabulib votes)."""

_TYPE_WORDS = {"str": "a string", "dict": "an object", "list": "a list"}
_METHOD_LIMITS = ("min_choices", "max_choices", "credits", "points", "max_per_project")


def _field(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise ConfigError(f"{where} has no {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        expected = _TYPE_WORDS.get(kind.__name__, kind.__name__)
        raise ConfigError(f"{where}.{key} is {value!r}, expected {expected}")
    return value


def _count(obj: Mapping[str, Any], key: str, where: str, *, optional: bool) -> int | None:
    if key not in obj:
        hint = " (write null when there is none)" if optional else ""
        raise ConfigError(f"{where} has no {key!r}{hint}")
    value = obj[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}.{key} is {value!r}, expected a whole number >= 0")
    return value


def _check_method(method: Any) -> None:
    if not isinstance(method, dict):
        raise ConfigError("config.method is not an object")
    kind = method.get("kind")
    if kind not in METHOD_KINDS:
        raise ConfigError(f"config.method.kind is {kind!r}, expected one of {METHOD_KINDS}")
    for key in _METHOD_LIMITS:
        _count(method, key, "config.method", optional=True)
    if kind == "quadratic" and method["credits"] is None:
        raise ConfigError("config.method.credits is required for quadratic voting")
    if kind == "cumulative" and method["points"] is None:
        raise ConfigError("config.method.points is required for cumulative voting")


def _check_district(district: Any, n: int) -> str:
    where = f"config.districts[{n}]"
    if not isinstance(district, dict):
        raise ConfigError(f"{where} is not an object")
    key = _field(district, "key", str, where)
    if not DISTRICT_KEY.fullmatch(key):
        raise ConfigError(f"{where}.key is {key!r}, expected a slug like 'citywide' or 'north-2'")
    _field(district, "name", str, where)
    _count(district, "budget", where, optional=False)
    projects = _field(district, "projects", list, where)
    seen: set[str] = set()
    for m, project in enumerate(projects):
        pwhere = f"{where}.projects[{m}]"
        if not isinstance(project, dict):
            raise ConfigError(f"{pwhere} is not an object")
        pid = _field(project, "id", str, pwhere)
        if not PROJECT_ID.fullmatch(pid):
            raise ConfigError(f"{pwhere}.id is {pid!r}, expected no spaces, ',', ';' or '\"'")
        if pid in seen:
            raise ConfigError(f"{pwhere}.id {pid!r} appears twice in district {key!r}")
        seen.add(pid)
        _field(project, "title", str, pwhere)
        _count(project, "cost", pwhere, optional=False)
    return str(key)


def check_config(config: Any) -> None:
    """Raise :class:`ConfigError` naming the first field of ``config`` that breaks the contract
    (module docstring): a missing key, a wrong type, an unknown method, rule or tie-break
    criterion, a repeated district key or project id, a float anywhere."""
    if not isinstance(config, dict):
        raise ConfigError("the config is not a JSON object")
    try:
        canonical_bytes(config)
    except TypeError as exc:
        raise ConfigError(f"config: {exc}") from None
    round_ = _field(config, "round", dict, "config")
    for key in ("id", "title", "currency"):
        _field(round_, key, str, "config.round")
    _check_method(config.get("method"))
    rule = _field(config, "rule", str, "config")
    if rule not in RULES:
        raise ConfigError(f"config.rule is {rule!r}, expected one of {', '.join(RULES)}")
    threshold = _count(config, "min_project_score_threshold", "config", optional=True)
    if rule == "greedy-threshold" and threshold is None:
        raise ConfigError("config.min_project_score_threshold is required for greedy-threshold")
    tie_break_of(config)
    districts = _field(config, "districts", list, "config")
    if not districts:
        raise ConfigError("config.districts is empty")
    keys = [_check_district(d, n) for n, d in enumerate(districts)]
    if len(set(keys)) != len(keys):
        raise ConfigError("config.districts repeats a key")


def tie_break_of(config: Mapping[str, Any]) -> TieBreak:
    """The tie-break the config records (``config["tie_break"]``, criteria separated by commas,
    as :meth:`pb.tally.TieBreak.parse` reads them)."""
    text = config.get("tie_break")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"config.tie_break is {text!r}, expected criteria like 'lower-cost'")
    try:
        return TieBreak.parse(text)
    except RuleError as exc:
        raise ConfigError(f"config.tie_break: {exc}") from None


def district_config(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The district of ``config`` whose key is ``key``; :class:`ConfigError` when there is none."""
    for district in config["districts"]:
        if district["key"] == key:
            return district  # type: ignore[no-any-return]
    raise ConfigError(f"the config has no district {key!r}")


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical bytes of the locked config: what the genesis record holds."""
    return sha256_hex(canonical_bytes(config))
