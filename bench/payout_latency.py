"""Payment notify → both commissions available: latency under a steady notify rate.

Runs the real system as ``make run`` does (WeChat emulator in sandbox mode, the API
under gunicorn, RQ workers, the sweeper) against a dedicated PostgreSQL database
and a Redis database index, seeds two-level chains and payable orders with bulk SQL,
then for each rate step sends signed WeChat Pay v2 payment notifies open-loop from a
separate process and polls the database for the moment both commissions of each
order are ``available``. It also measures a Flask hello-world under the same gunicorn
settings (closed loop, wrk) as the ceiling, and the RSS of the RQ workers. On a
server with autovacuum off it vacuums the tables the paid path updates every 10 s,
as autovacuum would (bench/vacuum.py), and says so.

    .venv/bin/python bench/payout_latency.py [--orders 2000] [--rates 50,100,200,300,400]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/5]
        [--workers 2]

``--database-url`` names the server; the benchmark creates and uses the database
``--bench-db`` (fission_bench) on it and never touches the one in the URL.
Each step sends ``min(--orders, rate × --duration)`` notifies.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import redis
import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from metrics_scrape import lag_buckets, quantile  # noqa: E402
from risk_seed import seed_facts, set_rules  # noqa: E402
from seed import SeedOrder, prepare_database, seed  # noqa: E402
from sender import Credentials, Sent, sender_main  # noqa: E402
from stack import CpuMeter, Stack, free_port, processes_named, rss_mb, run_to_end, tree, wait_http  # noqa: E402
from vacuum import HOT_TABLES, StandInVacuum, autovacuum_is_on  # noqa: E402

from backend.config import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY  # noqa: E402

PY = sys.executable
FLASK = [PY, "-m", "flask", "--app", "wsgi:app"]
METRICS_TOKEN = "bench-metrics-token"  # noqa: S105 - the bench's own API, on loopback
COMPLETED_SQL = """
    SELECT order_id FROM commissions
    WHERE order_id = ANY(%s) AND status = 'available'
    GROUP BY order_id HAVING count(*) = 2"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=2000, help="most notifies per rate step (default 2000)")
    p.add_argument("--rates", default="50,75,100,125,150,175,200,250,300",
                   help="offered notify rates per second, in order")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per step (capped by --orders)")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test",
                   help="the PostgreSQL server (its database is not used)")
    p.add_argument("--bench-db", default="fission_bench", help="dedicated database, dropped and recreated")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    p.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread)")
    p.add_argument("--sender-threads", type=int, default=64, help="concurrent connections of the sender")
    p.add_argument("--warmup", type=int, default=100, help="notifies sent at 50/s before the steps (not reported)")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to wait for completion after a step")
    p.add_argument("--poll-interval", type=float, default=0.02)
    p.add_argument("--p99-target", type=float, default=1.0, help="seconds")
    p.add_argument("--hello-seconds", type=float, default=8.0)
    p.add_argument("--level2", type=int, default=200, help="level-2 (root) distributors")
    p.add_argument("--level1", type=int, default=1000, help="level-1 distributors")
    p.add_argument("--stop-after", type=int, default=2,
                   help="skip the higher rates after this many steps in a row not sustained (or one left unfinished)")
    p.add_argument("--risk", choices=("off", "on", "both"), default="both",
                   help="risk rules and distributor levels off, on, or both: the plan runs with them off, "
                        "then on (same run; default)")
    p.add_argument("--interleave", type=int, default=0,
                   help="repeat each rate this many times per phase, alternating off and on step by step, and "
                        "compare the medians (for a noisy machine)")
    p.add_argument("--keep-logs", action="store_true", help="keep the temp dir with the child logs")
    p.add_argument("--scrape-metrics", action="store_true",
                   help="scrape /metrics before and after the steps and print its credit-lag p99 next to the bench's")
    args = p.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    return args


# --- small statistics ------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "   n/a" if math.isnan(seconds) else f"{seconds * 1000:6.0f}"


