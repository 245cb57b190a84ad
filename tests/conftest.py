"""Fixtures shared by every test: the shared data folder and a real Mosquitto broker.

Outside CI a machine without Mosquitto, PostgreSQL, Chromium or the shared data skips the tests that need
them. With `CI=true` every skip is a failure instead (see `pytest_runtest_makereport`), so a green CI run
means every test ran: the summary shows 0 skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import MosquittoBroker, find_mosquitto

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI") == "true"
SHARED_DATA = Path(os.environ.get("CROWD_SHARED_DATA", REPO.parent / "shared" / "data"))


def _ci_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a skip (a missing broker, database, browser, data set or tool) fails the test."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        _ci_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped at import (`pytest.importorskip`)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if CI and report.skipped:
        _ci_failure(report)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that need it skip cleanly where it is absent (fail under CI=true)."""
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
