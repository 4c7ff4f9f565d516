"""GET /metrics: protected, parseable, and saying what the database and Redis say;
the request id from the API through the jobs it enqueues into their log lines."""

from __future__ import annotations

import dataclasses
import re

import pytest
import requests
from helpers import chain, create_product, drain, notify_xml, ordered_and_prepaid, post_notify
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from backend.commission.models import Payout
from backend.extensions import db

TOKEN = "metrics-test-token"  # noqa: S105 - a test value


@pytest.fixture
def metrics_on(live, monkeypatch):
    cfg = live.app.config["FISSION"]
    monkeypatch.setitem(live.app.config, "FISSION", dataclasses.replace(cfg, metrics_token=TOKEN))
    return


def scrape(live) -> dict:
    """{(name, labels as a sorted tuple): value} of one scrape."""
    r = requests.get(f"{live.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def notifies(values: dict, outcome: str) -> float:
    return values.get(("fission_payment_notifies_total", (("outcome", outcome),)), 0.0)


def test_metrics_is_404_without_a_token_configured_and_401_without_the_token(live, metrics_on, monkeypatch):
    assert requests.get(f"{live.url}/metrics", timeout=30).status_code == 401
    wrong = requests.get(f"{live.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHORIZED"
    cfg = live.app.config["FISSION"]
    monkeypatch.setitem(live.app.config, "FISSION", dataclasses.replace(cfg, metrics_token=None))
    hidden = requests.get(f"{live.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "NOT_FOUND"


def test_notify_outcomes_are_counted_and_state_matches_the_database(live, ops, metrics_on):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=5_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    before = scrape(live)

    assert "SUCCESS" in post_notify(live, notify_xml(order["out_trade_no"], 5_000, openid))
    after_paid = scrape(live)
    assert notifies(after_paid, "paid") == notifies(before, "paid") + 1
    assert "SUCCESS" in post_notify(live, notify_xml(order["out_trade_no"], 5_000, openid))
    forged = notify_xml(order["out_trade_no"], 5_000, openid, key="NotTheMerchantKey" + "0" * 15)
    assert "FAIL" in post_notify(live, forged)
    assert "FAIL" in post_notify(live, notify_xml(order["out_trade_no"], 1, openid))
    after = scrape(live)
    assert notifies(after, "paid") == notifies(before, "paid") + 1
    assert notifies(after, "duplicate") == notifies(before, "duplicate") + 1
    assert notifies(after, "forged") == notifies(before, "forged") + 1
    assert notifies(after, "amount_mismatch") == notifies(before, "amount_mismatch") + 1
    # the route label is the URL rule, never the path
    rule = (("method", "POST"), ("route", "/api/v1/payments/wechat/notify"), ("status", "200"))
    assert after[("fission_http_requests_total", rule)] >= before.get(("fission_http_requests_total", rule), 0) + 4
    routes = {dict(k[1])["route"] for k in after if k[0] == "fission_http_requests_total"}
    assert "/api/v1/orders/<int:order_id>/pay" in routes
    assert not any(re.search(r"/orders/\d", route) for route in routes)

    # the credit job waits: the queue depth is what RQ says
    from backend import queue

    with live.app.app_context():
        waiting = queue.get_queue("payouts").count
    assert after[("fission_queue_jobs", (("queue", "payouts"),))] == waiting >= 1
    drain(live)
    done = scrape(live)
    assert done[("fission_queue_jobs", (("queue", "payouts"),))] == 0
    lag = done[("fission_credit_lag_seconds_count", ())] - before.get(("fission_credit_lag_seconds_count", ()), 0)
    assert lag == 2  # both commissions of the order became available
    with live.app.app_context():
        counts = {(s, r): n for s, r, n in db.session.execute(
            select(Payout.status, Payout.rail, func.count()).group_by(Payout.status, Payout.rail))}
        db.session.rollback()
    assert counts
    for (status, rail), n in counts.items():
        assert done[("fission_payouts", (("rail", rail), ("status", status)))] == n
    assert done[("fission_metrics_source_up", (("source", "db"),))] == 1


def test_a_request_id_follows_the_request_into_the_jobs_it_enqueued(live, ops, metrics_on):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=5_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    drain(live)
    r = requests.post(live.api("/payments/wechat/notify"), data=notify_xml(order["out_trade_no"], 5_000, openid),
                      headers={"Content-Type": "text/xml", "X-Request-ID": "abc123"}, timeout=30)
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "abc123"
    unsafe = requests.get(live.api("/health"), headers={"X-Request-ID": "<script>"}, timeout=30)
    assert unsafe.headers["X-Request-ID"] not in ("", "<script>")

    from backend import queue

    with live.app.app_context():
        jobs = queue.get_queue("payouts").jobs
    assert jobs and all(queue.job_request_id(j) == "abc123" for j in jobs)


def test_the_lines_a_worker_logs_for_a_job_carry_the_request_id_that_enqueued_it(live, ops, caplog):
    """RQ's own lines of the job and the job's lines: `grep abc456` finds the notify and
    the credit job it started (docs/operations.md, "Logs")."""
    import logging
    import threading

    from backend import queue
    from backend.extensions import redis_client
    from backend.worker import OutageProofSimpleWorker

    a, b, c = chain(live)
    product = create_product(ops, price_fen=5_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    drain(live)
    with live.app.app_context():
        names, conn = [queue.queue_name(n) for n in queue.QUEUES], redis_client()
        for name in queue.QUEUES:  # only this request's jobs (and what they enqueue) will run
            queue.get_queue(name).empty()
    r = requests.post(live.api("/payments/wechat/notify"), data=notify_xml(order["out_trade_no"], 5_000, openid),
                      headers={"Content-Type": "text/xml", "X-Request-ID": "abc456"}, timeout=30)
    assert r.status_code == 200
    # RQ's logger may have a handler of its own and not propagate (a worker started by an
    # earlier test set it up): listen on it directly too.
    rq_log = logging.getLogger("rq.worker")
    rq_log.addHandler(caplog.handler)
    caplog.clear()  # the lines of the jobs drained above are not this request's
    try:
        with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="rq.worker"):
            OutageProofSimpleWorker(names, connection=conn).work(burst=True)
    finally:
        rq_log.removeHandler(caplog.handler)
    # Only this thread's worker (another test's worker may still run in the background).
    ours = [rec for rec in caplog.records if rec.thread == threading.get_ident()]
    # RQ's dequeue line comes before the job is known (it names the job id only); every
    # line from the job's start to its end carries the request id.
    job_lines = [rec for rec in ours if "credit_pending_payouts" in rec.getMessage()
                 and not re.match(r"Worker \S+: \S+: ", rec.getMessage())]
    assert job_lines, [rec.getMessage() for rec in ours]
    assert {rec.request_id for rec in job_lines} == {"abc456"}
    credit_lines = [rec for rec in ours if rec.name.startswith("backend.commission")]
    assert all(rec.request_id == "abc456" for rec in credit_lines)
    assert b.get("/me/wallet").json()["available_fen"] == 500  # and the job did its work
