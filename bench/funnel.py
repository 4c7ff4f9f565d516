"""Group-invite funnel: event intake against the hello-world ceiling, and a month's report.

1. Events: closed-loop POST /api/v1/events in batches of ``--batch`` (50) from signed-in
   buyers, a share of them the open/save of their own group invites (which lock the
   invite and bump the rollup), against the API under gunicorn; a Flask hello-world
   under the same gunicorn settings, driven by the same client, is the ceiling.
   Figure: events accepted per second ÷ hello-world requests per second (target ≥ 0.5).
2. Report: a month of funnel facts generated in bulk with INSERT … SELECT on PostgreSQL
   (paid orders with their lines, invites shown / opened / saved / joined / contact
   added, the open and save events, the join rows): ``--events`` facts in all
   (default 10,000,000). The rollup is rebuilt in one set-based pass as the increments
   would have left it, then GET /api/v1/admin/community/funnel is timed for the month
   by day, distributor, product and group: once cold (it freezes the month's paid orders
   from the orders table) and then warm (target ≤ 2 s).

    .venv/bin/python bench/funnel.py [--database-url postgresql://postgres@127.0.0.1:5432/fission_funnel]
        [--redis-url redis://127.0.0.1:6379/4] [--events 10000000] [--month 2026-10]

``--database-url`` names the server; the benchmark creates and empties ``--bench-db``
(fission_bench_funnel) on it and never touches the one in the URL.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psycopg
import redis
import requests
from itsdangerous import URLSafeTimedSerializer

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from seed import prepare_database  # noqa: E402
from stack import Stack, free_port, run_to_end, wait_http  # noqa: E402

from backend.auth.tokens import USER_SALT  # noqa: E402

PY = sys.executable
FLASK = [PY, "-m", "flask", "--app", "wsgi:app"]
BYS = ("day", "distributor", "product", "group")
# what happens to an order's invite in the generated month (fractions of paid orders)
SHOWN, OPENED, SAVED, JOINED, CONTACTS = 0.95, 0.70, 0.30, 0.55, 0.10
FACTS_PER_ORDER = SHOWN + 2 * OPENED + 2 * SAVED + 2 * JOINED + CONTACTS  # + the event / join rows


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/fission_funnel",
                   help="the PostgreSQL server (its database is not used)")
    p.add_argument("--bench-db", default="fission_bench_funnel", help="dedicated database, emptied first")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    p.add_argument("--client-threads", type=int, default=16, help="closed-loop connections of the client")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each throughput measurement")
    p.add_argument("--batch", type=int, default=50, help="events per POST /events")
    p.add_argument("--invite-share", type=float, default=0.2,
                   help="share of the events that open/save the sender's own invites")
    p.add_argument("--senders", type=int, default=2000, help="signed-in buyers sending events")
    p.add_argument("--events", type=int, default=10_000_000, help="funnel facts generated for the month")
    p.add_argument("--month", default="2026-10", help="YYYY-MM of the generated month (Asia/Shanghai)")
    p.add_argument("--distributors", type=int, default=2000)
    p.add_argument("--products", type=int, default=200)
    p.add_argument("--groups", type=int, default=60)
    p.add_argument("--buyers", type=int, default=300_000)
    p.add_argument("--reports", type=int, default=3, help="warm runs of each report")
    p.add_argument("--skip-events", action="store_true")
    p.add_argument("--skip-report", action="store_true")
    p.add_argument("--keep-logs", action="store_true")
    args = p.parse_args(argv)
    year, month = (int(x) for x in args.month.split("-"))
    args.first_day = date(year, month, 1)
    args.next_month = date(year + month // 12, month % 12 + 1, 1)
    return args


# --- a closed-loop client, the same for the ceiling and the API ---------------------------

def closed_loop(seconds: float, threads: int, make_request) -> dict:
    """``make_request(session, i, n)`` sends one request and says whether it succeeded."""
    ok, failed = [0] * threads, [0] * threads
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        n = 0
        with requests.Session() as session:
            while time.monotonic() < stop:
                try:
                    good = make_request(session, i, n)
                except requests.RequestException:
                    good = False
                ok[i] += good
                failed[i] += not good
                n += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    return {"rps": sum(ok) / elapsed, "ok": sum(ok), "failed": sum(failed)}


# --- bulk data ------------------------------------------------------------------------------

SENDER_SQL = """
INSERT INTO users (id, openid, nickname, avatar_url, created_at, distributor_status, depth, has_paid_order)
SELECT g, 'bench-sender-' || g, 'sender ' || g, '', now(), 'none', 0, true FROM generate_series(1, %(n)s) g;
INSERT INTO products (id, title, brand, part_no, price_fen, stock, active, created_at, updated_at)
VALUES (1, 'Bench part', 'Murata', 'GRM155', 1000, 1000000, true, now(), now());
INSERT INTO group_live_codes (id, name, text, priority, low_water, active, created_at)
VALUES (1, 'bench', '进群', 0, 1, true, now());
INSERT INTO community_groups (id, live_code_id, kind, name, capacity, member_count, status, created_at)
VALUES (1, 1, 'wecom', 'bench group', 1000000, 0, 'open', now());
-- each sender has --per-sender paid orders, each with an invite shown
INSERT INTO orders (id, user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at, expires_at,
                    paid_at)
