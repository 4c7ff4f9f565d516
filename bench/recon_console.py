"""The finance console's statement pages over the reconciliation bench data (R2's part of
``bench/reconciliation.py --console-pages``; the data is that bench's ``generate``).

1. start the monthly payable run for November through the API (``POST
   /statement-runs``) with a real RQ worker in its own process, and poll ``GET
   /statement-runs/{id}`` every second as the run page does: the time from "start run"
   to the first poll that shows 100% (state ``generated``), beside the batch's own time
   (the worker's ``work()``);
2. the weekly run that makes the 100,000-line statement, the same way;
3. the monthly statements are marked sent (one UPDATE and their send events) so the aging has open amounts;
4. p95 (and median) of each endpoint the pages call on their first screen: the runs
   list, a run (run, totals, deliveries, its statements), the 100,000-line statement
   (statement, first page of lines, events), the aging (payable, first page) — HTTP on
   loopback to the app under werkzeug (threaded), ``--samples`` requests each;
5. the 100,000-line statement opened in headless Chromium (Debian's), signed in through
   the login form: time until the lines table shows rows, from a click on its number on
   the run's page and from its address typed in (the whole console loads).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

import requests

USER, PASSWORD = "recon-console-bench", "recon-console-bench-pw"
WORKER = """
import sys, time
from rq import SimpleWorker
from backend import create_app
from backend import queue
from backend.extensions import redis_client
app = create_app()
queue._worker_app = app
with app.app_context():
    names = [queue.queue_name(n) for n in queue.QUEUES]
    conn = redis_client()
