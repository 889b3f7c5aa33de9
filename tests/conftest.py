"""Shared pytest fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest


# === real-data fixtures (tests/test_real_data.py) ==================================================
# The shared data sits next to the repository checkout: <checkout>/../shared/data.

SHARED_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def label_errors_dir() -> Path:
    """Folder of the real label-error datasets (mnist, cifar10, imdb, 20news); skips if absent."""
    folder = SHARED_DATA_DIR / "label-errors"
    if not folder.is_dir():
        pytest.skip(f"real label-error data not found at {folder}")
    return folder


# === end of real-data fixtures =====================================================================
