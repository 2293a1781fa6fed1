"""``pb-audit.pyz``: the auditor's tool, a zipapp of ``pb.tally`` and ``pb.audit``.

Auditors run ``python3 pb-audit.pyz audit BUNDLE.zip`` (or ``tally FILE.pb``) with nothing
installed but Python >= 3.11; :mod:`pb.offline` makes it behave exactly like ``pb audit`` and
``pb tally``. The zipapp holds the source of ``pb/__init__.py`` (the version), ``pb/offline.py``,
every module of ``pb/tally`` and ``pb/audit``, and a short ``__main__.py``; all of it is
standard library only, so nothing else is needed.

**Reproducible.** Whoever builds it from the same source gets the same bytes, so the SHA-256 a
results page prints can be checked by rebuilding it from a checkout (``python3 -m pb.auditool
OUT``, standard library only, no install). To that end:

* members are sorted by name, dated 1980-01-01 00:00:00 (the zip format's epoch), marked as
  Unix regular files with mode 0644, and carry no extra fields;
* they are *stored*, not compressed: DEFLATE output depends on the zlib build (zlib-ng, which
  some distributions ship, compresses differently from zlib), and the digest must not;
* sources are read as bytes with ``\\r\\n`` turned into ``\\n`` (a Windows checkout gives the
  same file), and no bytecode goes in (it depends on the Python version);
* the first line is the fixed shebang ``#!/usr/bin/env python3``.

The web app serves the file at :data:`URL` (built on first request, then cached) and prints its
digest beside the download link on every published results page.
"""

from __future__ import annotations

import functools
import hashlib
import io
import stat
import sys
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

FILENAME = "pb-audit.pyz"
URL = f"/audit/{FILENAME}"
MEDIA_TYPE = "application/zip"  # a zip file with a shebang line before it, as zip readers allow
SHEBANG = b"#!/usr/bin/env python3\n"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
MAIN = b"""\
# pb-audit: pb's offline audit and tally (pb.audit, pb.tally); standard library only.
import sys

if sys.version_info < (3, 11):
    sys.stderr.write("pb-audit: needs Python 3.11 or later\\n")
    sys.exit(2)
from pb.offline import main

sys.exit(main())
"""
PACKAGES = ("tally", "audit")  # every .py module of these subpackages of pb goes in
MODULES = ("__init__.py", "offline.py")  # and these modules of pb itself


@dataclass(frozen=True)
class AuditTool:
    """The zipapp's bytes and their lowercase hex SHA-256."""

    data: bytes
    sha256: str


def _source(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def members() -> list[tuple[str, bytes]]:
    """The ``(name, bytes)`` of every member, sorted by name."""
    pb_root = resources.files("pb")
    found = [("__main__.py", MAIN)]
    found += [(f"pb/{name}", _source((pb_root / name).read_bytes())) for name in MODULES]
    for package in PACKAGES:
        for entry in (pb_root / package).iterdir():
            if entry.name.endswith(".py") and entry.is_file():
                found.append((f"pb/{package}/{entry.name}", _source(entry.read_bytes())))
    return sorted(found)


def build() -> AuditTool:
    """Build the zipapp in memory (deterministically: see the module docstring)."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so that the mode below means what it says
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    data = buffer.getvalue()
    return AuditTool(data, hashlib.sha256(data).hexdigest())


@functools.cache
def cached() -> AuditTool:
    """The zipapp of the running pb, built once per process."""
    return build()


def write(path: Path) -> AuditTool:
    """Build the zipapp into ``path`` (made executable: it starts with a shebang line)."""
    tool = build()
    path.write_bytes(tool.data)
    path.chmod(0o755)
    return tool


def main(argv: list[str] | None = None) -> int:
    """``python3 -m pb.auditool OUT``: write the zipapp to OUT and print its SHA-256."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python3 -m pb.auditool OUT.pyz", file=sys.stderr)
        return 0 if args in (["-h"], ["--help"]) else 2
    path = Path(args[0])
    try:
        tool = write(path)
    except OSError as exc:
        print(f"pb: {path}: cannot write the file: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{tool.sha256}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