# --- completion polling ------------------------------------------------------------------

class CompletionPoller(threading.Thread):
    """One query every ``interval`` over the step's orders sent and not yet finished; an
    order is done at the start of the first query that sees both its commissions
    ``available`` (the query's snapshot is taken then, so the commit happened before).

    Only orders already due on the sender's schedule are asked about (``begin`` gives
    it; both processes read the same monotonic clock): asking about the whole step from
    its first second made the measuring query cost PostgreSQL more than the system
    under test, about 2,000 index lookups every 20 ms."""

    def __init__(self, url: str, order_ids: list[int], interval: float) -> None:
        super().__init__(daemon=True, name="poller")
        self.url, self.interval = url, interval
        self.queue = list(order_ids)  # in send order
        self.outstanding: set[int] = set()
        self.schedule: tuple[float, float] | None = None  # (t0, rate) once the sender started
        self.done: dict[int, float] = {}
        self.stopping = threading.Event()
        self.queries = 0
        self.error: BaseException | None = None

    def begin(self, t0: float, rate: float) -> None:
        self.schedule = (t0, rate)

    def _admit_due(self, now: float) -> None:
        if self.schedule is None:
            return
        t0, rate = self.schedule
        due = min(len(self.queue), max(0, math.floor((now - t0) * rate) + 1))
        if due:
            self.outstanding.update(self.queue[:due])
            del self.queue[:due]
            self.schedule = (t0 + due / rate, rate)  # the next order's due time starts the count again

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                while (self.queue or self.outstanding) and not self.stopping.is_set():
                    t = time.monotonic()
                    self._admit_due(t)
                    if self.outstanding:
                        rows = conn.execute(COMPLETED_SQL, (list(self.outstanding),)).fetchall()
                        self.queries += 1
                        for (order_id,) in rows:
                            self.done[order_id] = t
                            self.outstanding.discard(order_id)
                    self.stopping.wait(max(0.0, self.interval - (time.monotonic() - t)))
        except BaseException as exc:  # reported by the step
            self.error = exc


# --- the run ------------------------------------------------------------------------------

