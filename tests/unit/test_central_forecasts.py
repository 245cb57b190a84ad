"""Central's forecaster adapter: refits happen off the hot path, on a snapshot, applied at a safe point."""

from __future__ import annotations

import math
import threading

import numpy as np

from central.forecasts import (
    RETRY_AFTER_READINGS,
    BackgroundRefitter,
    InlineRefitter,
    LibraryForecaster,
    RefitJob,
    RefitResult,
    run_refit,
)

T0 = 1_800_000_000.0
STEP = 10.0


class HeldRefitter:
    """Keeps the jobs until the test runs them, like a busy background thread."""

    def __init__(self) -> None:
        self.jobs: list[RefitJob] = []

    def submit(self, job: RefitJob) -> bool:
        self.jobs.append(job)
        return True


def _feed(fc: LibraryForecaster, n: int, start: int = 0, flat: bool = False) -> None:
    for i in range(start, start + n):
        fc.update(T0 + i * STEP, 0.8 if flat else 0.8 + 0.4 * math.sin(i / 15.0) + 0.01 * (i % 7))


def test_the_library_never_refits_inline_and_the_profile_is_on() -> None:
    fc = LibraryForecaster(STEP, 600.0, season_s=7 * 86400.0, tz="Europe/Zurich", refitter=None)
    assert fc._fc.auto_refit is False
    assert fc._fc.season is not None and fc._fc.season.season_s == 7 * 86400.0
    _feed(fc, 400)
    # Without a refitter nothing fits: the refit stays due instead of stalling an update for 0.1-0.8 s.
    assert fc._fc.refit_due and fc.refits_applied == 0
    assert fc.forecast({"warning": 2.0}, now_s=T0 + 400 * STEP) is not None


def test_a_due_refit_goes_out_once_on_a_snapshot_and_lands_at_the_next_update() -> None:
    held = HeldRefitter()
    fc = LibraryForecaster(STEP, 600.0, refitter=held)
    _feed(fc, 29)
    assert held.jobs == []  # too little history for a fit
    _feed(fc, 40, start=29)
    assert len(held.jobs) == 1 and fc.refit_in_flight  # not resubmitted while one is in flight
    job = held.jobs[0]
    snapshot = job.values.copy()
    _feed(fc, 20, start=69)
    np.testing.assert_array_equal(job.values, snapshot)  # the forecaster's later updates do not touch it
    assert fc._fc.refit_due and fc.refits_applied == 0

    result = run_refit(job)
    assert result.damped is not None
    job.deliver(result)  # (on the refit thread in production: only parks it)
    assert fc.refits_applied == 0
    _feed(fc, 1, start=89)  # the safe point: the owner's next update
    assert fc.refits_applied == 1 and not fc.refit_in_flight and not fc._fc.refit_due


def test_a_failed_fit_is_retried_only_after_more_readings() -> None:
    held = HeldRefitter()
    fc = LibraryForecaster(STEP, 600.0, refitter=held)
    _feed(fc, 40, flat=True)
    assert len(held.jobs) == 1
    held.jobs[0].deliver(RefitResult(None, None))
    _feed(fc, RETRY_AFTER_READINGS - 1, start=40, flat=True)
    assert len(held.jobs) == 1 and fc.refits_applied == 0
    _feed(fc, 2, start=40 + RETRY_AFTER_READINGS - 1, flat=True)
    assert len(held.jobs) == 2


def test_inline_twin_and_background_thread_both_install_a_refit() -> None:
    inline = InlineRefitter()
    a = LibraryForecaster(STEP, 600.0, refitter=inline)
    _feed(a, 60)
    _feed(a, 1, start=60)
    assert inline.jobs == 1 and a.refits_applied == 1

    bg = BackgroundRefitter()
    bg.start()
    try:
        b = LibraryForecaster(STEP, 600.0, refitter=bg)
        _feed(b, 60)
        assert b.refit_in_flight
        done = threading.Event()
        for _ in range(600):
            if bg.done:
                done.set()
                break
            done.wait(0.05)
        assert done.is_set(), "the background refit never finished"
        _feed(b, 1, start=60)
    finally:
        bg.stop()
    assert b.refits_applied == 1 and not b._fc.refit_due


def test_a_full_refit_queue_refuses_and_the_forecaster_tries_later() -> None:
    bg = BackgroundRefitter(max_pending=1)  # not started: the queue stays full
    first = LibraryForecaster(STEP, 600.0, refitter=bg)
    second = LibraryForecaster(STEP, 600.0, refitter=bg)
    _feed(first, 40)
    _feed(second, 40)
    assert first.refit_in_flight and not second.refit_in_flight
