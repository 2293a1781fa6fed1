"""Dependencies point one way: web → services → models, and the pure packages stay pure:
``pb.tally`` imports only the standard library and itself, ``pb.audit`` only that and
``pb.tally`` (auditors run them with nothing else installed)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PB = Path(__file__).resolve().parents[1] / "pb"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            names.add(node.module or "")
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize(
    "package, allowed",
    [
        ("tally", ("pb.tally",)),
        ("audit", ("pb.tally", "pb.audit")),
    ],
)
def test_pure_packages_import_only_the_standard_library(
    package: str, allowed: tuple[str, ...]
) -> None:
    modules = sorted((PB / package).glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        for name in imports(path):
            top = name.split(".")[0]
            if top == "pb":
                assert within(name, allowed), (path.name, name)
            else:
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


def test_geo_needs_no_gis_library() -> None:
    """pb.geo (GeoJSON checks, the map's projection) uses the standard library, pb's errors and
    its translations: no shapely, no GDAL, no database, no web."""
    modules = sorted((PB / "geo").glob("*.py"))
    assert len(modules) >= 3
    for path in modules:
        for name in imports(path):
            top = name.split(".")[0]
            if top == "pb":
                assert within(name, ("pb.geo", "pb.errors", "pb.i18n")), (path.name, name)
            else:
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


@pytest.mark.parametrize("module", ["offline.py", "auditool.py"])
def test_the_auditors_tool_stays_pure(module: str) -> None:
    """pb-audit.pyz holds pb/__init__.py and pb/offline.py beside pb.tally and pb.audit, and
    pb.auditool builds it from a checkout with nothing installed: standard library only."""
    for name in imports(PB / module):
        top = name.split(".")[0]
        if top == "pb":
            assert name == "pb" or within(name, ("pb.tally", "pb.audit")), (module, name)
        else:
            assert top in sys.stdlib_module_names or top == "__future__", (module, name)


def test_the_package_itself_imports_nothing() -> None:
    # `import pb` runs before every tally and audit, in the zipapp too: keep it a version string.
    assert imports(PB / "__init__.py") == set()


@pytest.mark.parametrize("package", ["tally", "audit"])
def test_pure_modules_stay_small(package: str) -> None:
    for path in (PB / package).glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 450, path.name


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("models", ("pb.services", "pb.web", "pb.cli")),
        ("services", ("pb.web", "pb.cli", "pb.mail")),
        ("mail", ("pb.web", "pb.cli")),
        ("services/funding", ("pb.web", "pb.cli", "pb.mail")),
        ("services/tracking", ("pb.web", "pb.cli", "pb.mail")),
    ],
)
def test_layers_point_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    modules = sorted((PB / package).rglob("*.py"))
    assert modules
    for path in modules:
        for name in imports(path):
            assert not within(name, forbidden), (path.name, name)
