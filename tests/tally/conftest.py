"""Fixtures for the tally tests: where the real pabulib files are."""

from __future__ import annotations

from pathlib import Path

import pytest
from tally_paths import DATA, DUPLICATES, LODZ, REPO, SHARED  # noqa: F401


@pytest.fixture
def lodz_path() -> Path:
    """The large Łódź 2022 file, read from ../shared/pabulib; skips when it is not there."""
    if not LODZ.exists():
        pytest.skip(f"the Łódź 2022 file is not at {LODZ} (too large to keep in the repository)")
    return LODZ
