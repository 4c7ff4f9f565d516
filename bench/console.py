"""The admin console's first screens at 1,000,000 users and 2,000,000 orders.

The database (PostgreSQL, default ``fission_bench_console``) is bench/big_tree.py's
generator sized by orders (``ensure(orders=…)``, COPY and set-based SQL, reused when
the counts match), plus what the console's pages read that the tree bench lacks
(``console_data``, set-based too, once per database): products, a line per order,
recent orders ``paid`` (the rest ``completed``), wallets, a payout per commission
(0.2 % failed on the transfer rail), withdrawals, campaigns, live codes and groups,
group invites of a quarter of the last 30 days' orders (the funnel rollup rebuilt by
the app's own code) and 500,000 share events. Payouts and withdrawals carry no ledger
postings: read-path data, not a shop to reconcile.

Then the app runs under gunicorn (Redis db 14; the leaderboards rebuilt from the
ledger by the app's code when the database is new or ``--rebuild-boards``, kept
otherwise), the bench logs in as an admin (``POST /api/v1/admin/auth/login``) and
times each admin endpoint the console calls on the first screen of each page:
``--samples`` requests one after another after ``--warmup`` (time of the HTTP
request on loopback; at most ``--budget`` seconds each). An endpoint the OpenAPI
document does not list yet (being built elsewhere) is reported "missing" with the
status it answered, never a crash. ``--console-load`` also opens ``/admin/`` in
Debian's headless Chromium through Playwright: bytes transferred (gzip) and first
contentful / largest contentful paint; skipped with a message while ``/admin/``
answers 404 or 503.

    .venv/bin/python bench/console.py [--regenerate] [--samples 50] [--console-load]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import redis
import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import big_tree  # noqa: E402
from stack import Stack, free_port, wait_http  # noqa: E402

PY = sys.executable
PREFIX = "consolebench"
ADMIN, ADMIN_PASSWORD = "console-bench", "console-bench-password"
DATA_VERSION = 1
TARGET_S, DASHBOARD_TARGET_S = 0.100, 0.200
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--orders", type=int, default=2_000_000)
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--rebuild-boards", action="store_true", help="flush Redis db and rebuild the leaderboards")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                   help="the PostgreSQL server (its database is not used)")
    p.add_argument("--bench-db", default="fission_bench_console")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget", type=float, default=30.0,
                   help="seconds of sampling per endpoint at most (a slow one gets fewer samples)")
    p.add_argument("--console-load", action="store_true", help="also the console's first load in headless Chromium")
    return p.parse_args(argv)


# --- the console's data --------------------------------------------------------------------

CONSOLE_SQL = [
    ("products", """
        INSERT INTO products (title, brand, part_no, price_fen, stock, active, created_at, updated_at)
        SELECT 'Part ' || g || ' ' || (ARRAY['0603 100nF X7R', '0603 10k 1%', 'LQFP-48 MCU', 'SOT-23 MOSFET',
                                             'SOD-123 diode', 'SOIC-8 op-amp'])[1 + g % 6],
               (ARRAY['Murata', 'Yageo', 'ST', 'TI', 'Samsung', 'UniOhm', 'GigaDevice', 'Nexperia'])[1 + g % 8],
               'BENCH-' || lpad(g::text, 6, '0'), 100 + (g * 37) % 5000, 100 + (g * 13) % 10000, true, now(), now()
        FROM generate_series(1, 2000) AS g"""),
    ("order lines", """
        INSERT INTO order_items (order_id, product_id, title, quantity, unit_price_fen, amount_fen)
        SELECT o.id, p.id, p.title, 1, o.total_fen, o.total_fen
        FROM orders o JOIN products p ON p.part_no = 'BENCH-' || lpad((1 + o.id % 2000)::text, 6, '0')"""),
    ("recent orders paid", "UPDATE orders SET status = 'paid' WHERE paid_at > now() - interval '7 days'"),
    ("wallets", """
        INSERT INTO wallets (user_id, pending_fen, available_fen, in_transit_fen, paid_out_fen, total_earned_fen,
                             updated_at)
        SELECT user_id, 0, sum(amount_fen), 0, 0, sum(amount_fen), max(created_at)
        FROM commissions GROUP BY user_id"""),
    ("payouts", """
        INSERT INTO payouts (kind, user_id, commission_id, amount_fen, rail, status, attempt, tries, next_attempt_at,
                             out_bill_no, last_error, created_at, updated_at, submitted_at, finished_at)
        SELECT 'commission', user_id, id, amount_fen,
               CASE WHEN id % 500 = 0 THEN 'wechat_transfer' ELSE 'wallet' END,
               CASE WHEN id % 500 = 0 THEN 'failed' ELSE 'in_wallet' END, 1, 0, created_at,
               CASE WHEN id % 500 = 0 THEN 'CB' || lpad(id::text, 14, '0') END,
               CASE WHEN id % 500 = 0 THEN 'NOT_ENOUGH: the merchant account is short' END,
               created_at, created_at, NULL, created_at
        FROM commissions"""),
    ("withdrawals", """
        INSERT INTO payouts (kind, user_id, commission_id, amount_fen, rail, status, attempt, tries, next_attempt_at,
                             out_bill_no, created_at, updated_at, submitted_at, finished_at)
        SELECT 'withdrawal', w.user_id, NULL, 100 + (w.user_id * 7) % 20000, 'wechat_transfer',
               (ARRAY['succeeded', 'succeeded', 'succeeded', 'failed', 'wait_user_confirm'])[1 + g % 5], 1, 0, at,
               'WB' || lpad(g::text, 14, '0'), at, at, at, at + interval '1 minute'
        FROM (SELECT row_number() OVER (ORDER BY user_id) AS g, user_id FROM wallets) w
        CROSS JOIN LATERAL (SELECT now() - (w.g % 30) * interval '1 day' - (w.g % 1440) * interval '1 minute' AS at) t
        WHERE w.g % 4 = 0"""),
    ("campaigns", """
        INSERT INTO campaigns (name, metric, starts_at, ends_at, prizes, status, created_at)
        SELECT 'Campaign ' || g, (ARRAY['commission', 'gmv', 'orders'])[1 + g % 3],
               now() - (g * 10) * interval '1 day', now() - (g * 10 - 14) * interval '1 day',
               '[{"from_rank": 1, "to_rank": 3, "amount_fen": 10000}]'::json,
               CASE WHEN g * 10 - 14 > 0 THEN 'closed' ELSE 'open' END, now() - (g * 10) * interval '1 day'
        FROM generate_series(1, 12) AS g"""),
    ("live codes and groups", """
        WITH codes AS (
            INSERT INTO group_live_codes (name, text, priority, low_water, active, created_at)
            SELECT 'Live code ' || g, 'scan to join', g, 1, true, now() FROM generate_series(1, 5) AS g RETURNING id)
        INSERT INTO community_groups (live_code_id, kind, name, chat_id, capacity, member_count, status, created_at)
        SELECT c.id, 'wecom', 'Group ' || c.id || '-' || g, 'wrBENCH' || c.id || '-' || g, 500, (g * 37) % 500,
               CASE WHEN g % 7 = 0 THEN 'closed' ELSE 'open' END, now()
        FROM codes c CROSS JOIN generate_series(1, 12) AS g"""),
    ("group invites", """
        INSERT INTO group_invites (order_id, user_id, distributor_id, product_id, paid_day, live_code_id, group_id,
                                   state, shown_at, opened_at, saved_at, joined_at)
        SELECT o.id, o.user_id, o.level1_id, p.id, (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date, g.live_code_id, g.id,
               'fb' || o.id, o.paid_at + interval '30 seconds',
               CASE WHEN o.id % 8 < 5 THEN o.paid_at + interval '1 minute' END,
               CASE WHEN o.id % 8 < 2 THEN o.paid_at + interval '1 minute' END,
               CASE WHEN o.id % 8 < 3 THEN o.paid_at + interval '10 minutes' END
        FROM orders o
        JOIN products p ON p.part_no = 'BENCH-' || lpad((1 + o.id % 2000)::text, 6, '0')
        JOIN (SELECT id, live_code_id, row_number() OVER (ORDER BY id) - 1 AS n FROM community_groups) g
          ON g.n = o.id % 60
        WHERE o.paid_at > now() - interval '30 days' AND o.id % 4 = 0"""),
    ("share events", """
        INSERT INTO share_events (type, user_id, share_code, sharer_id, page, target, order_id, created_at)
        SELECT CASE WHEN g %% 3 = 0 THEN 'share' ELSE 'visit' END,
               CASE WHEN g %% 3 = 0 THEN d.id WHEN g %% 3 = 1 THEN 1 + (g::bigint * 7919) %% %(users)s END,
               d.invite_code, d.id, 'pages/product/detail', (1 + g %% 2000)::text, NULL,
               now() - (g %% 43200) * interval '1 minute'
        FROM generate_series(1, 500000) AS g
        JOIN (SELECT id, invite_code, row_number() OVER (ORDER BY id) - 1 AS n FROM users
              WHERE invite_code IS NOT NULL) d ON d.n = g %% %(sharers)s"""),
]
BIG = ("order_items", "payouts", "group_invites", "share_events")


def console_data(url: str) -> dict:
    """Once per generated database: the rows the console reads beyond the tree bench's."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT to_regclass('bench_console_meta') IS NOT NULL").fetchone()[0]
        if have and conn.execute("SELECT max(version) FROM bench_console_meta").fetchone()[0] == DATA_VERSION:
            print("reusing the console's data", flush=True)
            return {"reused": True}
    timings = {}
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        # an older version of these rows (DELETE: a TRUNCATE … CASCADE of payouts would take the ledger along)
        for table in ("share_events", "group_invites", "community_groups", "group_live_codes", "campaigns",
                      "payouts", "wallets", "order_items", "funnel_daily", "funnel_paid_daily", "funnel_paid_days"):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        conn.execute("DELETE FROM products WHERE part_no LIKE 'BENCH-%'")
        conn.execute("UPDATE orders SET status = 'completed' WHERE status = 'paid'")
        restore = big_tree.strip_indexes(conn, BIG)
        params = {"users": conn.execute("SELECT max(id) FROM users").fetchone()[0],
                  "sharers": conn.execute("SELECT count(*) FROM users WHERE invite_code IS NOT NULL").fetchone()[0]}
        for name, statement in CONSOLE_SQL:
            t = time.monotonic()
            conn.execute(statement, params if "%(" in statement else None)
            timings[name] = time.monotonic() - t
            print(f"    {name:<40} {timings[name]:7.1f}s", flush=True)
        t = time.monotonic()
        for ddl in restore:
            conn.execute(ddl)
        timings[f"recreate {len(restore)} indexes"] = time.monotonic() - t
        conn.execute("CREATE TABLE IF NOT EXISTS bench_console_meta (version int, generated_at timestamptz)")
        conn.execute("INSERT INTO bench_console_meta VALUES (%s, now())", (DATA_VERSION,))
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in (*BIG, "orders", "wallets", "products"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return {"reused": False, "timings": timings}


def app_side(env: dict, rebuild_funnel: bool, rebuild_boards: bool) -> None:
    """What the app computes itself: the funnel rollup of the invites (community.rebuild),
    the dashboard's closed days (the sweeper's ``roll_up_due``), the analytics page's
    opening range (the sweeper's daily warm-up) and the leaderboards from
    the ledger (jobs_rebuild), in an app context here."""
    os.environ.update(env)  # the app config is read from the environment
    sys.path.insert(0, str(ROOT))
    from backend import create_app
    from backend.admin import dashboard, running_day
    from backend.analytics import jobs as analytics_jobs
    from backend.community import funnel, rebuild
    from backend.extensions import db
    from backend.leaderboard import jobs_rebuild
    from backend.timeutil import SHOP_TZ, utcnow
    from backend.transactions import unit_of_work

    app = create_app()
    with app.app_context():
        today = utcnow().astimezone(SHOP_TZ).date()
        if rebuild_funnel:
            t = time.monotonic()
            with unit_of_work("bench funnel rollup"):
                rebuild.rebuild(today - timedelta(days=62), today + timedelta(days=1))
                funnel.ensure_paid_rollups(today - timedelta(days=62), today + timedelta(days=1))
            print(f"  funnel rollup rebuilt in {time.monotonic() - t:.1f}s", flush=True)
        t = time.monotonic()
        with unit_of_work("bench dashboard rollup"):  # the sweeper's step, as a running shop has it
            rolled = dashboard.roll_up_due()
        print(f"  dashboard: {len(rolled)} closed days rolled up in {time.monotonic() - t:.1f}s", flush=True)
        t = time.monotonic()
        with unit_of_work("bench running day"):  # the sweeper's step on every pass
            running_day.advance()
        print(f"  today so far (the sweeper's running row) advanced in {time.monotonic() - t:.1f}s", flush=True)
        t = time.monotonic()
        analytics_jobs.warm_job()  # the sweeper's daily job: the analytics page's opening range
        print(f"  analytics opening range computed (the daily warm-up) in {time.monotonic() - t:.1f}s", flush=True)
        if rebuild_boards:  # kept in Redis between runs on the same database
            t = time.monotonic()
            boards = jobs_rebuild.rebuild_all()
            print(f"  {boards} leaderboards rebuilt from the ledger in {time.monotonic() - t:.1f}s", flush=True)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# --- the console's first screens ------------------------------------------------------------

def endpoints(ids: dict) -> list[tuple[str, str, dict]]:
    """(label, path, query) of each first-screen call, in the console's page order."""
    today = ids["today"]
    window = {"from": (today - timedelta(days=29)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    closed = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    return [
        ("GET /admin/me", "/api/v1/admin/me", {}),  # every page: the layout asks who is signed in
        ("GET /admin/dashboard", "/api/v1/admin/dashboard", {}),
        ("GET /admin/users?page=1&per_page=20", "/api/v1/admin/users", {"page": 1, "per_page": 20}),
        (f"GET /admin/users?q={ids['q']}", "/api/v1/admin/users", {"q": ids["q"]}),
        ("GET /admin/users/{id}", f"/api/v1/admin/users/{ids['kol']}", {}),
        ("GET /admin/users/{id}/tree", f"/api/v1/admin/users/{ids['kol']}/tree", {}),  # the first tab
        ("GET /admin/users/{id}/team?level=1", f"/api/v1/admin/users/{ids['kol']}/team", {"level": 1}),
        ("GET /admin/orders?page=1&per_page=20", "/api/v1/admin/orders", {"page": 1, "per_page": 20}),
        ("GET /admin/orders?status=paid", "/api/v1/admin/orders", {"status": "paid"}),
        ("GET /admin/orders?distributor_id={KOL}", "/api/v1/admin/orders", {"distributor_id": ids["kol"]}),
        ("GET /admin/orders/{id}", f"/api/v1/admin/orders/{ids['order']}", {}),
        ("GET /admin/products", "/api/v1/admin/products", {}),
        ("GET /admin/payouts", "/api/v1/admin/payouts", {}),  # the page opens on "all"
        ("GET /admin/payouts?status=failed", "/api/v1/admin/payouts", {"status": "failed"}),
        ("GET /admin/withdrawals", "/api/v1/admin/withdrawals", {}),
        ("GET /admin/audit", "/api/v1/admin/audit", {}),
        ("GET /admin/settings/distribution", "/api/v1/admin/settings/distribution", {}),
        ("GET /leaderboards/commission?period=month", "/api/v1/leaderboards/commission", {"period": "month"}),
        ("GET /admin/campaigns", "/api/v1/admin/campaigns", {}),
        # the group page's four calls
        ("GET /admin/community/groups", "/api/v1/admin/community/groups", {}),
        ("GET /admin/community/live-codes", "/api/v1/admin/community/live-codes", {}),
        ("GET /admin/community/alerts?open=true", "/api/v1/admin/community/alerts", {"open": "true"}),
        ("GET /admin/community/groups/attention", "/api/v1/admin/community/groups/attention", {}),
        ("GET /admin/community/funnel?by=day", "/api/v1/admin/community/funnel", {"by": "day", **window}),
        ("GET /admin/analytics/depth", "/api/v1/admin/analytics/depth", {}),
        # the page opens on the 30 closed days up to yesterday (T+1, precomputed by the sweeper)
        ("GET /admin/analytics/fission", "/api/v1/admin/analytics/fission", closed),
        ("GET /admin/accounts", "/api/v1/admin/accounts", {}),
    ]


def documented_gets(spec: dict) -> list[re.Pattern]:
    """The GET paths the OpenAPI document lists, as patterns ({user_id} → one segment)."""
    return [re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for path, ops in spec.get("paths", {}).items() if "get" in ops]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def measure(session: requests.Session, base: str, path: str, query: dict, samples: int, warmup: int,
            budget: float, headers: dict | None = None):
    """(latencies, last response); latencies None when an answer was not 200. Stops
    sampling after ``budget`` seconds (at least 5 samples)."""
    for _ in range(warmup):
        r = session.get(base + path, params=query, headers=headers, timeout=120)
        if r.status_code != 200:
            return None, r
    lat: list[float] = []
    started = time.perf_counter()
    while len(lat) < samples and (len(lat) < 5 or time.perf_counter() - started < budget):
        t = time.perf_counter()
        r = session.get(base + path, params=query, headers=headers, timeout=120)
        lat.append(time.perf_counter() - t)
        if r.status_code != 200:
            return None, r
    return lat, r


def console_load(base: str) -> list[str]:
    """The console's first load in headless Chromium: bytes (gzip) and paints."""
    probe = requests.get(f"{base}/admin/", timeout=30)
    if probe.status_code in (404, 503):
        return [f"console first load: skipped, /admin/ answers {probe.status_code} (the console is not built yet)"]
    chromium = shutil.which("chromium")
    if chromium is None:
        return ["console first load: skipped, no chromium on PATH"]
    from playwright.sync_api import sync_playwright

    sizes: list[int] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("requestfinished", lambda req: sizes.append(
                (lambda s: s["responseBodySize"] + s["responseHeadersSize"])(req.sizes())))
            t = time.perf_counter()
            page.goto(f"{base}/admin/", wait_until="networkidle", timeout=60_000)
            loaded = time.perf_counter() - t
            paints = page.evaluate("""() => new Promise(done => {
                const out = {};
                for (const e of performance.getEntriesByType('paint')) out[e.name] = e.startTime;
                new PerformanceObserver(list => {
                    const all = list.getEntries(); out['largest-contentful-paint'] = all[all.length - 1].startTime;
                }).observe({type: 'largest-contentful-paint', buffered: true});
                setTimeout(() => done(out), 500);
            })""")
        finally:
            browser.close()
    fcp, lcp = paints.get("first-contentful-paint"), paints.get("largest-contentful-paint")
    return [f"console first load: {len(sizes)} requests, {sum(sizes) / 1024:.1f} KiB transferred (gzip), "
            f"first contentful paint {fcp or float('nan'):.0f} ms, largest contentful paint "
            f"{lcp or float('nan'):.0f} ms, network idle after {loaded * 1000:.0f} ms"]


def user_token(user_id: int) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(big_tree.SECRET_KEY, salt="fission.user-token").dumps({"uid": user_id})


def pick_ids(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        kol = conn.execute("SELECT user_id FROM team_sizes ORDER BY level1_count DESC LIMIT 1").fetchone()[0]
        order = conn.execute("SELECT max(id) FROM orders WHERE level1_id = %s", (kol,)).fetchone()[0]
        nick = conn.execute("SELECT nickname FROM users WHERE id = 4242").fetchone()[0]
        today = conn.execute("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date").fetchone()[0]
    return {"kol": kol, "order": order, "q": nick, "today": today}


def main(argv=None) -> int:
    a = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fission-console-bench-"))
    stack = Stack(work)
    env = big_tree.app_env("", a.redis_url, PREFIX, work)
    t = time.monotonic()
    url, gen = big_tree.ensure(a.database_url, a.bench_db, a.users, None, a.regenerate, env, orders=a.orders)
    rds = redis.Redis.from_url(a.redis_url)
    if not gen.get("reused") or a.rebuild_boards:
        rds.flushdb(asynchronous=True)  # a big db: never block the shared server
        print(f"Redis {a.redis_url}: flushed", flush=True)
    env["DATABASE_URL"] = url
    extra = console_data(url)
    print(f"database ready in {time.monotonic() - t:.1f}s", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        rollup_missing = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM funnel_daily)").fetchone()[0]
    app_side(env, rebuild_funnel=rollup_missing, rebuild_boards=not rds.exists(f"{PREFIX}:lb:built"))
    subprocess.run([*big_tree.FLASK, "fission", "ensure-admin"], env=env | {
        "ADMIN_USERNAME": ADMIN, "ADMIN_PASSWORD": ADMIN_PASSWORD}, cwd=ROOT, check=True, capture_output=True)
    ids = pick_ids(url)
    rows, notes = [], []
    try:
        port = free_port()
        cmd = [PY, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(a.web_workers),
               "--threads", str(a.threads), "-k", "gthread", "--log-level", "warning", "--timeout", "120", "wsgi:app"]
        child = stack.start("gunicorn", cmd, env | {"PORT": str(port)}, ROOT)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/v1/health", "the API", child.proc, timeout=120)
        s = requests.Session()
        login = s.post(f"{base}/api/v1/admin/auth/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        s.headers["Authorization"] = f"Bearer {login.json()['token']}"
        documented = documented_gets(s.get(f"{base}/api/v1/openapi.json").json())
        print(f"\nlogged in as {ADMIN}; KOL {ids['kol']}, order {ids['order']}, q={ids['q']!r}; "
              f"{a.samples} requests each after {a.warmup} warm-up, one at a time\n", flush=True)
        for label, path, query in endpoints(ids):
            target = DASHBOARD_TARGET_S if "dashboard" in path else TARGET_S
            if not any(p.match(path) for p in documented):
                status = s.get(base + path, params=query, timeout=120).status_code
                rows.append((label, None, None, target, f"missing ({status})"))
            else:
                lat, last = measure(s, base, path, query, a.samples, a.warmup, a.budget)
                if lat is None and last.status_code == 401 and not path.startswith("/api/v1/admin/"):
                    # a mini-program route that wants a user: as the KOL (a token signed like the app's)
                    label += " (as the KOL)"
                    lat, last = measure(s, base, path, query, a.samples, a.warmup, a.budget,
                                        {"Authorization": f"Bearer {user_token(ids['kol'])}"})
                if lat is None:
                    code = (last.json().get("error", {}).get("code", "") if last.headers.get(
                        "content-type", "").startswith("application/json") else "")
                    rows.append((label, None, None, target, f"HTTP {last.status_code} {code}".strip()))
                else:
                    p95 = pct(lat, 0.95)
                    result = "pass" if p95 <= target else "FAIL"
                    rows.append((label, statistics.median(lat), p95, target,
                                 result if len(lat) >= a.samples else f"{result} (n={len(lat)}, budget)"))
            r = rows[-1]
            print(f"  {label:<46} " + (f"p50 {r[1] * 1000:7.1f} ms  p95 {r[2] * 1000:7.1f} ms  {r[4]}"
                                         if r[1] is not None else r[4]), flush=True)
        if a.console_load:
            notes += console_load(base)
    finally:
        stack.stop_all()

    with psycopg.connect(url, autocommit=True) as conn:
        n_users, n_orders = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)").fetchone()
    print(f"\nSUMMARY (console.py: {n_users:,} users, {n_orders:,} orders; "
          f"p50/p95 of {a.samples} requests on loopback)")
    if not gen.get("reused"):
        print(f"  data generation (big_tree): {gen['generation_s']:.1f} s")
    if not extra["reused"]:
        print(f"  console data: {sum(extra['timings'].values()):.1f} s")
    w = max(len(r[0]) for r in rows)
    print(f"  {'endpoint':<{w}}  {'p50':>9}  {'p95':>9}  {'target':>7}  result")
    for label, p50, p95, target, result in rows:
        shown = (f"{p50 * 1000:7.1f}ms  {p95 * 1000:7.1f}ms" if p50 is not None else f"{'-':>9}  {'-':>9}")
        print(f"  {label:<{w}}  {shown}  {target * 1000:5.0f}ms  {result}")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
