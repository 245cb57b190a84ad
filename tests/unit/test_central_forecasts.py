"""Central's forecaster adapter: refits happen off the hot path, on a snapshot, applied at a safe point."""

from __future__ import annotations

import math

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

    def queued(self) -> int:
        return 1000  # a long queue ahead: the forecaster must not wait for its fit


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


def test_refits_go_in_at_the_same_data_time_inline_or_in_the_background() -> None:
    # Same stream, same forecasts: a replay must raise the same forecast alerts whatever the threads did.
    inline = InlineRefitter()
    a = LibraryForecaster(STEP, 600.0, refitter=inline)
    bg = BackgroundRefitter()
    bg.start()
    try:
        b = LibraryForecaster(STEP, 600.0, refitter=bg)
        for fc in (a, b):
            _feed(fc, 80)
    finally:
        bg.stop()
    assert inline.jobs == 1 and a.refits_applied == 1 and b.refits_applied == 1 and bg.done == 1
    fa = a.forecast({"warning": 2.0}, now_s=T0 + 80 * STEP)
    fb = b.forecast({"warning": 2.0}, now_s=T0 + 80 * STEP)
    assert fa is not None and fb is not None
    assert fa.yhat == fb.yhat and fa.hi95 == fb.hi95 and fa.crossings == fb.crossings


def test_a_full_refit_queue_refuses_and_the_forecaster_tries_later() -> None:
    bg = BackgroundRefitter(max_pending=1)  # not started: the queue stays full
    first = LibraryForecaster(STEP, 600.0, refitter=bg)
    second = LibraryForecaster(STEP, 600.0, refitter=bg)
    _feed(first, 40)
    _feed(second, 40)
    assert first.refit_in_flight and not second.refit_in_flight


def test_the_week_profile_competes_only_once_it_has_seen_the_coming_times_of_day() -> None:
    fc = LibraryForecaster(60.0, 600.0, season_s=7 * 86400.0, tz="UTC")
    t0 = 1_800_000_000.0 - (1_800_000_000.0 % 86400)  # a UTC midnight
    for i in range(60):  # an hour's steady ramp on a new zone
        fc.update(t0 + 60.0 * i, 0.2 + 0.02 * i)
    f = fc.forecast({"warning": 2.0}, now_s=t0 + 3600.0)
    assert f is not None and f.model not in ("profile", "ets_profile_mean")
    assert not fc._fc.engine.profile_ready.any()  # nothing known yet about the next ten minutes of the day
    for i in range(60, 3 * 1440):  # three days of a daily rise and fall
        fc.update(t0 + 60.0 * i, 1.0 + 0.8 * math.sin(2 * math.pi * (i % 1440) / 1440))
    assert fc.forecast({"warning": 2.0}, now_s=t0 + 3 * 86400.0) is not None
    assert fc._fc.engine.profile_ready.all()