started = time.perf_counter()
SimpleWorker(names, connection=conn).work(burst=True)
print(f"{time.perf_counter() - started:.3f}")
"""


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _serve(app) -> str:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def _run_to_100(s: requests.Session, base: str, env: dict, side: str, cycle: str,
                month: str) -> tuple[dict, float, float]:
    """POST the run, start a worker process, poll each second like the page."""
    started = time.perf_counter()
    r = s.post(f"{base}/api/v1/admin/reconciliation/statement-runs",
               json={"side": side, "cycle": cycle, "month": month})
    r.raise_for_status()
    run_id = r.json()["id"]
    worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, text=True)
    while True:
        time.sleep(1.0)
        run = s.get(f"{base}/api/v1/admin/reconciliation/statement-runs/{run_id}").json()
        if run["state"] == "failed":
            raise RuntimeError(run["error"])
        if run["state"] == "generated" and run["progress_done"] == run["progress_total"]:
            to_100 = time.perf_counter() - started
            break
    out, _ = worker.communicate(timeout=600)
    return run, to_100, float(out.strip().splitlines()[-1])


def _first_screen(s: requests.Session, base: str, run_id: int, big_id: int,
                  samples: int) -> list[tuple[str, float, float]]:
    R = f"{base}/api/v1/admin/reconciliation"
    calls = {
        "GET /statement-runs (runs page)": f"{R}/statement-runs?page=1&per_page=20",
        "GET /statement-runs/{id}": f"{R}/statement-runs/{run_id}",
        "GET /statement-runs/{id}/totals": f"{R}/statement-runs/{run_id}/totals",
        "GET /statement-runs/{id}/deliveries": f"{R}/statement-runs/{run_id}/deliveries",
        "GET /statements?run_id= (first 20)": f"{R}/statements?run_id={run_id}&page=1&per_page=20",
        "GET /statements/{id} (100k lines)": f"{R}/statements/{big_id}",
        "GET /statements/{id}/lines (first 100 of 100k)": f"{R}/statements/{big_id}/lines?page=1&per_page=100",
        "GET /statements/{id}/events": f"{R}/statements/{big_id}/events",
        "GET /aging?side=payable (first 20)": f"{R}/aging?side=payable&as_of=2026-12-31&page=1&per_page=20",
    }
    rows = []
    for label, url in calls.items():
        for _ in range(3):
            s.get(url).raise_for_status()
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            s.get(url).raise_for_status()
            times.append(time.perf_counter() - t0)
        rows.append((label, statistics.median(times), _p(times, 0.95)))
    return rows


def _browser(base: str, run_id: int, big_id: int) -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        return "skipped: no chromium on PATH"
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.goto(f"{base}/admin/login")
        page.fill("#login-username", USER)
        page.fill("#login-password", PASSWORD)
        page.click("[data-test=login-submit]")
        page.wait_for_selector("[data-test=who]")
        cold, warm = [], []
        for _ in range(5):  # the statement's address typed in: the whole console loads
            page.goto(f"{base}/admin/")
            page.wait_for_load_state("networkidle")
            t0 = time.perf_counter()
            page.goto(f"{base}/admin/finance/statements/{big_id}")
            page.wait_for_selector("[data-test=lines-table] .el-table__body tr")
            cold.append(time.perf_counter() - t0)
        for _ in range(5):  # as finance opens it: a click on its number on the run's page
            page.goto(f"{base}/admin/finance/statement-runs/{run_id}")
            page.wait_for_selector(f"[data-test=statement-link-{big_id}]")
            page.wait_for_load_state("networkidle")
            t0 = time.perf_counter()
            page.click(f"[data-test=statement-link-{big_id}]")
            page.wait_for_selector("[data-test=lines-table] .el-table__body tr")
            warm.append(time.perf_counter() - t0)
        rows = page.locator("[data-test=lines-table] .el-table__body tr").count()
        browser.close()
    return (f"from the run page (a click) {statistics.median(warm):.3f} s median, {max(warm):.3f} s worst of 5; "
            f"its address typed in (the whole console loads) {statistics.median(cold):.3f} s median, "
            f"{max(cold):.3f} s worst ({rows} rows shown; until the table shows rows; target < 1 s)")


def console_pages(a, fresh_database, app_for, generate) -> None:
    import psycopg

    url = fresh_database(a.server, a.console_db)
    os.environ.setdefault("QUEUE_PREFIX", f"reconconsole{os.getpid()}")
    app = app_for(url)
    from flask_migrate import upgrade

    from backend.auth.service import create_admin
    from backend.extensions import db

    with app.app_context():
        upgrade()
        create_admin(USER, PASSWORD, "finance")
        db.session.commit()
    conn = psycopg.connect(url)
    print(f"generating: {a.suppliers} suppliers, {a.lines} November lines, {a.big_lines} for one weekly supplier ...",
          flush=True)
    t0 = time.perf_counter()
    generate(conn, a)
    print(f"  generated in {time.perf_counter() - t0:.1f} s\n", flush=True)
    base = _serve(app)
    env = {**os.environ, "DATABASE_URL": url}
    s = requests.Session()
    login = s.post(f"{base}/api/v1/admin/auth/login", json={"username": USER, "password": PASSWORD})
    login.raise_for_status()
    s.headers["Authorization"] = f"Bearer {login.json()['token']}"

    monthly, to_100, own = _run_to_100(s, base, env, "payable", "monthly", "2026-11")
    print(f"monthly run: {monthly['statements']:,} statements, {monthly['lines']:,} lines: "
          f"start -> progress 100% {to_100:.2f} s (polled each second); the batch's own time {own:.2f} s", flush=True)
    weekly, w_to_100, w_own = _run_to_100(s, base, env, "payable", "weekly", "2026-12")
    print(f"weekly run (the 100k-line statement): start -> 100% {w_to_100:.2f} s; own time {w_own:.2f} s", flush=True)
    big = s.get(f"{base}/api/v1/admin/reconciliation/statements?run_id={weekly['id']}&per_page=1").json()["items"][0]
    conn.execute(f"UPDATE recon_statements SET state = 'sent' WHERE run_id = {monthly['id']}")
    # the aging reads a statement's state from its history: the send event says since when
    conn.execute(f"""INSERT INTO recon_statement_events (statement_id, action, note, created_at)
                     SELECT id, 'send', 'bench', now() FROM recon_statements WHERE run_id = {monthly['id']}""")
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()

    rows = _first_screen(s, base, monthly["id"], big["id"], a.samples)
    print(f"\n{'first-screen endpoint':<52} {'median ms':>10} {'p95 ms':>8}  target p95 <= 150 ms")
    for label, median, p95 in rows:
        print(f"{label:<52} {median * 1000:>10.1f} {p95 * 1000:>8.1f}  {'ok' if p95 <= 0.150 else 'OVER'}")
    print(f"\n100,000-line statement in headless Chromium: {_browser(base, weekly['id'], big['id'])}")
    conn.close()
