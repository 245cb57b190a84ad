"""Store stage: metrics, forecasts, alerts with their audit log, patrol positions, cameras (SQLAlchemy Core).

`Store` is the one object the other stages use; its tables are grouped by concern in this package:
`metrics.py` (metric rows, evaluation cursor, forecasts), `alerts.py` (alerts and audit log), `sites.py`
(patrol positions, cameras, retention), `snapshots.py` (who looked at which camera), over the connection of `base.py`. Tables and migrations are in
central/schema.py.
"""

from __future__ import annotations

from central.store.alerts import AlertNotFound, AlertTables
from central.store.base import StoreBase, make_db
from central.store.metrics import MetricRow, MetricTables, StoredMetric
from central.store.sites import CameraRow, SiteTables
from central.store.snapshots import SnapshotAuditRow, SnapshotAuditTables

__all__ = [
    "AlertNotFound",
    "CameraRow",
    "MetricRow",
    "SnapshotAuditRow",
    "Store",
    "StoreBase",
    "StoredMetric",
    "make_db",
]


class Store(MetricTables, AlertTables, SiteTables, SnapshotAuditTables):
    """Every table of central's database, over one connection pool (`db`)."""
