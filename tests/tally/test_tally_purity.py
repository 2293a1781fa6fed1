"""``pb.tally`` imports only the standard library and itself, so auditors can trust it alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from conftest import REPO

TALLY = REPO / "pb" / "tally"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.add(node.module or "")
    return names


def test_tally_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(TALLY.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "pb":
                assert name == "pb.tally" or name.startswith("pb.tally."), (path.name, name)
            else:
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


def test_modules_stay_small() -> None:
    for path in TALLY.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 450, path.name
