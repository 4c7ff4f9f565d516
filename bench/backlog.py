"""A backlog of pending payouts being drained, and what it does to payment notifies.

On PostgreSQL, with the real stack (emulator, gunicorn API; RQ workers and the
sweeper started later), it pays ``--backlog / 2`` seeded orders through signed
payment notifies while no worker runs, so their payouts wait ``pending`` exactly as
``mark_paid`` wrote them (2 per order). Then it starts the workers, which drain the
backlog in credit batches, and during the drain sends ``--notifies`` more notifies
(other seeded orders, ``--rate``/s) and times each until its HTTP answer (the notify
commits before it answers SUCCESS). Meanwhile it samples ``pg_stat_activity`` every
``--sample-ms`` for the app's connections (each process names its own,
``PGAPPNAME=fission-api`` / ``fission-worker-N`` / ``fission-sweeper``): the longest
open transaction seen (``now() - xact_start``), by state and statement.

    .venv/bin/python bench/backlog.py [--backlog 2000] [--notifies 50] [--rate 10]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url URL]

``--bench-db`` (fission_bench_backlog) is dropped and recreated; the database named in
``--database-url`` is never used.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from payout_latency import Bench, ms, pct  # noqa: E402
from seed import prepare_database, seed  # noqa: E402
from stack import free_port, run_to_end  # noqa: E402

APP_PREFIX = "fission-"
ACTIVITY_SQL = """
    SELECT pid, application_name, state, xact_start, extract(epoch FROM now() - xact_start),
           left(regexp_replace(query, '\\s+', ' ', 'g'), 160), coalesce(wait_event_type, '')
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
      AND application_name LIKE 'fission-%'"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backlog", type=int, default=2000, help="pending payouts to build (2 per order)")
    p.add_argument("--notifies", type=int, default=50, help="notifies sent during the drain")
    p.add_argument("--rate", type=float, default=10.0, help="their rate per second")
    p.add_argument("--seed-rate", type=float, default=200.0, help="rate of the notifies that build the backlog")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="the PostgreSQL server (its database is not used)")
    p.add_argument("--bench-db", default="fission_bench_backlog", help="dedicated database, dropped and recreated")
    p.add_argument("--redis-url", default=None,
                   help="default: a redis-server of the bench's own on a free port, stopped at the end")
    p.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    p.add_argument("--sender-threads", type=int, default=32)
    p.add_argument("--sample-ms", type=float, default=50.0, help="pg_stat_activity sampling interval")
    p.add_argument("--drain-timeout", type=float, default=120.0)
    p.add_argument("--level2", type=int, default=200)
    p.add_argument("--level1", type=int, default=1000)
    p.add_argument("--p99-target", type=float, default=1.0, help="seconds, for the notify answers")
    p.add_argument("--xact-target", type=float, default=1.0, help="seconds, the longest transaction allowed")
    p.add_argument("--keep-logs", action="store_true")
    return p.parse_args(argv)


@dataclass
class Seen:
    """The longest sample of one kind of open transaction."""
    seconds: float = 0.0
    app: str = ""
    state: str = ""
    query: str = ""
    wait: str = ""

    def offer(self, seconds: float, app: str, state: str, query: str, wait: str) -> None:
        if seconds > self.seconds:
            self.seconds, self.app, self.state, self.query, self.wait = seconds, app, state, query, wait

    def line(self) -> str:
        if not self.app:
            return "none seen"
        wait = f", waiting on {self.wait}" if self.wait else ""
        return f"{self.seconds * 1000:.0f} ms ({self.app}, {self.state}{wait}): {self.query}"


