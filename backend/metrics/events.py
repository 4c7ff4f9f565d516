"""Event counters and histograms, counted where the event happens.

Each process counts its own; with ``PROMETHEUS_MULTIPROC_DIR`` set before
prometheus_client is imported, the values live in files in that directory and
``/metrics`` adds every process's up (``web.scrape``). ``configure(enabled=False)``
(``METRICS_ENABLED=0``) makes every function here return at once.

The metrics are registered on a registry of our own, not prometheus_client's
default one, so a scrape without the multiprocess directory shows exactly these.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from backend.timeutil import as_utc, utcnow

EVENTS = CollectorRegistry(auto_describe=True)
_enabled = True

# Seconds. Fine steps where the API and the credit loop live (tens to hundreds of
# milliseconds), so a quantile read from the buckets is close to the real one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.75, 1.0,
               1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

REQUESTS = Counter("fission_http_requests", "HTTP requests answered, by route (the URL rule), method and status",
                   ["route", "method", "status"], registry=EVENTS)
REQUEST_SECONDS = Histogram("fission_http_request_duration_seconds",
                            "Time to answer a request, by route (the URL rule) and method",
                            ["route", "method"], buckets=LATENCY_BUCKETS, registry=EVENTS)
NOTIFIES = Counter("fission_payment_notifies", "WeChat Pay payment notifies by outcome: paid, duplicate, forged, "
                   "amount_mismatch, unknown_order, not_paid", ["outcome"], registry=EVENTS)
CREDIT_LAG = Histogram("fission_credit_lag_seconds",
                       "From the end of a commission's hold (the payment notify, with no hold) to the commit that "
                       "made it available in the wallet", buckets=LAG_BUCKETS, registry=EVENTS)
SWEEPER_ACTIONS = Counter("fission_sweeper_actions", "What the sweeper's passes did, by action (sweep --once's counts)",
                          ["action"], registry=EVENTS)

RATE_LIMITED = Counter("fission_rate_limited", "Requests refused 429 by an abuse limit, by limit (backend/rate_limits)",
                       ["limit"], registry=EVENTS)
RATE_LIMITER_ERRORS = Counter("fission_rate_limiter_errors", "Limit checks that could not reach Redis: the request "
                              "was let through unlimited", registry=EVENTS)
ADMIN_LOCKOUTS = Counter("fission_admin_lockouts", "Admin usernames locked out after repeated wrong passwords",
                         registry=EVENTS)

NOTIFY_OUTCOMES = ("paid", "duplicate", "forged", "amount_mismatch", "unknown_order", "not_paid")


def configure(enabled: bool) -> None:
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    if _enabled:
        REQUESTS.labels(route, method, str(status)).inc()
        REQUEST_SECONDS.labels(route, method).observe(seconds)


def payment_notify(outcome: str) -> None:
    if _enabled:
        NOTIFIES.labels(outcome).inc()


def rate_limited(limit: str) -> None:
    if _enabled:
        RATE_LIMITED.labels(limit).inc()


def rate_limiter_error() -> None:
    if _enabled:
        RATE_LIMITER_ERRORS.inc()


def admin_lockout() -> None:
    if _enabled:
        ADMIN_LOCKOUTS.inc()


def credit_lags(available_since: list[datetime]) -> None:
    """Called once the credit batch committed (``after_commit``), with each released
    commission's ``available_at``: the lag ends at the commit, when the wallet shows the
    money (a rolled-back batch made nothing available), not when the batch began."""
    if _enabled:
        now = utcnow()
        for since in available_since:
            CREDIT_LAG.observe(max(0.0, (now - as_utc(since)).total_seconds()))


def sweeper_pass(stats: dict) -> None:
    if _enabled:
        for action, count in stats.items():
            if count:
                SWEEPER_ACTIONS.labels(action).inc(count)


for _outcome in NOTIFY_OUTCOMES:  # every outcome is a series from the start (0), so rate() sees the first one
    NOTIFIES.labels(_outcome)
