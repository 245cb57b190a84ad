"""Store stage, schema: database tables (SQLAlchemy Core) and their versioned migrations.

`schema_version` holds one row per applied migration; `migrate()` applies the missing ones in order
inside a transaction (under an advisory lock on PostgreSQL, so two workers starting together do not race).
Add a migration by appending a function to MIGRATIONS; never edit an applied one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Float, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(128), nullable=False),
    Column("camera", String(128), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("zone", String(128), nullable=False),  # the site zone id (mapped from camera + edge zone)
    Column("edge_zone", String(128), nullable=False),
    Column("measured_at", Float, nullable=False),
    Column("count", Float, nullable=False),
    Column("count_max", Integer, nullable=False),
    Column("density", Float, nullable=False),
    Column("speed_p50", Float),
    Column("speed_p85", Float),
    Column("los", String(16), nullable=False),
    Column("stale", Boolean, nullable=False),
    Column("inflow", Integer, nullable=False),
    Column("outflow", Integer, nullable=False),
    Column("received_at", Float, nullable=False),
    UniqueConstraint("site", "camera", "seq", name="uq_metrics_camera_seq"),
)
Index("ix_metrics_zone_time", metrics.c.zone, metrics.c.measured_at)
Index("ix_metrics_time", metrics.c.measured_at)

forecasts = Table(
    "forecasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("zone", String(128), nullable=False),
    Column("origin", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("model", String(128), nullable=False),
    Column("body", JSON, nullable=False),  # the API's forecast object
    UniqueConstraint("zone", "origin", name="uq_forecasts_zone_origin"),
)
Index("ix_forecasts_zone_origin", forecasts.c.zone, forecasts.c.origin)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("zone", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("value", Float),
    Column("threshold", Float),
    Column("expected_crossing_at", Float),
    Column("probability", Float),
    Column("message", Text, nullable=False),
    Column("assigned_patrol", String(128)),
)
Index("ix_alerts_state", alerts.c.state)
Index("ix_alerts_zone_kind", alerts.c.zone, alerts.c.kind)

alert_audit = Table(
    "alert_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(300), nullable=False),
    Column("at", Float, nullable=False),
    Column("action", String(32), nullable=False),
    Column("by", String(64), nullable=False),
    Column("detail", Text),
)
Index("ix_alert_audit_alert", alert_audit.c.alert_id)

patrol_positions = Table(
    "patrol_positions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patrol_id", String(128), nullable=False),
    Column("name", String(128), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("acc_m", Float, nullable=False),
    Column("at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("source", String(16), nullable=False),
    UniqueConstraint("patrol_id", "at", name="uq_patrol_positions_patrol_at"),
)
Index("ix_patrol_positions_at", patrol_positions.c.at)

cameras = Table(
    "cameras",
    metadata,
    Column("site", String(128), primary_key=True),
    Column("camera", String(128), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("last_seen", Float),
    Column("processed_fps", Float),
    Column("capture_fps", Float),
    Column("updated_at", Float, nullable=False),
)

# One row per worker (key "index/count"): every metrics row with an id up to `metric_id` has been evaluated
# (rules and forecasts). A restart resumes after it, so rows stored but not evaluated are not skipped.
eval_cursor = Table(
    "eval_cursor",
    metadata,
    Column("worker", String(32), primary_key=True),
    Column("metric_id", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)


# Who asked for a picture of which camera, when, and what came of it (issue 16: pixels leave the edge only on
# an operator's request, and every request is accounted for). Written by central/snapshot_api.py.
snapshot_audit = Table(
    "snapshot_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("by", String(64), nullable=False),
    Column("site", String(128), nullable=False),
    Column("camera", String(128), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text),
)
Index("ix_snapshot_audit_at", snapshot_audit.c.at)


def _v1(conn: Connection) -> None:
    for table in (metrics, forecasts, alerts, alert_audit, patrol_positions, cameras):
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    eval_cursor.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    snapshot_audit.create(conn, checkfirst=True)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3]


def migrate(engine: Engine, now_s: float) -> int:
    """Bring the database to the latest version; returns it."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        schema_version.create(conn, checkfirst=True)
        applied = {row[0] for row in conn.execute(select(schema_version.c.version))}
        for version, step in enumerate(MIGRATIONS, start=1):
            if version in applied:
                continue
            step(conn)
            conn.execute(insert(schema_version).values(version=version, applied_at=now_s))
    return len(MIGRATIONS)