@dataclass(eq=False)  # a thread: hashed by identity
class ActivitySampler(threading.Thread):
    url: str
    interval: float
    overall: Seen = field(default_factory=Seen)
    by_state: dict = field(default_factory=dict)  # state -> Seen
    by_app: dict = field(default_factory=dict)  # app kind (api, worker, sweeper) -> Seen
    by_query: dict = field(default_factory=dict)  # (state, query) -> Seen
    xacts: dict = field(default_factory=dict)  # (pid, xact_start) -> longest seconds seen
    samples: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        super().__init__(daemon=True, name="pg-activity")
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True, application_name="bench-sampler") as conn:
                while not self.stopping.is_set():
                    t = time.monotonic()
                    for pid, app, state, start, seconds, query, wait in conn.execute(ACTIVITY_SQL).fetchall():
                        self.take(pid, app, state or "", start, float(seconds or 0.0), query or "", wait)
                    self.samples += 1
                    self.stopping.wait(max(0.0, self.interval - (time.monotonic() - t)))
        except BaseException as exc:  # reported by the bench
            self.error = exc

    def take(self, pid, app, state, start, seconds, query, wait) -> None:
        kind = app.removeprefix(APP_PREFIX).rstrip("0123456789").rstrip("-")
        self.overall.offer(seconds, app, state, query, wait)
        self.by_state.setdefault(state, Seen()).offer(seconds, app, state, query, wait)
        self.by_app.setdefault(kind, Seen()).offer(seconds, app, state, query, wait)
        self.by_query.setdefault((kind, state, query[:80]), Seen()).offer(seconds, app, state, query, wait)
        self.xacts[(pid, start)] = max(seconds, self.xacts.get((pid, start), 0.0))


class DrainPoller(threading.Thread):
    """When the backlog's pending payouts (ids up to ``last_id``) first reach 0."""

    def __init__(self, url: str, last_id: int, interval: float) -> None:
        super().__init__(daemon=True, name="drain-poller")
        self.url, self.last_id, self.interval = url, last_id, interval
        self.first_credit: float | None = None
        self.drained: float | None = None
        self.initial: int | None = None
        self.error: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True, application_name="bench-poller") as conn:
                while not self.stopping.is_set():
                    t = time.monotonic()
                    left = conn.execute("SELECT count(*) FROM payouts WHERE status = 'pending' AND id <= %s",
                                        (self.last_id,)).fetchone()[0]
                    if self.initial is None:
                        self.initial = left
                    if self.first_credit is None and left < self.initial:
                        self.first_credit = t
                    if left == 0:
                        self.drained = t
                        return
                    self.stopping.wait(max(0.0, self.interval - (time.monotonic() - t)))
        except BaseException as exc:
            self.error = exc


