"""Store stage, connection: the database behind every table (SQLAlchemy Core), SQLite or PostgreSQL.

SQLite by default (WAL, one file, no set-up), PostgreSQL by URL. `StoreBase` holds the connection
pool (`db`, a SQLAlchemy `Engine`) that the table groups in this package share.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from central import schema as s


def make_db(url: str) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        db = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(db, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return db
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class StoreBase:
    def __init__(self, url: str) -> None:
        self.url = url
        self.db = make_db(url)
        self.dialect = self.db.dialect.name

    def migrate(self, now_s: float) -> int:
        return s.migrate(self.db, now_s)

    def close(self) -> None:
        self.db.dispose()

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        raise RuntimeError(f"unsupported database {self.dialect}")
