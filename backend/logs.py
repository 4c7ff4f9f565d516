"""Structured logs: one JSON object a line, each with the request id.

The request id lives in a context variable (``current_request_id``): set from the
request's ``X-Request-ID`` (or made) for the length of a request, and from the job's
meta for the length of a job (``queue.py`` puts it there at the enqueue, ``worker.py``
and ``queue.job`` set it again around the run). A log record factory copies it onto
every record, whichever handler writes it (ours, gunicorn's, pytest's), so every line
logged while serving a request, or running a job that request enqueued, carries it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import uuid
from contextlib import contextmanager

from flask import Flask, g, has_request_context, request

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# What an incoming X-Request-ID may be: short, and nothing a log reader or a header could trip on.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = "X-Request-ID"


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it is an acceptable request id, else None."""
    return value if value and _SAFE_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def request_id_context(request_id: str | None):
    """Log records within carry ``request_id`` (a job's run, a CLI step)."""
    token = current_request_id.set(request_id)
    try:
        yield
    finally:
        current_request_id.reset(token)


def _install_record_factory() -> None:
    """Every record gets ``request_id`` (None outside a request or job). Installed once."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "fission_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    factory.fission_request_id = True
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if has_request_context():
            entry["path"] = request.path
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.rid = f" [{request_id}]" if request_id else ""
        return super().format(record)


def init_app(app: Flask) -> None:
    _install_record_factory()
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if os.environ.get("LOG_FORMAT", "json") == "json" else PlainFormatter())
        root.addHandler(handler)
    root.setLevel(level)

    @app.before_request
    def _request_id():
        g.request_id = valid_request_id(request.headers.get(HEADER)) or new_request_id()
        g.request_id_token = current_request_id.set(g.request_id)

    @app.after_request
    def _echo_request_id(response):
        response.headers[HEADER] = getattr(g, "request_id", "")
        return response

    @app.teardown_request
    def _forget_request_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            current_request_id.reset(token)