class BacklogBench(Bench):
    def __init__(self, args: argparse.Namespace) -> None:
        self.redis_port = None
        if args.redis_url is None:
            self.redis_port = free_port()
            args.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        super().__init__(args)

    def send(self, orders, rate: float) -> tuple[float, list]:
        self.sender_conn.send(("step", rate, [o.wire() for o in orders]))
        kind, t0 = self.sender_conn.recv()
        assert kind == "started"
        kind, sent = self.sender_conn.recv()
        assert kind == "done"
        return t0, sent

    def run(self) -> None:
        a = self.args
        n_backlog = (a.backlog + 1) // 2
        print(f"Fission backlog bench (run {self.tag}, logs in {self.work})", flush=True)
        if self.redis_port:
            self.stack.start_redis(self.redis_port)
        db_url = prepare_database(a.database_url, a.bench_db)
        emu_url, app_port = f"http://127.0.0.1:{free_port()}", free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        env = self.env(db_url, emu_url, app_port)
        self.migrate(env)
        orders = seed(db_url, n_backlog + a.notifies, a.level2, a.level1, self.tag)
        backlog_orders, live_orders = orders[:n_backlog], orders[n_backlog:]
        self.start_emulator_and_api(env, emu_url, app_url)
        self.start_sender(app_url)
        t = time.monotonic()
        _, sent = self.send(backlog_orders, a.seed_rate)
        failed = [s for s in sent if not s.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} backlog notifies failed, first: {failed[0].detail}")
        with psycopg.connect(db_url) as conn:
            pending, last_id = conn.execute(
                "SELECT count(*), coalesce(max(id), 0) FROM payouts WHERE status = 'pending'").fetchone()
            credited = conn.execute("SELECT count(*) FROM payouts WHERE status <> 'pending'").fetchone()[0]
        print(f"backlog: {len(backlog_orders)} orders paid by notify with no worker running in "
              f"{time.monotonic() - t:.1f}s -> {pending} pending payouts ({credited} not pending)", flush=True)
        if pending != 2 * len(backlog_orders) or credited:
            raise RuntimeError("the backlog is not what the bench meant to build")

        sampler = ActivitySampler(db_url, a.sample_ms / 1000)
        sampler.start()
        drain = DrainPoller(db_url, last_id, 0.05)
        drain.start()
        t_workers = time.monotonic()
        self.start_workers(env)
        t_registered = time.monotonic()
        print(f"{a.workers} RQ workers and the sweeper started; registered after {t_registered - t_workers:.1f}s; "
              f"sending {len(live_orders)} notifies at {a.rate:.0f}/s during the drain", flush=True)
        t0, sent = self.send(live_orders, a.rate)
        drain.join(timeout=a.drain_timeout)
        drain.stopping.set()
        time.sleep(0.5)  # what the last batch's commit leaves, sampled too
        sampler.stopping.set()
        sampler.join(timeout=5)
        for thread in (sampler, drain):
            if thread.error:
                raise RuntimeError(f"{thread.name} failed: {thread.error!r}")
        self.stack.check_alive()
        self.report_backlog(sent, drain, sampler, t_workers, t_registered, db_url)

    def report_backlog(self, sent, drain: DrainPoller, sampler: ActivitySampler, t_workers: float,
                       t_registered: float, db_url: str) -> None:
        a = self.args
        replies = [s.replied - s.sent for s in sent]
        failures = [s for s in sent if not s.ok]
        during = sum(1 for s in sent if drain.drained is None or s.sent < drain.drained)
        with psycopg.connect(db_url) as conn:
            left = conn.execute("SELECT count(*) FROM payouts WHERE status = 'pending'").fetchone()[0]
        print("\nlongest open transaction by process and state (sampled every "
              f"{a.sample_ms:.0f} ms, {sampler.samples} samples):")
        for (kind, state, _), seen in sorted(sampler.by_query.items(), key=lambda kv: -kv[1].seconds)[:12]:
            print(f"  {kind:8s} {state:20s} {seen.seconds * 1000:7.0f} ms  {seen.query}")
        long_ones = sorted(s for s in sampler.xacts.values() if s > a.xact_target)
        line = "=" * 100
        p99 = pct(replies, 0.99)
        worst = sampler.overall.seconds
        print(f"\n{line}\nSUMMARY  backlog {2 * ((a.backlog + 1) // 2)} pending payouts, {a.workers} RQ worker(s), "
              f"gunicorn --workers {a.web_workers} --threads {a.threads}; PostgreSQL")
        print(line)
        print(f"  notifies during the drain: {len(sent)} at {a.rate:.0f}/s ({during} sent before the backlog was "
              f"drained), failed {len(failures)}" + (f" (first: {failures[0].detail})" if failures else ""))
        print(f"  notify answer  p50 {ms(pct(replies, 0.5)).strip()} ms  p99 {ms(p99).strip()} ms  "
              f"max {ms(max(replies, default=float('nan'))).strip()} ms  (target p99 <= {a.p99_target:.1f} s) -> "
              f"{'MET' if p99 <= a.p99_target and not failures else 'NOT MET'}")
        print(f"  longest transaction overall: {sampler.overall.line()}")
        print(f"  longest transaction on the paid path (API): {sampler.by_app.get('api', Seen()).line()}")
        for kind in sorted(k for k in sampler.by_app if k != "api"):
            print(f"  longest transaction of {kind}: {sampler.by_app[kind].line()}")
        for state in sorted(sampler.by_state):
            print(f"  longest '{state}': {sampler.by_state[state].seconds * 1000:.0f} ms "
                  f"({sampler.by_state[state].app})")
        print(f"  transactions seen open > {a.xact_target:.1f} s: {len(long_ones)} of {len(sampler.xacts)} "
              f"(target none) -> {'MET' if worst <= a.xact_target else 'NOT MET'}")
        if drain.drained is not None:
            first = f"{drain.first_credit - t_workers:.2f}s" if drain.first_credit else "n/a"
            print(f"  time to drain the backlog: {drain.drained - t_workers:.2f}s from starting the workers "
                  f"({drain.drained - t_registered:.2f}s from their registration; first credit after {first}); "
                  f"{(drain.initial or 0) / max(drain.drained - t_workers, 1e-6):.0f} payouts/s")
        else:
            print(f"  backlog NOT drained within {a.drain_timeout:.0f}s")
        print(f"  payouts still pending at the end: {left}")
        print(line, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_to_end(BacklogBench(args), args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
