"""What the metrics cost the payment notify: CPU per notify with the counters on and
off, in ONE run (the same process, database and warm caches), alternating blocks.

In one process it builds the app on a PostgreSQL database of its own (seeded like
bench/payout_latency.py), in Prometheus's multiprocess mode as under gunicorn
(``PROMETHEUS_MULTIPROC_DIR``: every counter is a write to a memory-mapped file), and
posts signed payment notifies through the app's test client: ``--blocks`` blocks of
``--block`` notifies, metrics on and off in turn (``metrics.events.configure``, what
``METRICS_ENABLED`` sets). The CPU time of this process per notify (the request
hooks, the view, SQLAlchemy, the enqueue of the credit job; not PostgreSQL's or
Redis's own CPU) is compared by the median of the blocks. No worker runs: the credit
jobs wait in Redis and are deleted at the end.

    .venv/bin/python bench/metrics_overhead.py [--blocks 20] [--block 100]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/6]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from seed import prepare_database, seed  # noqa: E402
from wechat_notify import is_success_reply, payment_notify  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--blocks", type=int, default=20, help="blocks in all, half with metrics on")
    p.add_argument("--block", type=int, default=100, help="notifies per block")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="the PostgreSQL server (its database is not used)")
    p.add_argument("--bench-db", default="fission_bench_metrics", help="dedicated database, dropped and recreated")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    p.add_argument("--target", type=float, default=0.05, help="the most the metrics may add, as a fraction")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    tag = secrets.token_hex(4).upper()
    work = Path(tempfile.mkdtemp(prefix="fission-metrics-"))
    (work / "metrics").mkdir()
    db_url = prepare_database(a.database_url, a.bench_db)
    prefix = f"benchm{tag.lower()}"
    os.environ.update({
        "DATABASE_URL": db_url, "REDIS_URL": a.redis_url, "QUEUE_PREFIX": prefix, "WECHAT_SANDBOX": "1",
        "FISSION_INSTANCE_DIR": str(work / "instance"), "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        "LOG_LEVEL": "WARNING", "RATE_LIMITS_ENABLED": "0",
    })
    from flask_migrate import upgrade

    from backend import create_app
    from backend.config import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY, load_config
    from backend.extensions import redis_client
    from backend.metrics import events

    app = create_app(load_config())
    with app.app_context():
        upgrade()
    n = a.warmup + a.blocks * a.block
    orders = seed(db_url, n, 200, 1000, tag)
    bodies = [payment_notify(appid=SANDBOX_APPID, mch_id=SANDBOX_MCH_ID, api_key=SANDBOX_PAY_API_KEY,
                             out_trade_no=o.out_trade_no, total_fen=o.total_fen, openid=o.openid,
                             transaction_id=o.transaction_id) for o in orders]
    client = app.test_client()

    def post(body: bytes) -> None:
        r = client.post("/api/v1/payments/wechat/notify", data=body, headers={"Content-Type": "text/xml"})
        if r.status_code != 200 or not is_success_reply(r.data):
            raise SystemExit(f"notify refused: {r.status_code} {r.data[:200]!r}")

    print(f"metrics overhead bench (run {tag}): {a.blocks} blocks of {a.block} notifies, on/off in turn, "
          f"multiprocess mode; PostgreSQL {a.bench_db}", flush=True)
    for body in bodies[:a.warmup]:
        post(body)
    cpu: dict[bool, list[float]] = {True: [], False: []}
    wall: dict[bool, list[float]] = {True: [], False: []}
    cursor = a.warmup
    for i in range(a.blocks):
        on = i % 4 in (0, 3)  # on, off, off, on, ...: neither always goes first
        events.configure(on)
        c0, w0 = time.process_time(), time.perf_counter()
        for body in bodies[cursor:cursor + a.block]:
            post(body)
        cpu[on].append((time.process_time() - c0) / a.block)
        wall[on].append((time.perf_counter() - w0) / a.block)
        cursor += a.block
    events.configure(True)
    with app.app_context():
        conn = redis_client()
        keys = list(conn.scan_iter(match=f"*{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            conn.delete(*keys[i:i + 500])

    on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
    added = on / off - 1
    print("\n" + "=" * 90)
    print(f"SUMMARY  CPU of this process per payment notify, median of {a.blocks // 2} blocks each")
    print("=" * 90)
    print(f"  metrics on : {on * 1000:.3f} ms CPU  ({statistics.median(wall[True]) * 1000:.3f} ms wall)")
    print(f"  metrics off: {off * 1000:.3f} ms CPU  ({statistics.median(wall[False]) * 1000:.3f} ms wall)")
    verdict = "MET" if added <= a.target else "NOT MET"
    print(f"  the metrics add {added:+.1%} CPU (target <= {a.target:.0%}) -> {verdict}")
    print(f"  blocks on : {' '.join(f'{x * 1000:.2f}' for x in cpu[True])}")
    print(f"  blocks off: {' '.join(f'{x * 1000:.2f}' for x in cpu[False])}")
    print("=" * 90, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
