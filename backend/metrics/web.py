"""The request metrics and ``GET /metrics`` (Prometheus text format).

``/metrics`` is for the operators' Prometheus, not for the mini-program nor the
console: it is outside the OpenAPI document, answers 404 unless ``METRICS_TOKEN``
is set (and metrics are on), and 401 without ``Authorization: Bearer <token>``.
Requests are counted by their URL rule (``/api/v1/orders/<int:order_id>``), never
by their path, so the number of series stays that of the routes.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from backend.errors import ApiError
from backend.metrics import events

blp = Blueprint("metrics", __name__)
UNMATCHED = "<unmatched>"  # a request no route matched (a 404): one series for all of them


def init_app(app: Flask) -> None:
    events.configure(app.config["FISSION"].metrics_enabled)
    app.register_blueprint(blp)

    @app.before_request
    def _start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            rule = request.url_rule
            events.request_answered(rule.rule if rule is not None else UNMATCHED, request.method,
                                    response.status_code, time.perf_counter() - started)
        return response


@blp.get("/metrics")
def metrics():
    cfg = current_app.config["FISSION"]
    if not cfg.metrics_token or not cfg.metrics_enabled:
        raise ApiError("NOT_FOUND", "Not found")  # not configured: as if there were no such page
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {cfg.metrics_token}".encode()):
        raise ApiError("UNAUTHORIZED", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>")
    return Response(generate_latest(scrape_registry()), mimetype=CONTENT_TYPE_LATEST)


def scrape_registry() -> CollectorRegistry:
    """Every process's events (the multiprocess directory, or this process's own) and the state now."""
    from backend.metrics.state import StateCollector

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StateCollector())
    return registry


class _ThisProcess:
    def collect(self):
        return events.EVENTS.collect()
