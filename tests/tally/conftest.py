"""Fixtures for the tally tests: where the real pabulib files are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "pabulib"
LODZ = REPO.parent / "shared" / "pabulib" / "Poland_Lodz_2022.pb"


@pytest.fixture
def lodz_path() -> Path:
    """The large Łódź 2022 file, read from ../shared/pabulib; skips when it is not there."""
    if not LODZ.exists():
        pytest.skip(f"the Łódź 2022 file is not at {LODZ} (too large to keep in the repository)")
    return LODZ