SELECT g, 1 + (g - 1) / %(k)s, 'paid', 1000, 1000, 0, 'S' || g, now(), now(), now()
FROM generate_series(1, %(n)s * %(k)s) g;
INSERT INTO order_items (id, order_id, product_id, title, quantity, unit_price_fen, amount_fen)
SELECT g, g, 1, 'Bench part', 1, 1000, 1000 FROM generate_series(1, %(n)s * %(k)s) g;
INSERT INTO group_invites (id, order_id, user_id, product_id, paid_day, live_code_id, group_id, state, shown_at)
SELECT g, g, 1 + (g - 1) / %(k)s, 1, (now() AT TIME ZONE 'Asia/Shanghai')::date, 1, 1, 'fs' || g, now()
FROM generate_series(1, %(n)s * %(k)s) g;
"""

MONTH_SQL = [
    ("users", """
INSERT INTO users (id, openid, nickname, avatar_url, created_at, distributor_status, invite_code, depth,
                   has_paid_order)
SELECT %(u0)s + g, 'bench-m-' || g, CASE WHEN g <= %(nd)s THEN 'distributor ' || g ELSE 'buyer ' || g END, '',
       now(), CASE WHEN g <= %(nd)s THEN 'approved' ELSE 'none' END,
       CASE WHEN g <= %(nd)s THEN 'BF' || lpad(g::text, 8, '0') END, 0, g > %(nd)s
FROM generate_series(1, %(nd)s + %(nb)s) g"""),
    ("products", """
INSERT INTO products (id, title, brand, part_no, price_fen, stock, active, created_at, updated_at)
SELECT 1 + g, 'Part ' || g, 'Murata', 'P' || g, 1000, 1000000, true, now(), now()
FROM generate_series(1, %(np)s) g"""),
    ("groups", """
INSERT INTO community_groups (id, live_code_id, kind, name, capacity, member_count, status, created_at)
SELECT 1 + g, 1, 'wecom', 'group ' || g, 500, 0, 'open', now() FROM generate_series(1, %(ng)s) g"""),
    ("orders", """
INSERT INTO orders (id, user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at, expires_at,
                    paid_at, level1_id, chain_source)
SELECT %(o0)s + g, %(u0)s + %(nd)s + 1 + (g::bigint * 7919) %% %(nb)s, 'paid', 1000, 1000, 0, 'M' || g, t, t, t,
       CASE WHEN g %% 10 = 0 THEN NULL ELSE %(u0)s + 1 + (g * 31) %% %(nd)s END, 'binding'
FROM (SELECT g, %(start)s::timestamptz
                 + (g - 1 + random()) / %(no)s * (%(end)s::timestamptz - %(start)s::timestamptz) AS t
      FROM generate_series(1, %(no)s) g) s  -- paid in id order, as a shop's orders are
"""),
    ("order_items", """
INSERT INTO order_items (id, order_id, product_id, title, quantity, unit_price_fen, amount_fen)
SELECT %(o0)s + g, %(o0)s + g, 2 + (g * 13) %% %(np)s, 'Part', 1, 1000, 1000 FROM generate_series(1, %(no)s) g"""),
    ("group_invites", """
INSERT INTO group_invites (id, order_id, user_id, distributor_id, product_id, paid_day, live_code_id, group_id,
                           state, shown_at, opened_at, saved_at, joined_at, contact_added_at)