@dataclass
class StepResult:
    rate: float
    n: int
    achieved_rate: float = 0.0
    send_lag_p99: float = float("nan")
    reply_p50: float = float("nan")
    reply_p99: float = float("nan")
    failed_replies: int = 0
    failure_sample: str = ""
    completed: int = 0
    p50: float = float("nan")
    p99: float = float("nan")
    max: float = float("nan")
    drain: float = float("nan")  # last send → last completion
    throughput: float = float("nan")  # completions per second, first send → last completion
    backlog: int = 0  # payout jobs queued when the last notify was sent
    cpu_cores: dict = field(default_factory=dict)
    cpu_ms_per_order: dict = field(default_factory=dict)
    sustained: bool = False
    latencies: list = field(default_factory=list)
    risk: str = "off"  # the risk rules during the step


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tag = secrets.token_hex(4).upper()
        self.queue_prefix = f"bench{self.tag.lower()}"
        self.work = Path(tempfile.mkdtemp(prefix="fission-bench-"))
        self.stack = Stack(self.work)
        self.metrics_dir = self.work / "metrics"
        self.metrics_dir.mkdir()
        self.lag_p99 = (float("nan"), float("nan"))  # (bench's own, /metrics's) over the measured steps
        self.sender = None
        self.sender_conn = None
        self.redis = redis.Redis.from_url(args.redis_url)
        self.memory: dict[str, dict[str, float]] = {}
        self.hello: dict = {}
        self.steps: list[StepResult] = []
        self.books: dict = {}
        self.skipped: list[float] = []

    # -- environment and processes --
    def env(self, db_url: str, emu_url: str, app_port: int) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WECHAT_", "FISSION_")) and k not in ("DATABASE_URL", "REDIS_URL", "QUEUE_PREFIX")}
        env.update({
            "DATABASE_URL": db_url, "REDIS_URL": self.args.redis_url, "QUEUE_PREFIX": self.queue_prefix,
            "FISSION_INSTANCE_DIR": str(self.work / "instance"), "WECHAT_SANDBOX": "1",
            "WECHAT_EMULATOR_URL": emu_url, "WECHAT_API_BASE": emu_url, "WECHAT_PAY_API_BASE": emu_url,
            "PORT": str(app_port), "LOG_LEVEL": "WARNING", "FLASK_APP": "wsgi:app", "PYTHONUNBUFFERED": "1",
            # every process's counters add up in /metrics (prometheus_client's multiprocess mode)
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir), "METRICS_TOKEN": METRICS_TOKEN,
        })
        return env

    def gunicorn(self, port: int, app: str, extra: list[str]) -> list[str]:
        a = self.args
        return [PY, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(a.web_workers),
                "--threads", str(a.threads), "-k", "gthread", "--log-level", "warning", *extra, app]

    def hello_ceiling(self) -> None:
        print("hello-world ceiling: gunicorn "
              f"--workers {self.args.web_workers} --threads {self.args.threads} -k gthread, closed loop", flush=True)
        port = free_port()
        child = self.stack.start("hello", self.gunicorn(port, "hello_app:app", ["--chdir", str(BENCH)]),
                                 env=self.env("sqlite://", "http://127.0.0.1:9", port), cwd=BENCH)
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, "hello-world gunicorn", child.proc)
        seconds = self.args.hello_seconds
        if shutil.which("wrk"):
            subprocess.run(["wrk", "-t1", "-c16", "-d2s", url], capture_output=True, check=True)  # warm up
            out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds:.0f}s", "--latency", url],
                                 capture_output=True, text=True, check=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            self.hello = {"tool": "wrk -t1 -c16", "rps": rps, "errors": int(errors.group(1)) if errors else 0}
        else:
            self.hello = {"tool": "python threads (16, requests.Session)", **python_closed_loop(url, seconds, 16)}
        self.stack.stop(child)
        print(f"  {self.hello['rps']:.0f} req/s ({self.hello['tool']}, {seconds:.0f}s)", flush=True)

    def migrate(self, env: dict) -> None:
        t = time.monotonic()
        upgrade = subprocess.run([*FLASK, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True)
        if upgrade.returncode != 0:
            raise RuntimeError(f"flask db upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}")
        print(f"flask db upgrade: {time.monotonic() - t:.1f}s", flush=True)

    def start_system(self, env: dict, emu_url: str, app_url: str) -> None:
        self.start_emulator_and_api(env, emu_url, app_url)
        self.start_workers(env)

    def start_emulator_and_api(self, env: dict, emu_url: str, app_url: str) -> None:
        emu_port, app_port = emu_url.rsplit(":", 1)[1], app_url.rsplit(":", 1)[1]
        emu = self.stack.start("emulator", [PY, "-m", "backend.wechat.emulator", "--port", emu_port], env, ROOT)
        wait_http(f"{emu_url}/sandbox/ledger", "the WeChat emulator", emu.proc)
        api = self.stack.start("gunicorn", self.gunicorn(app_port, "wsgi:app", []), {**env, "PGAPPNAME": "fission-api"},
                               ROOT)
        wait_http(f"{app_url}/api/v1/health", "the API", api.proc)

    def start_worker(self, env: dict, name: str):
        """One RQ worker; its database connections are named after it (PGAPPNAME)."""
        return self.stack.start(name, [*FLASK, "fission", "worker"], {**env, "PGAPPNAME": f"fission-{name}"}, ROOT)

    def start_workers(self, env: dict, sweeper: bool = True) -> None:
        """The RQ workers (and the sweeper); returns once they registered in Redis."""
        for i in range(self.args.workers):
            self.start_worker(env, f"worker-{i + 1}")
        if sweeper:
            self.stack.start("sweeper", [*FLASK, "fission", "sweep"], {**env, "PGAPPNAME": "fission-sweeper"}, ROOT)
        deadline = time.monotonic() + 30
        while self.redis.scard(f"rq:workers:{self.queue_prefix}-payouts") < self.args.workers:
            self.stack.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the RQ workers did not register")
            time.sleep(0.1)

    def start_sender(self, app_url: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.sender_conn, child_conn = ctx.Pipe()
        creds = Credentials(SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY)
        self.sender = ctx.Process(target=sender_main, args=(child_conn, app_url, creds, self.args.sender_threads),
                                  name="notify-sender", daemon=True)
        self.sender.start()

    def cpu_groups(self) -> dict:
        api = self.stack.by_prefix("gunicorn")[0].proc.pid
        workers = [c.proc.pid for c in self.stack.by_prefix("worker-")]
        sweeper = self.stack.by_prefix("sweeper")[0].proc.pid
        emulator = self.stack.by_prefix("emulator")[0].proc.pid
        return {
            "gunicorn (API)": lambda: tree(api),
            "rq workers": lambda: [p for pid in workers for p in tree(pid)],
            "postgres": lambda: processes_named("postgres"),
            "redis": lambda: processes_named("redis-server"),
            "emulator": lambda: tree(emulator),
            "sweeper": lambda: tree(sweeper),
            "sender": lambda: tree(self.sender.pid),
            "bench (poller)": lambda: [psutil.Process()],
        }

    def sample_memory(self, label: str) -> None:
        sample = {c.name: rss_mb(c.proc.pid) for c in self.stack.by_prefix("worker-")}
        api = self.stack.by_prefix("gunicorn")[0].proc.pid
        for i, proc in enumerate(tree(api)[1:], start=1):
            sample[f"gunicorn-{i}"] = rss_mb(proc.pid)
        self.memory[label] = sample

    # -- one step --
    def run_interleaved(self, plan, phases, orders, cursor: int, db_url: str, meter) -> int:
        """Each rate ``--interleave`` times in each phase, the phases alternating step by
        step: on a noisy machine a slow spell then hits both phases alike, and the medians
        of the repeats are compared (``report_interleaved``)."""
        for rate, n in plan:
            for rep in range(self.args.interleave):
                for phase in phases:
                    set_rules(db_url, phase == "on")
                    time.sleep(2.0)  # each process keeps the settings a second
                    self.wait_default_queue()
                    step = self.run_step(rate, orders[cursor:cursor + n], db_url, meter)
                    step.risk = phase
                    self.steps.append(step)
                    cursor += n
                    print(f"  ({phase}, repeat {rep + 1})", flush=True)
                    time.sleep(1.0)
        return cursor

    def report_interleaved(self) -> None:
        by: dict[tuple[float, str], list[StepResult]] = {}
        for step in self.steps:
            by.setdefault((step.rate, step.risk), []).append(step)
        print("  interleaved, medians of the repeats (risk rules and levels off | on):")
        for rate in sorted({r for r, _ in by}):
            off, on = by.get((rate, "off"), []), by.get((rate, "on"), [])
            if not off or not on:
                continue
            row = []
            for name, get in (("achieved/s", lambda x: x.achieved_rate), ("done/s", lambda x: x.throughput),
                              ("p50 ms", lambda x: x.p50 * 1000), ("p99 ms", lambda x: x.p99 * 1000)):
                a_, b_ = statistics.median(map(get, off)), statistics.median(map(get, on))
                row.append(f"{name} {a_:.0f} | {b_:.0f} ({(b_ - a_) / a_:+.0%})")
            held = [f"{sum(x.sustained for x in steps)}/{len(steps)}" for steps in (off, on)]
            sustained = f"sustained {held[0]} | {held[1]}"
            print(f"    {rate:5.0f}/s  " + ";  ".join(row) + f";  {sustained}")
            # CPU per paid order is steadier than a tail: what the rules and levels cost, by component
            names = [n for n in ("machine", "gunicorn (API)", "rq workers", "postgres") if n in off[0].cpu_ms_per_order]
            costs = []
            for name in names:
                a_ = statistics.median(x.cpu_ms_per_order[name] for x in off)
                b_ = statistics.median(x.cpu_ms_per_order[name] for x in on)
                costs.append(f"{name} {a_:.1f} | {b_:.1f} ({(b_ - a_) / a_:+.0%})")
            if costs:
                print("             CPU ms per paid order, medians: " + ";  ".join(costs))

    def wait_default_queue(self, timeout: float = 120.0) -> None:
        """Until the default queue (level evaluations, nightly passes) is empty and idle."""
        key = f"rq:queue:{self.queue_prefix}-default"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = self.redis.llen(key) or self.redis.zcard(f"rq:wip:{self.queue_prefix}-default")
            if not busy:
                return
            time.sleep(0.2)
        print(f"  (the default queue was still busy after {timeout:.0f}s)", flush=True)

    def run_step(self, rate: float, orders: list[SeedOrder], db_url: str, meter: CpuMeter | None,
                 quiet: bool = False) -> StepResult:
        result = StepResult(rate=rate, n=len(orders))
        poller = CompletionPoller(db_url, [o.order_id for o in orders], self.args.poll_interval)
        poller.start()
        if meter:
            meter.start()
        self.sender_conn.send(("step", rate, [o.wire() for o in orders]))
        kind, t0 = self.sender_conn.recv()
        assert kind == "started"
        poller.begin(t0, rate)
        kind, sent = self.sender_conn.recv()
        assert kind == "done"
        result.backlog = self.redis.llen(f"rq:queue:{self.queue_prefix}-payouts")
        poller.join(timeout=self.args.drain_timeout)
        poller.stopping.set()
        poller.join(timeout=5)
        if poller.error:
            raise RuntimeError(f"completion poller failed: {poller.error!r}")
        self.stack.check_alive()
        self._fill(result, sent, poller.done)
        if meter:
            seconds, wall = meter.stop()
            seconds["other (not ours)"] = max(0.0, seconds["machine"] - sum(
                v for k, v in seconds.items() if k != "machine"))
            result.cpu_cores = {k: v / wall for k, v in seconds.items()}
            result.cpu_ms_per_order = {k: v / max(result.completed, 1) * 1000 for k, v in seconds.items()}
        if not quiet:
            print(f"  {rate:5.0f}/s  n={result.n:5d}  achieved {result.achieved_rate:6.1f}/s  "
                  f"p50 {ms(result.p50)} ms  p99 {ms(result.p99)} ms  max {ms(result.max)} ms  "
                  f"done {result.completed}/{result.n}  reply p99 {ms(result.reply_p99)} ms  "
                  f"done/s {result.throughput:6.1f}  backlog@end {result.backlog}  "
                  f"{'OK' if result.sustained else 'NOT sustained'}", flush=True)
        return result

    def _fill(self, r: StepResult, sent: list[Sent], done: dict[int, float]) -> None:
        first, last = min(s.sent for s in sent), max(s.sent for s in sent)
        r.achieved_rate = (len(sent) - 1) / (last - first) if last > first else float("nan")
        r.send_lag_p99 = pct([s.sent - s.due for s in sent], 0.99)
        replies = [s.replied - s.sent for s in sent]
        r.reply_p50, r.reply_p99 = pct(replies, 0.50), pct(replies, 0.99)
        failures = [s for s in sent if not s.ok]
        r.failed_replies = len(failures)
        r.failure_sample = failures[0].detail if failures else ""
        latencies = [done[s.order_id] - s.sent for s in sent if s.order_id in done]
        r.completed = len(latencies)
        r.latencies = latencies
        r.p50, r.p99, r.max = pct(latencies, 0.50), pct(latencies, 0.99), max(latencies, default=float("nan"))
        r.drain = (max(done.values()) - last) if done else float("nan")
        if done and max(done.values()) > first:
            r.throughput = len(done) / (max(done.values()) - first)
        r.sustained = (r.achieved_rate >= 0.95 * r.rate and r.failed_replies == 0 and r.completed == r.n
                       and r.p99 <= self.args.p99_target)

    # -- the whole thing --
    def run(self) -> None:
        a = self.args
        plan = [(rate, min(a.orders, max(1, round(rate * a.duration)))) for rate in a.rates]
        phases = ("off", "on") if a.risk == "both" else (a.risk,)
        total = a.warmup * (1 + len(phases)) + len(phases) * sum(n for _, n in plan) * max(a.interleave, 1)
        print(f"Fission payout latency bench (run {self.tag}, logs in {self.work})")
        print(f"  steps: {', '.join(f'{r:.0f}/s x {n}' for r, n in plan)}; warm-up {a.warmup} at 50/s", flush=True)
        self.hello_ceiling()

        db_url = prepare_database(a.database_url, a.bench_db)
        print(f"database {a.bench_db}: tables dropped; ", end="", flush=True)
        emu_url, app_port = f"http://127.0.0.1:{free_port()}", free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        env = self.env(db_url, emu_url, app_port)
        self.migrate(env)
        t = time.monotonic()
        orders = seed(db_url, total, a.level2, a.level1, self.tag)
        seed_facts(db_url)
        set_rules(db_url, phases[0] == "on")
        print(f"seeded {a.level2} level-2 + {a.level1} level-1 distributors, {total} buyers and orders, "
              f"their device and bind facts in {time.monotonic() - t:.1f}s", flush=True)
        self.start_system(env, emu_url, app_url)
        print(f"system up: API {app_url}, {a.workers} RQ worker(s), sweeper, emulator; queue prefix "
              f"{self.queue_prefix}", flush=True)
        self.start_sender(app_url)
        self.sample_memory("boot")
        vacuum = None
        if not autovacuum_is_on(db_url):
            vacuum = StandInVacuum(db_url)
            vacuum.start()
            print(f"this PostgreSQL server runs with autovacuum off: the bench vacuums {', '.join(HOT_TABLES)} "
                  f"every {vacuum.interval:.0f}s in its place (bench/vacuum.py)", flush=True)

        cursor = 0
        if a.warmup:
            warm = self.run_step(50, orders[:a.warmup], db_url, None, quiet=True)
            cursor = a.warmup
            print(f"warm-up: {warm.completed}/{warm.n} done, p99 {ms(warm.p99).strip()} ms", flush=True)
        self.sample_memory("start")
        meter = CpuMeter(self.cpu_groups())
        scraped = lag_buckets(app_url, METRICS_TOKEN) if a.scrape_metrics else {}
        print("steps (latency = notify sent → both commissions available):", flush=True)
        middle = len(plan) // 2
        if a.interleave:
            cursor = self.run_interleaved(plan, phases, orders, cursor, db_url, meter)
        for phase in phases if not a.interleave else ():
            set_rules(db_url, phase == "on")
            time.sleep(2.0)  # each process keeps the settings a second
            print(f"risk rules and levels {phase}:", flush=True)
            # The phase's own warm-up, not reported: levels switched on move every
            # distributor up on their next commission (a one-time burst of level changes,
            # printed here), and the sweeper's start-of-day passes must be done before the
            # steps measure the steady state.
            self.wait_default_queue()
            if a.warmup:
                warm = self.run_step(50, orders[cursor:cursor + a.warmup], db_url, None, quiet=True)
                cursor += a.warmup
                self.wait_default_queue()
                print(f"  phase warm-up: {warm.completed}/{warm.n} done, p99 {ms(warm.p99).strip()} ms", flush=True)
            misses = 0
            for i, (rate, n) in enumerate(plan):
                if misses >= a.stop_after:
                    self.skipped.append(rate)
                    continue
                step = self.run_step(rate, orders[cursor:cursor + n], db_url, meter)
                step.risk = phase
                self.steps.append(step)
                cursor += n
                misses = 0 if step.sustained else misses + 1
                if step.completed < step.n:
                    misses = a.stop_after  # a backlog is left: later steps would measure it, not their rate
                if i == middle or (misses >= a.stop_after and "middle" not in self.memory):
                    self.sample_memory("middle")
                time.sleep(1.0)  # let the sweeper and the workers settle between steps
        if a.scrape_metrics:
            time.sleep(1.0)  # the last batch's after-commit observation
            own = pct([lat for s in self.steps for lat in s.latencies], 0.99)
            self.lag_p99 = (own, quantile(0.99, scraped, lag_buckets(app_url, METRICS_TOKEN)))
        if "middle" not in self.memory:
            self.sample_memory("middle")
        self.sample_memory("end")
        if vacuum is not None:
            vacuum.stop()
        self.books = check_books(db_url, cursor)
        self.report()

    def report(self) -> None:
        a = self.args
        sustained = [s.rate for s in self.steps if s.sustained]
        best = max(sustained, default=0.0)
        hello_rps = self.hello.get("rps", float("nan"))
        ratio = best / hello_rps if hello_rps else float("nan")

        print("\nCPU per paid order (ms of CPU) / cores busy, per component and step:")
        names = list(self.steps[0].cpu_ms_per_order) if self.steps else []
        print("  " + "component".ljust(18) + "".join(f"{s.rate:>12.0f}/s    " for s in self.steps))
        for name in names:
            print("  " + name.ljust(18) + "".join(
                f"{s.cpu_ms_per_order[name]:8.1f} ms {s.cpu_cores[name]:4.2f}c  " for s in self.steps))

        print("\nRSS (MB) of the RQ workers (and gunicorn workers, for reference):")
        labels = list(self.memory)
        print("  " + "process".ljust(12) + "".join(label.rjust(9) for label in labels))
        for proc in self.memory.get("start", {}):
            print("  " + proc.ljust(12) + "".join(f"{self.memory[label].get(proc, float('nan')):9.1f}"
                                                  for label in labels))
        growth = {p: self.memory["end"][p] - self.memory["start"][p] for p in self.memory["start"]
                  if p.startswith("worker-")}
        flat = all(g <= max(8.0, 0.10 * self.memory["start"][p]) for p, g in growth.items())

        line = "=" * 100
        print(f"\n{line}\nSUMMARY  (machine: {os.cpu_count()} cores; gunicorn --workers {a.web_workers} "
              f"--threads {a.threads} -k gthread; {a.workers} RQ worker(s); PostgreSQL + Redis on loopback)")
        print(line)
        print("  risk rate/s  orders  achieved/s  done/s   p50 ms   p99 ms   max ms  reply p99 ms  completed  failed  "
              "sustained")
        for s in self.steps:
            print(f"  {s.risk:>3} {s.rate:6.0f}  {s.n:6d}  {s.achieved_rate:10.1f}  {s.throughput:6.1f}  "
                  f"{ms(s.p50)}   {ms(s.p99)}"
                  f"   {ms(s.max)}        {ms(s.reply_p99)}  {s.completed:5d}/{s.n:<5d} {s.failed_replies:5d}  "
                  f"{'yes' if s.sustained else 'no'}")
            if s.failure_sample:
                print(f"          first failed reply: {s.failure_sample}")
        for rate in self.skipped:
            print(f"  {rate:6.0f}  skipped: the system was already saturated at a lower rate")
        self.report_risk()
        if self.steps:
            peak = max(self.steps, key=lambda s: s.throughput if not math.isnan(s.throughput) else 0)
            print(f"  peak completion throughput observed: {peak.throughput:.1f} paid orders/s "
                  f"(step {peak.rate:.0f}/s)")
        print(f"  highest rate sustained with p99 <= {a.p99_target:.1f}s: {best:.0f} paid orders/s "
              f"(target 200)  -> {'MET' if best >= 200 else 'NOT MET'}")
        print(f"  hello-world ceiling: {hello_rps:.0f} req/s ({self.hello.get('tool')}); "
              f"ratio sustained/hello = {ratio:.1%} (target >= 10%) -> {'MET' if ratio >= 0.10 else 'NOT MET'}")
        mem = ", ".join(f"{p} {self.memory['start'][p]:.1f} -> {self.memory['middle'].get(p, float('nan')):.1f} -> "
                        f"{self.memory['end'][p]:.1f} MB" for p in growth)
        print(f"  RQ worker RSS start -> middle -> end: {mem}  -> worker memory {'flat' if flat else 'GROWING'}")
        print(f"  books: {self.books}")
        if a.scrape_metrics:
            own, scraped = self.lag_p99
            print(f"  credit lag p99 over the steps: bench {ms(own).strip()} ms, /metrics histogram "
                  f"{ms(scraped).strip()} ms ({(scraped - own) / own:+.1%})")
        print(line, flush=True)

    def report_risk(self) -> None:
        if self.args.interleave:
            self.report_interleaved()
            return
        """Risk rules on against off, same run: the best sustained rate of each, and p99 at the
        rates both sustained (the issue's target: within 10 %)."""
        by = {phase: {s.rate: s for s in self.steps if s.risk == phase} for phase in ("off", "on")}
        if not by["off"] or not by["on"]:
            return
        best = {phase: max((r for r, s in steps.items() if s.sustained), default=0.0) for phase, steps in by.items()}
        change = (best["on"] - best["off"]) / best["off"] if best["off"] else float("nan")
        print(f"  risk rules and levels: best sustained rate off {best['off']:.0f}/s, on {best['on']:.0f}/s "
              f"({change:+.0%})")
        for rate in sorted(set(by["off"]) & set(by["on"])):
            off, on = by["off"][rate], by["on"][rate]
            if off.sustained and on.sustained:
                print(f"    {rate:6.0f}/s  p99 off {ms(off.p99).strip()} ms, on {ms(on.p99).strip()} ms "
                      f"({(on.p99 - off.p99) / off.p99:+.0%})")

    def cleanup(self, keep_logs: bool) -> None:
        if self.sender is not None:
            try:
                if self.sender.is_alive():
                    self.sender_conn.send(("stop",))
                self.sender.join(timeout=5)
            except (OSError, EOFError, BrokenPipeError):
                pass
            if self.sender.is_alive():
                self.sender.kill()
        own_redis = bool(getattr(self, "redis_port", None))  # a redis-server of the bench's own: gone with the stack
        self.stack.stop_all()
        try:
            keys = [] if own_redis else list(self.redis.scan_iter(match=f"*{self.queue_prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                self.redis.delete(*keys[i:i + 500])
        except redis.RedisError as exc:
            print(f"  could not clean Redis keys: {exc}")
        if keep_logs:
            print(f"logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def check_books(db_url: str, n_orders: int) -> dict:
    with psycopg.connect(db_url) as conn:
        paid = conn.execute("SELECT count(*) FROM orders WHERE status = 'paid'").fetchone()[0]
        available = conn.execute("SELECT count(*), coalesce(sum(amount_fen), 0) FROM commissions "
                                 "WHERE status = 'available'").fetchone()
        wallets = conn.execute("SELECT coalesce(sum(available_fen), 0), coalesce(sum(pending_fen), 0) "
                               "FROM wallets").fetchone()
        payouts = conn.execute("SELECT count(*) FILTER (WHERE status = 'in_wallet'), count(*) FROM payouts").fetchone()
    ok = (paid == n_orders and available[0] == 2 * n_orders and wallets[0] == available[1] and wallets[1] == 0
          and payouts[0] == payouts[1] == 2 * n_orders)
    return {"orders_paid": paid, "commissions_available": available[0], "wallet_available_fen": wallets[0],
            "commission_fen": available[1], "pending_fen": wallets[1], "payouts_in_wallet": payouts[0],
            "consistent": ok}


def python_closed_loop(url: str, seconds: float, threads: int) -> dict:
    count = [0] * threads
    errors = [0] * threads
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                try:
                    ok = session.get(url, timeout=5).status_code == 200
                except requests.RequestException:
                    ok = False
                count[i] += ok
                errors[i] += not ok

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"rps": sum(count) / seconds, "errors": sum(errors)}


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_to_end(Bench(args), args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
