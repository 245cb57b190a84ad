"""Fixtures shared by every test: the shared data folder and a real Mosquitto broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import MosquittoBroker, find_mosquitto

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROWD_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that need it skip cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A fresh real Mosquitto broker on a free port; the test may stop and restart it."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    b = MosquittoBroker(tmp_path / "mosquitto")
    b.start()
    try:
        yield b
    finally:
        b.stop()
