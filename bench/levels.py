"""The nightly distributor passes over the big bench database (issue 16).

Uses the database of bench/big_tree.py (1,000,000 users, 5,000,000 ledger entries and
their orders on PostgreSQL, generated once and reused) and times, in this process,
against that database:

1. the levels pass (``backend.levels.jobs.nightly``) with three levels defined, from a
   clean start (nobody has a level: the first night after levels are introduced, when
   the most people move) and then again (a steady night: the month already judged);
2. the channel health pass (``backend.channel.health.run_pass``): every approved
   distributor's figures;
3. the two together, as the night runs them (target ≤ 60 s).

Both passes are set-based: the bench prints the statements they sent, so a pass that
turns into one statement per distributor shows up in the figures as well as the time.
The level thresholds are chosen from the data (quantiles of the 30-day GMV), so that
the first night has upgrades at every level whatever the generation's seed.

    .venv/bin/python bench/levels.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import big_tree  # noqa: E402

TARGET_S = 60.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument("--bench-db", default="fission_bench_lb", help="the big bench database (bench/big_tree.py)")
    p.add_argument("--users", type=int, default=big_tree.DEFAULT_USERS)
    p.add_argument("--entries", type=int, default=big_tree.DEFAULT_ENTRIES)
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each pass (the median is reported)")
    return p.parse_args(argv)


def thresholds(url: str) -> list[dict]:
    """Three levels whose GMV conditions sit at the 50th, 90th and 99th percentile of the
    distributors' 30-day own GMV, so each level has members on the first night."""
    with psycopg.connect(url, autocommit=True) as conn:
        q50, q90, q99 = conn.execute("""
            SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY gmv)
            FROM (SELECT level1_id, sum(paid_fen - refunded_fen) AS gmv FROM orders
                  WHERE paid_at >= now() - interval '30 days' AND level1_id IS NOT NULL
                  GROUP BY level1_id) s""").fetchone()[0]
    return [
        dict(rank=0, name="bench-银牌", level1_bp=1200, level2_bp=400, window_days=30, min_gmv_fen=int(q50),
             min_customers=1, min_team_gmv_fen=0),
        dict(rank=1, name="bench-金牌", level1_bp=1500, level2_bp=500, window_days=30, min_gmv_fen=int(q90),
             min_customers=3, min_team_gmv_fen=int(q90)),
        dict(rank=2, name="bench-钻石", level1_bp=1800, level2_bp=600, window_days=90, min_gmv_fen=int(q99),
             min_customers=5, min_team_gmv_fen=int(q99) * 2),
    ]


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *args, **kwargs):
        self.count += 1


def reset_levels(app, levels: list[dict]) -> None:
    from sqlalchemy import delete, insert, update

    from backend.auth.models import User
    from backend.extensions import db
    from backend.levels.models import DistributorLevel, LevelChange

    with app.app_context():
        db.session.execute(delete(LevelChange))
        db.session.execute(update(User).where(User.level_id.is_not(None) | User.level_checked_period.is_not(None))
                           .values(level_id=None, level_missed_periods=0, level_checked_period=None))
        db.session.execute(delete(DistributorLevel))
        if levels:
            db.session.execute(insert(DistributorLevel), levels)
        db.session.commit()
        db.session.remove()


def timed(app, counter, fn) -> tuple[float, int, dict]:
    from backend.extensions import db

    with app.app_context():
        before = counter.count
        t = time.perf_counter()
        stats = fn()
        elapsed = time.perf_counter() - t
        db.session.remove()
    return elapsed, counter.count - before, stats


def main(argv=None) -> int:
    a = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fission-levels-bench-"))
    env = big_tree.app_env("", a.redis_url, "levelsbench", work)
    url, gen = big_tree.ensure(a.database_url, a.bench_db, a.users, a.entries, a.regenerate, env)
    for key in ("DATABASE_URL", "REDIS_URL", "QUEUE_PREFIX", "SECRET_KEY", "FISSION_INSTANCE_DIR", "WECHAT_SANDBOX",
                "WECHAT_EMULATOR_URL", "LOG_LEVEL"):
        os.environ[key] = env[key]
    os.environ["DATABASE_URL"] = url
    from backend import create_app
    from backend.channel import health
    from backend.extensions import db
    from backend.levels import jobs as level_jobs

    app = create_app()
    with app.app_context():
        counter = StatementCounter(db.engine)
    with psycopg.connect(url, autocommit=True) as conn:
        users, distributors, orders, entries = conn.execute("""
            SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE distributor_status = 'approved'),
                   (SELECT count(*) FROM orders), (SELECT count(*) FROM ledger_entries)""").fetchone()
    print(f"database {a.bench_db}: {users:,} users ({distributors:,} approved distributors), {orders:,} orders, "
          f"{entries:,} ledger entries", flush=True)
    levels = thresholds(url)
    print("levels: " + "; ".join(f"{lv['name']} GMV ≥ {lv['min_gmv_fen']:,} fen over {lv['window_days']} d"
                                 for lv in levels), flush=True)

    first, steady, channel = [], [], []
    for run in range(a.repeat):
        reset_levels(app, levels)
        s, n, stats = timed(app, counter, level_jobs.nightly)
        first.append(s)
        print(f"  run {run + 1}: levels, first night {s:6.1f} s, {n:,} statements, {stats}", flush=True)
        s, n, stats = timed(app, counter, level_jobs.nightly)
        steady.append(s)
        print(f"  run {run + 1}: levels, steady night {s:6.1f} s, {n:,} statements, {stats}", flush=True)
        s, n, stats = timed(app, counter, health.run_pass)
        channel.append(s)
        print(f"  run {run + 1}: channel health {s:6.1f} s, {n:,} statements, {stats}", flush=True)
    reset_levels(app, [])

    med = statistics.median
    worst_night = med(first) + med(channel)
    print("\n| pass | median s | runs |")
    print("| --- | --- | --- |")
    print(f"| levels, first night (every move) | {med(first):.1f} | {', '.join(f'{x:.1f}' for x in first)} |")
    print(f"| levels, steady night | {med(steady):.1f} | {', '.join(f'{x:.1f}' for x in steady)} |")
    print(f"| channel health | {med(channel):.1f} | {', '.join(f'{x:.1f}' for x in channel)} |")
    verdict = "MET" if worst_night <= TARGET_S else "NOT MET"
    print(f"| levels (first night) + channel health | {worst_night:.1f} | target ≤ {TARGET_S:.0f} s: {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
