"""Pooled database connections: pinged when they sat idle, not on every request."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from backend import extensions
from backend.config import engine_options
from backend.extensions import db

_BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
_KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(live, monkeypatch):
    """A server restart or a firewall kills connections while they sit in the pool:
    the next request must get a working one, not an error."""
    with live.app.app_context():
        url, dialect = db.engine.url, db.engine.dialect.name
        if dialect == "sqlite":
            pytest.skip("SQLite has no server connection to lose")
        engine = create_engine(url, **engine_options(url.render_as_string(hide_password=False)))
        extensions.ping_idle_connections(engine)
        try:
            with engine.connect() as conn:
                dropped = conn.scalar(text(_BACKEND_ID[dialect]))
            with db.engine.connect() as other:  # the server drops the pooled, idle connection
                other.execute(text(_KILL[dialect].format(int(dropped))))
                other.commit()
            monkeypatch.setattr(extensions, "IDLE_PING_SECONDS", 0.0)  # it has been idle long enough
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT 1")) == 1
                assert conn.scalar(text(_BACKEND_ID[dialect])) != dropped
        finally:
            engine.dispose()


def test_a_busy_connection_is_not_pinged(live):
    """No round trip before each request on a connection in steady use."""
    with live.app.app_context():
        url, dialect = db.engine.url, db.engine.dialect.name
        if dialect == "sqlite":
            pytest.skip("SQLite has no server connection")
        engine = create_engine(url, **engine_options(url.render_as_string(hide_password=False)))
        extensions.ping_idle_connections(engine)
        pings = []
        original = engine.dialect.do_ping
        engine.dialect.do_ping = lambda dbapi_connection: pings.append(1) or original(dbapi_connection)
        try:
            for _ in range(3):
                with engine.connect() as conn:
                    conn.scalar(text("SELECT 1"))
            assert pings == []
        finally:
            engine.dispose()