SELECT o.id, o.id, o.user_id, o.level1_id, i.product_id, (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date, 1,
       2 + (o.id * 17) %% %(ng)s, 'fo' || o.id, o.paid_at + interval '20 seconds',
       CASE WHEN r.a < %(opened)s THEN o.paid_at + interval '1 minute' END,
       CASE WHEN r.a < %(saved)s THEN o.paid_at + interval '2 minutes' END,
       CASE WHEN r.b < %(joined)s THEN o.paid_at + (r.c * interval '3 hours') END,
       CASE WHEN r.d < %(contacts)s THEN o.paid_at + interval '10 minutes' END
FROM orders o JOIN order_items i ON i.id = o.id
CROSS JOIN LATERAL (SELECT random() AS a, random() AS b, random() AS c, random() AS d, random() AS s
                    WHERE o.id > 0) r
WHERE o.id > %(o0)s AND r.s < %(shown)s"""),
    ("share_events (open, save)", """
INSERT INTO share_events (type, user_id, page, order_id, created_at)
SELECT 'open', user_id, 'pages/paid', order_id, opened_at FROM group_invites WHERE opened_at IS NOT NULL
       AND order_id > %(o0)s
UNION ALL
SELECT 'save', user_id, 'pages/paid', order_id, saved_at FROM group_invites WHERE saved_at IS NOT NULL
       AND order_id > %(o0)s"""),
    ("group_joins", """
INSERT INTO group_joins (dedupe_key, source, group_id, member, unionid, join_scene, state, invite_id, order_id,
                         distributor_id, joined_at, created_at)
SELECT 'g:' || group_id || ':wm' || order_id, 'wecom_group', group_id, 'wm' || order_id, NULL, 3, state, id,
       order_id, distributor_id, joined_at, joined_at
FROM group_invites WHERE joined_at IS NOT NULL AND order_id > %(o0)s"""),
    ("analyze", "ANALYZE"),
]


def seed_senders(url: str, senders: int, per_sender: int) -> None:
    with psycopg.connect(url) as conn:
        for statement in SENDER_SQL.split(";"):
            if statement.strip():
                conn.execute(statement, {"n": senders, "k": per_sender})


def generate_month(url: str, a: argparse.Namespace, order_base: int, user_base: int) -> dict:
    orders = max(1, round(a.events / FACTS_PER_ORDER))
    params = {"u0": user_base, "o0": order_base, "nd": a.distributors, "nb": a.buyers, "np": a.products,
              "ng": a.groups, "no": orders, "start": f"{a.first_day}T00:00:00+08:00",
              "end": f"{a.next_month}T00:00:00+08:00", "shown": SHOWN, "opened": OPENED / SHOWN,
              "saved": SAVED / SHOWN, "joined": JOINED / SHOWN, "contacts": CONTACTS / SHOWN}
    print(f"generating a month of funnel facts ({orders:,} paid orders) with INSERT … SELECT:", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        for what, statement in MONTH_SQL:
            t = time.monotonic()
            cur = conn.execute(statement, params)
            print(f"  {what:28s} {max(cur.rowcount, 0):>12,} rows  {time.monotonic() - t:6.1f}s", flush=True)
        counts = conn.execute("""
            SELECT count(*), count(opened_at), count(saved_at), count(joined_at), count(contact_added_at)
            FROM group_invites WHERE order_id > %s""", (order_base,)).fetchone()
        events = conn.execute("SELECT count(*) FROM share_events WHERE order_id > %s", (order_base,)).fetchone()[0]
        joins = conn.execute("SELECT count(*) FROM group_joins WHERE order_id > %s", (order_base,)).fetchone()[0]
    facts = {"paid_orders": orders, "shown": counts[0], "opened": counts[1], "saved": counts[2],
             "joined": counts[3], "contacts": counts[4], "open_save_events": events, "join_rows": joins}
    # every fact of the funnel: shown, opened, saved, joined, contact added, and their event / join rows
    facts["total_events"] = sum(counts) + events + joins
    return facts


# --- the run ----------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = secrets.token_hex(4)
        self.queue_prefix = f"benchfunnel{self.tag}"
        self.work = Path(tempfile.mkdtemp(prefix="fission-bench-funnel-"))
        self.stack = Stack(self.work)
        self.secret = secrets.token_urlsafe(32)
        self.admin_password = secrets.token_urlsafe(12)
        self.results: dict = {}

    def env(self, db_url: str, port: int) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WECHAT_", "WECOM_", "FISSION_"))
               and k not in ("DATABASE_URL", "REDIS_URL", "QUEUE_PREFIX")}
        env.update({
            "DATABASE_URL": db_url, "REDIS_URL": self.args.redis_url, "QUEUE_PREFIX": self.queue_prefix,
            "FISSION_INSTANCE_DIR": str(self.work / "instance"), "WECHAT_SANDBOX": "1", "SECRET_KEY": self.secret,
            "ADMIN_PASSWORD": self.admin_password, "PORT": str(port), "LOG_LEVEL": "WARNING",
            "FLASK_APP": "wsgi:app", "PYTHONUNBUFFERED": "1",
            # the bench measures how many event batches the API takes, not the abuse limit (60/minute a user)
            "RATE_LIMITS_ENABLED": "0",
        })
        return env

    def gunicorn(self, port: int, app: str, extra: list[str]) -> list[str]:
        a = self.args
        return [PY, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(a.web_workers),
                "--threads", str(a.threads), "-k", "gthread", "--log-level", "warning", "--timeout", "120",
                *extra, app]

    def flask(self, env: dict, *command: str) -> None:
        done = subprocess.run([*FLASK, *command], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def hello_ceiling(self) -> float:
        port = free_port()
        child = self.stack.start("hello", self.gunicorn(port, "hello_app:app", ["--chdir", str(BENCH)]),
                                 env=self.env("sqlite://", port), cwd=BENCH)
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, "hello-world gunicorn", child.proc)
        closed_loop(2, self.args.client_threads, lambda s, i, n: s.get(url, timeout=10).status_code == 200)
        result = closed_loop(self.args.seconds, self.args.client_threads,
                             lambda s, i, n: s.get(url, timeout=10).status_code == 200)
        self.stack.stop(child)
        print(f"  hello-world: {result['rps']:,.0f} req/s ({result['failed']} failed)", flush=True)
        return result["rps"]

    def events_throughput(self, api: str) -> dict:
        a = self.args
        per_sender = 5
        serializer = URLSafeTimedSerializer(self.secret, salt=USER_SALT)
        tokens = [serializer.dumps({"uid": uid}) for uid in range(1, a.senders + 1)]
        invite_events = round(a.batch * a.invite_share)

        def body(uid: int, n: int) -> bytes:
            events = []
            for k in range(invite_events):  # the sender's own orders: (uid - 1) * per_sender + 1 …
                order_id = (uid - 1) * per_sender + 1 + (n + k) % per_sender
                events.append({"type": "open" if k % 2 == 0 else "save", "order_id": order_id, "page": "pages/paid"})
            kinds = ("page_view", "share", "visit", "page_view")
            for k in range(a.batch - invite_events):
                events.append({"type": kinds[k % 4], "page": f"pages/goods/{k}", "target": "timeline"})
            return json.dumps({"events": events}).encode()

        bodies = {}

        def post(session, i: int, n: int) -> bool:
            uid = 1 + (i * 7919 + n) % a.senders
            key = (uid, n % 8)
            if key not in bodies:
                bodies[key] = body(uid, n)
            r = session.post(f"{api}/events", data=bodies[key], timeout=30,
                             headers={"Authorization": f"Bearer {tokens[uid - 1]}",
                                      "Content-Type": "application/json"})
            return r.status_code == 202

        closed_loop(2, a.client_threads, post)  # warm up (connections, first invite opens)
        result = closed_loop(a.seconds, a.client_threads, post)
        result["events_per_s"] = result["rps"] * a.batch
        print(f"  POST /events: {result['rps']:,.0f} batches/s = {result['events_per_s']:,.0f} events/s "
              f"({result['failed']} failed; {invite_events} of {a.batch} events open/save an invite)", flush=True)
        return result

    def time_reports(self, api: str) -> dict:
        a = self.args
        token = requests.post(f"{api}/admin/auth/login", json={"username": "admin", "password": self.admin_password},
                              timeout=10).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        params = {"from": a.first_day.isoformat(), "to": a.next_month.isoformat()}
        timings: dict = {}
        for by in BYS:
            runs = []
            for attempt in range(1 + a.reports):
                t = time.monotonic()
                r = requests.get(f"{api}/admin/community/funnel", params={**params, "by": by}, headers=headers,
                                 timeout=600)
                runs.append(time.monotonic() - t)
                if r.status_code != 200:
                    raise RuntimeError(f"report by {by}: HTTP {r.status_code} {r.text[:300]}")
                if attempt == 0:
                    totals, rows = r.json()["totals"], len(r.json()["rows"])
            timings[by] = {"first": runs[0], "warm_best": min(runs[1:] or runs), "warm_worst": max(runs[1:] or runs),
                           "rows": rows, "totals": totals}
            print(f"  by {by:12s} first {runs[0]:6.3f}s   warm {min(runs[1:] or runs):6.3f}s .. "
                  f"{max(runs[1:] or runs):6.3f}s   {rows:>6} rows", flush=True)
        return timings

    def run(self) -> None:
        a = self.args
        print(f"machine: {os.cpu_count()} cores, shared with whatever else runs; client: {a.client_threads} Python "
              f"threads (closed loop) for both the ceiling and the API", flush=True)
        db_url = prepare_database(a.database_url, a.bench_db)
        port = free_port()
        env = self.env(db_url, port)
        t = time.monotonic()
        self.flask(env, "db", "upgrade")
        self.flask(env, "fission", "ensure-admin")
        print(f"database {a.bench_db}: migrated in {time.monotonic() - t:.1f}s", flush=True)
        seed_senders(db_url, a.senders, 5)
        api_child = self.stack.start("gunicorn", self.gunicorn(port, "wsgi:app", []), env, ROOT)
        api = f"http://127.0.0.1:{port}/api/v1"
        wait_http(f"{api}/health", "the API", api_child.proc)

        if not a.skip_events:
            print(f"\n1. events: gunicorn --workers {a.web_workers} --threads {a.threads} -k gthread, "
                  f"{a.seconds:.0f}s each", flush=True)
            hello = self.hello_ceiling()
            events = self.events_throughput(api)
            self.results["events"] = {"hello_rps": hello, **events, "ratio": events["events_per_s"] / hello}
        if not a.skip_report:
            print(f"\n2. report over {a.first_day:%Y-%m}", flush=True)
            facts = generate_month(db_url, a, order_base=10 * a.senders, user_base=10 * a.senders)
            print(f"  facts: {facts}", flush=True)
            t = time.monotonic()
            rebuilt = rebuild_rollups(env, a.first_day, a.next_month)
            print(f"  rollup rebuilt from the invites in {time.monotonic() - t:.1f}s ({rebuilt:,} invites)",
                  flush=True)
            self.results["report"] = {"facts": facts, "timings": self.time_reports(api)}
            paid = self.results["report"]["timings"]["day"]["totals"]["paid_orders"]
            if paid != facts["paid_orders"]:
                raise RuntimeError(f"the report counts {paid} paid orders, {facts['paid_orders']} were generated")
        self.summary()

    def summary(self) -> None:
        line = "=" * 78
        print(f"\n{line}\nSUMMARY (machine: {os.cpu_count()} cores, shared)")
        if "events" in self.results:
            e = self.results["events"]
            print(f"  events accepted: {e['events_per_s']:,.0f}/s in batches of {self.args.batch}; hello-world "
                  f"{e['hello_rps']:,.0f} req/s; ratio {e['ratio']:.2f} (target >= 0.5) -> "
                  f"{'MET' if e['ratio'] >= 0.5 else 'NOT MET'}")
        if "report" in self.results:
            r = self.results["report"]
            worst = max(t["warm_worst"] for t in r["timings"].values())
            first = max(t["first"] for t in r["timings"].values())
            print(f"  month report over {r['facts']['total_events']:,} funnel events "
                  f"({r['facts']['paid_orders']:,} paid orders): slowest warm {worst:.3f}s (target <= 2 s) -> "
                  f"{'MET' if worst <= 2 else 'NOT MET'}; first run (freezes the month's paid orders) {first:.3f}s")
        print(line, flush=True)

    def cleanup(self, keep_logs: bool) -> None:
        self.stack.stop_all()
        try:
            client = redis.Redis.from_url(self.args.redis_url)
            keys = list(client.scan_iter(match=f"*{self.queue_prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i:i + 500])
        except redis.RedisError as exc:
            print(f"  could not clean Redis keys: {exc}")
        if keep_logs:
            print(f"logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def rebuild_rollups(env: dict, first_day: date, next_month: date) -> int:
    """The app's own rebuild (backend.community.rebuild), in a subprocess with the bench env."""
    code = ("import sys; from datetime import date; from backend import create_app; "
            "from backend.community.rebuild import rebuild; from backend.extensions import db\n"
            "app = create_app()\nwith app.app_context():\n"
            f"    n = rebuild(date.fromisoformat('{first_day}'), date.fromisoformat('{next_month}'))\n"
            "    db.session.commit()\n    print(n)\n")
    done = subprocess.run([PY, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"rebuild failed:\n{done.stderr}")
    return int(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_to_end(Bench(args), args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
