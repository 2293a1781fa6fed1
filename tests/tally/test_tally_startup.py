"""``pb tally`` and ``pb audit`` start without the web or database stack.

The ``pb`` command dispatches them before anything else of pb is imported, so their start-up is
Python's plus the pure packages' (and an auditor's machine needs nothing more). Checked in a
fresh interpreter, where nothing was imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tally_paths import DATA, REPO

HEAVY = ("sqlalchemy", "starlette", "jinja2", "jinja2_fragments", "babel", "alembic", "uvicorn")
PROBE = """
import json, sys
from pb.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def run_pb(*args: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.splitlines()[-1])
    return report["status"], report["modules"], done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("tally", str(DATA / "Netherlands_Assen_2024.pb"), "--format", "json"),
        ("tally", str(DATA / "Poland_Katowice_2024_Bogucice.pb")),
        ("audit", str(DATA / "no-such-bundle.zip")),
    ],
    ids=["tally-json", "tally-text", "audit"],
)
def test_offline_commands_import_no_web_or_database_package(args: tuple[str, ...]) -> None:
    status, modules, out = run_pb(*args)
    assert status == (2 if args[0] == "audit" else 0)
    if args[0] == "tally":
        assert out.startswith("{") or "Rule: greedy-threshold" in out
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    pb_modules = {m for m in modules if m == "pb" or m.startswith("pb.")}
    allowed = ("pb.tally", "pb.audit", "pb.cli", "pb.clock", "pb.errors", "pb.offline")
    assert all(m == "pb" or m.startswith(allowed) for m in pb_modules), sorted(pb_modules)
