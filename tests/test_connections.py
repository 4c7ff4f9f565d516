"""Database server connections: pooled ones pinged when they sat idle, not on every request; the
settings a worker checks as it starts."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from backend import extensions
from backend.config import engine_options
from backend.extensions import db

_BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
_KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


@pytest.fixture
def pooled(live):
    """A pool of its own, set up as the app sets up its engine: (engine, dialect name)."""
    with live.app.app_context():
        url, dialect = db.engine.url, db.engine.dialect.name
        if dialect == "sqlite":
            pytest.skip("SQLite has no server connection")
        engine = create_engine(url, **engine_options(url.render_as_string(hide_password=False)))
        extensions.ping_idle_connections(engine)
        try:
            yield engine, dialect
        finally:
            engine.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(live, pooled, monkeypatch):
    """A server restart or a firewall kills connections while they sit in the pool:
    the next request must get a working one, not an error."""
    engine, dialect = pooled
    with engine.connect() as conn:
        dropped = conn.scalar(text(_BACKEND_ID[dialect]))
    with live.app.app_context(), db.engine.connect() as other:  # the server drops the idle one
        other.execute(text(_KILL[dialect].format(int(dropped))))
        other.commit()
    monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", 0.0)  # it has been idle long enough
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
        assert conn.scalar(text(_BACKEND_ID[dialect])) != dropped


def test_a_busy_connection_is_not_pinged(pooled, monkeypatch):
    """No round trip before each request on a connection in steady use."""
    engine, _ = pooled
    pings = []
    original = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or original(conn))
    for _ in range(3):
        with engine.connect() as conn:
            conn.scalar(text("SELECT 1"))
    assert pings == []


def test_a_worker_is_told_when_postgresql_does_not_vacuum(live):
    from backend.health import database_warnings

    with live.app.app_context():
        warnings = database_warnings()
        if db.engine.dialect.name != "postgresql":
            assert warnings == []
            return
        off = db.session.scalar(text("SHOW autovacuum")) == "off"
        assert bool(warnings) == off
        if off:
            assert "autovacuum off" in warnings[0] and "docs/operations.md" in warnings[0]


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(live):
    """On SQLite every connection of the app's engine reads beside the writer (WAL), waits
    up to 30 s for the write lock instead of failing at once, and enforces foreign keys."""
    with live.app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
