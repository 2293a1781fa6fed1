"""Fixtures for the audit tests: synthetic rounds and their ballot bundles."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the builders module sits beside the tests
    sys.path.insert(0, str(HERE))

from audit_builders import Round, bundle_bytes, make_round  # noqa: E402

KINDS = ("approval", "knapsack", "quadratic", "cumulative")


@pytest.fixture(params=KINDS)
def any_round(request: pytest.FixtureRequest) -> Round:
    """A synthetic round of each voting method (3 districts, 30-200 ballots)."""
    return make_round(seed=KINDS.index(request.param) + 11, kind=request.param)


@pytest.fixture
def approval_round() -> Round:
    return make_round(seed=5, kind="approval")


@pytest.fixture
def bundle_path(tmp_path: Path, approval_round: Round) -> Path:
    """A good approval bundle written to a temporary file."""
    path = tmp_path / "round-7.zip"
    path.write_bytes(bundle_bytes(approval_round))
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes], Path]:
    """Write bytes to a fresh file in the temporary directory and return its path."""
    counter = iter(range(1_000_000))

    def _write(data: bytes) -> Path:
        path = tmp_path / f"bundle-{next(counter)}.zip"
        path.write_bytes(data)
        return path

    return _write
