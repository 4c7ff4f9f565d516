"""GET /api/v1/admin/dashboard on a big PostgreSQL database: p50 / p95 of N reads.

Fills a dedicated database (default ``fission_bench_dashboard``) with ``USERS`` users
and ``ORDERS`` paid orders spread over the last 365 days, each with one
``commission_earned`` ledger entry, by set-based INSERT … SELECT; rolls up the closed
days as the sweeper does; then times the endpoint through the app (test client, one
admin token)::

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/fission_bench_dashboard \\
        .venv/bin/python bench/dashboard.py [--fill] [--reads 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

USERS, ORDERS = 200_000, 2_000_000
FILL = f"""
INSERT INTO users (id, openid, nickname, avatar_url, created_at, distributor_status, depth, has_paid_order,
                   distributor_since)
SELECT g, 'o' || g, 'u' || g, '', now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second',
       CASE WHEN g % 10 = 0 THEN 'approved' ELSE 'none' END, 0, true,
       CASE WHEN g % 10 = 0 THEN now() - (g % 365) * interval '1 day' END
FROM generate_series(1, {USERS}) g;
INSERT INTO orders (id, user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at, expires_at,
                    paid_at, level1_id)
SELECT g, 1 + g % {USERS}, 'paid', 10000, 10000, 0, 'T' || g, t, t, t, 10 * (1 + g % {USERS // 10})
FROM (SELECT g, now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second' AS t
      FROM generate_series(1, {ORDERS}) g) s;
INSERT INTO ledger_entries (idempotency_key, kind, user_id, debit_account, credit_account, amount_fen, order_id,
                            memo, created_at)
SELECT 'k' || id, 'commission_earned', level1_id, 'shop:commission_expense', 'user:' || level1_id || ':pending',
       1000, id, '', paid_at FROM orders;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fill", action="store_true", help="migrate and fill the (empty) database first")
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fission_bench_dashboard")
    os.environ["DATABASE_URL"] = url
    from flask_migrate import upgrade
    from sqlalchemy import text

    from backend import create_app
    from backend.admin import dashboard
    from backend.auth.service import admin_login, ensure_first_admin
    from backend.extensions import db
    from backend.transactions import unit_of_work

    app = create_app()
    with app.app_context():
        if args.fill:
            upgrade()
            with db.engine.begin() as conn:
                conn.exec_driver_sql(FILL)
        with unit_of_work("bench setup"):
            ensure_first_admin("bench", "bench-password")
            started = time.perf_counter()
            rolled = dashboard.roll_up_due()
        print(f"rolled up {len(rolled)} day(s) in {time.perf_counter() - started:.1f}s")
        with unit_of_work("bench login"):
            _, token = admin_login("bench", "bench-password")
        print("orders:", db.session.scalar(text("SELECT count(*) FROM orders")))
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for _ in range(args.reads):
        started = time.perf_counter()
        r = client.get("/api/v1/admin/dashboard", headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    times.sort()
    print(f"dashboard: p50 {statistics.median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms, "
          f"max {times[-1]:.0f} ms over {len(times)} reads; today {r.json['today']}")


if __name__ == "__main__":
    main()
