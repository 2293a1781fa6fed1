"""Fixtures for the tally tests: where the real pabulib files are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "pabulib"
DUPLICATES = REPO / "tests" / "data" / "pabulib-duplicates"
SHARED = Path(os.environ.get("PB_PABULIB_DIR") or REPO.parent / "shared" / "pabulib")
"""The fifteen samples of ../shared/pabulib (or $PB_PABULIB_DIR), Łódź 2022 among them; the
tests that need them skip when the folder is not there."""
LODZ = SHARED / "Poland_Lodz_2022.pb"


@pytest.fixture
def lodz_path() -> Path:
    """The large Łódź 2022 file, read from ../shared/pabulib; skips when it is not there."""
    if not LODZ.exists():
        pytest.skip(f"the Łódź 2022 file is not at {LODZ} (too large to keep in the repository)")
    return LODZ
