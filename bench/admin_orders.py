"""The operators' order list over two million orders: p50/p95 of each filter's first page.

    .venv/bin/python bench/admin_orders.py postgresql://postgres@127.0.0.1:5432/postgres \
        [--db fission_bench_orders] [--orders 2000000] [--runs 50] [--reuse]

Creates (or empties) the database ``--db`` on that server, applies the migrations,
loads ``--orders`` orders of 20,000 users with set-based INSERT … SELECT, ANALYZEs,
then times ``GET /api/v1/admin/orders`` through the app (Flask's test client: the
view, its schema, the queries; no network) for the unfiltered list and each filter.
The target (docs/admin-orders.md) is p95 ≤ 100 ms for the unfiltered first page: its
total is PostgreSQL's row estimate, not a count of every order.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from seed import prepare_database, with_database  # noqa: E402

USERS = 20_000


def load(url: str, n_orders: int) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi:app", "db", "upgrade"], cwd=BENCH.parent,
                   env=env, check=True, capture_output=True)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (openid, nickname, avatar_url, created_at, distributor_status, depth, has_paid_order) "
            "SELECT 'bench-' || g, 'user ' || g, '', now(), 'approved', 0, true FROM generate_series(1, %s) g",
            (USERS,))
        low = conn.execute("SELECT min(id) FROM users").fetchone()[0]
        conn.execute("INSERT INTO products (title, price_fen, stock, active, created_at, updated_at) "
                     "VALUES ('bench part', 10000, 0, true, now(), now())")
        # statuses as a shop has them: mostly completed, a few of the others
        conn.execute(
            "INSERT INTO orders (user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at, "
            "expires_at, paid_at, level1_id, level2_id, chain_source) "
            "SELECT %(low)s + (g * 7919) %% %(users)s, "
            "  (ARRAY['completed','completed','completed','completed','completed','completed','paid','shipped',"
            "         'refunded','cancelled','pending_payment','partially_refunded'])[1 + g %% 12], "
            "  10000, 10000, 0, 'FOB' || g, now() - (g || ' seconds')::interval, now(), "
            "  now() - (g || ' seconds')::interval, %(low)s + (g * 104729) %% 2000, %(low)s + g %% 500, 'binding' "
            "FROM generate_series(1::bigint, %(n)s::bigint) g", {"low": low, "users": USERS, "n": n_orders})
        conn.execute(
            "INSERT INTO order_items (order_id, product_id, title, quantity, unit_price_fen, amount_fen) "
            "SELECT o.id, p.id, 'part', 1, 10000, 10000 FROM orders o CROSS JOIN "
            "(SELECT id FROM products LIMIT 1) p WHERE o.id % 10 = 0")
        conn.execute("ANALYZE")
    print(f"loaded {n_orders:,} orders in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def time_list(url: str, runs: int) -> None:
    os.environ["DATABASE_URL"] = url
    from backend import create_app
    from backend.auth.service import ensure_first_admin
    from backend.extensions import db

    app = create_app()
    with app.app_context():
        ensure_first_admin("bench", "bench-password-1")
        db.session.commit()
        low = db.session.execute(db.text("SELECT min(id) FROM users")).scalar()
    client = app.test_client()
    token = client.post("/api/v1/admin/auth/login", json={"username": "bench", "password": "bench-password-1"}
                        ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    today = datetime.now().date()
    cases = {
        "unfiltered": {},
        "unfiltered page 50": {"page": 50},
        "status=refunded": {"status": "refunded"},
        "status=completed": {"status": "completed"},
        "buyer_id": {"buyer_id": low + 17},
        "distributor_id": {"distributor_id": low + 3},
        "paid yesterday": {"paid_from": (today - timedelta(days=1)).isoformat(),
                           "paid_to": (today - timedelta(days=1)).isoformat()},
        "q=out_trade_no": {"q": "FOB123456"},
    }
    print(f"{'case':22} {'p50 ms':>8} {'p95 ms':>8} {'total':>10} estimate")
    for name, params in cases.items():
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            r = client.get("/api/v1/admin/orders", query_string=params, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"{name:22} {statistics.median(samples):8.1f} {p95:8.1f} {body['total']:>10,} "
              f"{body['total_is_estimate']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server_url")
    parser.add_argument("--db", default="fission_bench_orders")
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="time the database loaded by an earlier run")
    args = parser.parse_args()
    if args.reuse:
        url = with_database(args.server_url, args.db)
    else:
        url = prepare_database(args.server_url, args.db)
        load(url, args.orders)
    time_list(url, args.runs)


if __name__ == "__main__":
    main()
