"""Where the tally tests find their files (a module of its own: test modules import it; a
``conftest`` is not importable by name when several test folders have one)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "pabulib"
DUPLICATES = REPO / "tests" / "data" / "pabulib-duplicates"
SHARED = Path(os.environ.get("PB_PABULIB_DIR") or REPO.parent / "shared" / "pabulib")
"""The fifteen samples of ../shared/pabulib (or $PB_PABULIB_DIR), Łódź 2022 among them; the
tests that need them skip when the folder is not there."""
LODZ = SHARED / "Poland_Lodz_2022.pb"
