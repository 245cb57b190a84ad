"""One example of each message, shared by docs/mqtt.md, the tests and the benchmarks."""

from __future__ import annotations

from contract.central_messages import (
    AlertMessage,
    AuditEntry,
    DeadLetterMessage,
    ForecastCrossing,
    ForecastMessage,
    PatrolRef,
)
from contract.edge_messages import (
    CommandMessage,
    LineCounts,
    SnapshotMessage,
    StatsMessage,
    StatusMessage,
    ZoneMetricsMessage,
)
from contract.patrol_messages import PatrolLocationMessage

T0 = 1_700_000_000.0

STATUS = StatusMessage(site="north", camera="cam-1", state="online", version="0.1.0", started_at=T0, at=T0 + 2)

ZONE_METRICS = ZoneMetricsMessage(
    site="north",
    camera="cam-1",
    zone="crossing",
    seq=41,
    measured_at=T0 + 61,
    frame_start=420,
    frame_end=426,
    t_start=60.0,
    t_end=61.0,
    count=4.43,
    count_max=5,
    area_m2=120.0,
    density=0.0369,
    speed_p50=1.02,
    speed_p85=1.31,
    los="A",
    stale=False,
    direction_deg=87.5,
    inflow=1,
    outflow=0,
    speed_source="tracks",
    lines={"gate": LineCounts.model_validate({"in": 1, "out": 0})},
)

STATS = StatsMessage(
    site="north",
    camera="cam-1",
    at=T0 + 600,
    capture_fps=7.0,
    processed_fps=7.0,
    frames_dropped=0,
    frames_skipped=0,
    detector_ms=38.5,
    source_reconnects_1h=0,
    broker_reconnects_1h=1,
    buffered_messages=0,
    queue_dropped=0,
    cpu_percent=85.0,
)

COMMAND = CommandMessage(command="status", request_id="console-7")

SNAPSHOT_COMMAND = CommandMessage(command="snapshot", request_id="snap-3f9c2a")

# A real reply carries a JPEG of tens of kilobytes; the example's is cut short for the docs.
SNAPSHOT = SnapshotMessage(
    site="north",
    camera="cam-1",
    request_id="snap-3f9c2a",
    status="ok",
    reason=None,
    retry_after_s=None,
    taken_at=T0 + 61,
    width=640,
    height=360,
    blurred=True,
    jpeg="/9j/4AAQSkZJRgABAQAAAQABAAD...",
)

SNAPSHOT_REFUSED = SnapshotMessage(
    site="north",
    camera="cam-1",
    request_id="snap-3f9c2b",
    status="refused",
    reason="one snapshot per 10 s per camera",
    retry_after_s=7.5,
    taken_at=None,
    width=None,
    height=None,
    blurred=None,
    jpeg=None,
)

ALERT = AlertMessage(
    event="new",
    id="plaza.forecast.1700000000",
    site="north",
    zone="plaza",
    kind="forecast",
    level="warning",
    state="open",
    opened_at=T0,
    updated_at=T0,
    value=0.82,
    threshold=2.0,
    expected_crossing_at=T0 + 420,
    probability=0.82,
    message="forecast: 82% chance to cross 2 persons/m² around 22:20Z",
    patrols=[PatrolRef(id="alice", distance_m=140.0, eta_s=100.0, stale=False)],
    history=[AuditEntry(at=T0, action="opened", by="system", detail="warning")],
)

FORECAST = ForecastMessage(
    site="north",
    zone="plaza",
    origin=T0,
    step_s=60.0,
    times=[T0 + 60, T0 + 120, T0 + 180],
    yhat=[1.62, 1.71, 1.8],
    lo80=[1.41, 1.45, 1.49],
    hi80=[1.83, 1.97, 2.11],
    lo95=[1.3, 1.31, 1.33],
    hi95=[1.94, 2.11, 2.27],
    model="ets",
    crossings=[
        ForecastCrossing(name="warning", threshold=2.0, probability=0.31, expected_time=None),
        ForecastCrossing(name="critical", threshold=3.0, probability=0.0, expected_time=None),
    ],
)

PATROL_LOCATION = PatrolLocationMessage.model_validate(
    {"schema": "crowd.patrol_location/1", "lat": 47.37, "lon": 8.54, "acc_m": 6.0, "at": T0, "name": "Alice"}
)

DEAD_LETTER = DeadLetterMessage(
    topic="crowd/v1/north/cam-1/zones/crossing/metrics",
    reason="invalid: density: Input should be greater than or equal to 0",
    payload='{"schema": "crowd.zone_metrics/1", "density": -1}',
    payload_bytes=47,
    at=T0 + 62,
    worker=0,
)
