"""pb's exceptions: one small hierarchy, caught at the edges (web, CLI) and turned into messages."""

from __future__ import annotations


class PbError(Exception):
    """Base of every error pb raises on purpose."""


class ConfigError(PbError):
    """A setting is missing or malformed."""


class ValidationError(PbError):
    """User input is invalid. ``errors`` maps a field name (or ``""``) to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
        self.errors = errors


class NotFound(PbError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class Forbidden(PbError):
    """The asker may not do this."""


class Throttled(PbError):
    """Too many failed attempts; try again later."""


class BadToken(PbError):
    """A signed link that cannot be used: ``reason`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
