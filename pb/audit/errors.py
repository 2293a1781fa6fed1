"""The exceptions of the audit package: one small hierarchy, caught at the edge (the CLI).

* :class:`ConfigError`: a locked round configuration that does not follow the contract
  (see ``docs/audit.md``);
* :class:`RecordError`: a ballot-log record that cannot be built or read (bad types or values);
* :class:`BundleError`: a ballot bundle that cannot be read at all (not a zip, no manifest,
  malformed JSON, an unreadable ``.pb``). ``pb audit`` exits with status 2 on it; problems found
  in a bundle that *can* be read are reported instead (status 1).
"""

from __future__ import annotations

__all__ = ["AuditError", "BundleError", "ConfigError", "RecordError"]


class AuditError(Exception):
    """Base class of every error the audit package raises on bad input."""


class ConfigError(AuditError, ValueError):
    """A locked round configuration that breaks the contract; the message names the field."""


class RecordError(AuditError, ValueError):
    """A ballot-log record with a wrong type or value; the message names the field."""


class BundleError(AuditError):
    """A bundle that cannot be read. ``member`` names the file inside the zip, when there is one."""

    def __init__(self, problem: str, member: str | None = None) -> None:
        self.problem = problem
        self.member = member
        super().__init__(problem if member is None else f"{member}: {problem}")
