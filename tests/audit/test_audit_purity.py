"""``pb.audit`` imports only the standard library, ``pb.tally`` and itself: auditors run it
with nothing else installed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

AUDIT = Path(__file__).resolve().parents[2] / "pb" / "audit"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.add(node.module or "")
    return names


def test_audit_imports_only_the_standard_library_tally_and_itself() -> None:
    modules = sorted(AUDIT.glob("*.py"))
    assert len(modules) > 8
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "pb":
                allowed = ("pb.tally", "pb.audit")
                assert name in allowed or name.startswith(tuple(f"{a}." for a in allowed)), (
                    path.name,
                    name,
                )
            else:
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


def test_modules_stay_small() -> None:
    for path in AUDIT.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 400, path.name
