"""The credit path under faults: does every paid order settle, exactly once?

The real stack (emulator, gunicorn API, RQ workers, sweeper) on a PostgreSQL cluster
and a redis-server of the bench's own (``bench/private_postgres.py``: initdb into a
temporary folder; never the machine's shared services, which it kills and restarts).
For ``--duration`` seconds it sends signed payment notifies for ``--rate`` orders a
second, each sent 1-3 times (the copies a few seconds apart, as WeChat repeats a
notify), while:

* an RQ worker is SIGKILLed every 5-8 s, and started again at once (as ``make run``'s
  supervisor does);
* the Redis server is SIGKILLed once for ``--redis-outage`` seconds and started again,
  empty (no persistence);
* PostgreSQL is restarted once (fast shutdown: every session cut off) at
  ``--pg-restart-at`` seconds;
* the distribution settings switch between the wallet rail and the
  ``wechat_transfer`` rail every ``--rail-phase`` seconds, and during the transfer
  phases the emulator is told to fail transfers (``/sandbox/faults``: SYSTEMERROR,
  timeouts, some applied with the answer lost);
* a "user" confirms every transfer bill waiting for them (one in ten is rejected).

After the last fault (the last kill, the faults cleared, Redis back) it measures
the time until everything has settled: every paid order's commissions released,
every payout final (``succeeded`` / ``in_wallet`` / ``failed`` with the money
returned), ``flask fission ledger-check`` passing, and the emulator's transfers
equal to the succeeded payouts. Then it prints the exactly-once checks, and exits 1
when one fails or nothing settled within ``--settle-timeout`` (CI runs a short
scenario: .ci/run).

    .venv/bin/python bench/chaos.py [--duration 60] [--rate 20] [--workers 2]
        [--pg-restart-at 45] [--database-url URL (a server of yours instead: no restart)]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from chaos_checks import exactly_once, settled_state  # noqa: E402
from payout_latency import FLASK, ROOT, Bench, ms, pct  # noqa: E402
from private_postgres import PrivatePostgres  # noqa: E402
from seed import prepare_database, seed  # noqa: E402
from stack import free_port, run_to_end  # noqa: E402

# The emulator faults of each transfer phase, by seconds into the phase.
PHASE_FAULTS = [
    (1.0, {"target": "transfer_bills.create", "mode": "systemerror", "times": 4}),
    (2.5, {"target": "transfer_bills.create", "mode": "timeout", "seconds": 6, "times": 2, "apply": True}),
    (4.0, {"target": "transfer_bills.query", "mode": "systemerror", "times": 4}),
    (5.5, {"target": "transfer_bills.create", "mode": "systemerror", "times": 3, "apply": True}),
    (7.0, {"target": "transfer_bills.create", "mode": "timeout", "seconds": 6, "times": 2}),
    (8.0, {"target": "transfer_bills.query", "mode": "timeout", "seconds": 6, "times": 2}),
]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of notifies and faults")
    p.add_argument("--rate", type=float, default=20.0, help="orders notified per second (each sent 1-3 times)")
    p.add_argument("--database-url", default=None,
                   help="a PostgreSQL server to use instead of a private cluster (it is not restarted)")
    p.add_argument("--bench-db", default="fission_bench_chaos", help="dedicated database, dropped and recreated")
    p.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--sender-threads", type=int, default=48)
    p.add_argument("--kill-every", default="5,8", help="seconds between worker kills: min,max")
    p.add_argument("--redis-at", type=float, default=25.0, help="seconds into the run Redis is killed")
    p.add_argument("--redis-outage", type=float, default=10.0, help="seconds Redis stays down")
    p.add_argument("--pg-restart-at", type=float, default=45.0,
                   help="seconds into the run the private PostgreSQL is restarted (0: never)")
    p.add_argument("--rail-phase", type=float, default=10.0, help="seconds per rail phase (wallet first)")
    p.add_argument("--reject-one-in", type=int, default=10, help="the user rejects one transfer bill in N")
    p.add_argument("--settle-timeout", type=float, default=300.0)
    p.add_argument("--settle-target", type=float, default=60.0)
    p.add_argument("--level2", type=int, default=200)
    p.add_argument("--level1", type=int, default=1000)
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--keep-logs", action="store_true")
    args = p.parse_args(argv)
    args.kill_every = tuple(float(x) for x in args.kill_every.split(","))
    return args


def with_duplicates(orders: list, rng: random.Random, rate: float) -> list:
    """Each order 1-3 times; a copy goes out 0.5-3 s after the first."""
    sends = []
    for i, order in enumerate(orders):
        sends.append((i / rate, order))
        for _ in range(rng.randint(1, 3) - 1):
            sends.append((i / rate + rng.uniform(0.5, 3.0), order))
    sends.sort(key=lambda s: s[0])
    return [order for _, order in sends]


class ChaosBench(Bench):
    def __init__(self, args: argparse.Namespace) -> None:
        self.redis_port = free_port()
        args.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        super().__init__(args)
        self.rng = random.Random(args.seed)
        self.events: list[tuple[float, str]] = []
        self.kills = 0
        self.restarts = 0
        self.faults_added = 0
        self.chaos_on = threading.Event()
        self.supervising = threading.Event()
        self.confirming = threading.Event()
        self.last_fault = 0.0
        self.confirmed = self.rejected = 0
        self.t_start = 0.0
        self.pg = None if args.database_url else PrivatePostgres(free_port())
        self.pg_restarts: list[float] = []  # seconds each restart took
        self.failed = False  # an exactly-once check failed, or nothing settled: exit 1

    def note(self, what: str) -> None:
        t = time.monotonic() - self.t_start
        self.events.append((t, what))
        print(f"  [{t:6.1f}s] {what}", flush=True)

    # -- the chaos --
    def supervise(self, env: dict) -> None:
        """Start again whatever worker (or sweeper) died, as make run's supervisor does."""
        while self.supervising.is_set():
            for child in list(self.stack.by_prefix("worker-")) + list(self.stack.by_prefix("sweeper")):
                if child.proc.poll() is not None:
                    self.stack.children.remove(child)
                    if child.name == "sweeper":
                        self.stack.start("sweeper", [*FLASK, "fission", "sweep"],
                                         {**env, "PGAPPNAME": "fission-sweeper"}, ROOT)
                    else:
                        self.start_worker(env, child.name)
                    self.restarts += 1
            time.sleep(0.2)

    def kill_workers(self) -> None:
        low, high = self.args.kill_every
        while self.chaos_on.wait(0) and not self._sleep_chaos(self.rng.uniform(low, high)):
            alive = [c for c in self.stack.by_prefix("worker-") if c.proc.poll() is None]
            if alive:
                victim = self.rng.choice(alive)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(victim.proc.pid, signal.SIGKILL)
                self.kills += 1
                self.last_fault = time.monotonic()
                self.note(f"SIGKILL {victim.name} (pid {victim.proc.pid}); kill #{self.kills}")

    def _sleep_chaos(self, seconds: float) -> bool:
        """Sleep; True when the chaos ended meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.chaos_on.is_set():
                return True
            time.sleep(0.05)
        return not self.chaos_on.is_set()

    def redis_outage(self) -> None:
        a = self.args
        if self._sleep_chaos(a.redis_at):
            return
        redis_child = self.stack.by_prefix("redis")[0]
        os.killpg(redis_child.proc.pid, signal.SIGKILL)
        redis_child.proc.wait(timeout=5)
        self.stack.children.remove(redis_child)
        self.note("SIGKILL redis-server")
        time.sleep(a.redis_outage)
        self.stack.start_redis(self.redis_port)
        self.last_fault = time.monotonic()
        self.note(f"redis-server started again, empty, after {a.redis_outage:.0f}s")

    def postgres_restart(self) -> None:
        if self.pg is None or not self.args.pg_restart_at or self._sleep_chaos(self.args.pg_restart_at):
            return
        self.note("PostgreSQL: fast restart (every session cut off)")
        began = time.monotonic()
        self.pg.restart()
        self.pg_restarts.append(time.monotonic() - began)
        self.last_fault = time.monotonic()
        self.note(f"PostgreSQL accepting connections again after {self.pg_restarts[-1]:.1f}s")

    def rail_phases(self, db_url: str, emu_url: str) -> None:
        a = self.args
        rail = "wallet"
        while not self._sleep_chaos(a.rail_phase):
            rail = "wechat_transfer" if rail == "wallet" else "wallet"
            set_rail(db_url, rail)
            self.note(f"payout rail -> {rail}")
            if rail != "wechat_transfer":
                continue
            began = time.monotonic()
            for at, fault in PHASE_FAULTS:
                if at >= a.rail_phase or self._sleep_chaos(max(0.0, began + at - time.monotonic())):
                    break
                requests.post(f"{emu_url}/sandbox/faults", json=fault, timeout=5).raise_for_status()
                self.faults_added += 1
                self.last_fault = time.monotonic()
                self.note(f"emulator fault: {json.dumps(fault)}")

    def confirm_bills(self, emu_url: str) -> None:
        """The users: each transfer bill waiting for its user is confirmed (or rejected) a moment later."""
        seen: set[str] = set()
        while self.confirming.is_set():
            try:
                bills = requests.get(f"{emu_url}/sandbox/ledger", timeout=5).json()["transfers"]
            except (requests.RequestException, ValueError, KeyError):
                time.sleep(0.5)
                continue
            for bill in bills:
                number = bill["out_bill_no"]
                if bill["state"] != "WAIT_USER_CONFIRM":
                    continue
                if number not in seen:  # confirmed on the next look, not at once
                    seen.add(number)
                    continue
                reject = int(number[2:14]) % self.args.reject_one_in == 0
                with contextlib.suppress(requests.RequestException):
                    r = requests.post(f"{emu_url}/sandbox/transfer-bills/{number}/confirm",
                                      json={"async": True, "reject": reject}, timeout=5)
                    if r.status_code == 200:
                        self.rejected += reject
                        self.confirmed += not reject
            time.sleep(0.5)

    # -- the run --
    def send(self, orders, rate: float) -> list:
        self.sender_conn.send(("step", rate, [o.wire() for o in orders]))
        kind, _ = self.sender_conn.recv()
        assert kind == "started"
        kind, sent = self.sender_conn.recv()
        assert kind == "done"
        return sent

    def run(self) -> None:
        a = self.args
        print(f"Fission chaos bench (run {self.tag}, logs in {self.work})", flush=True)
        self.stack.start_redis(self.redis_port)
        server_url = a.database_url or self.pg.start()
        db_url = prepare_database(server_url, a.bench_db)
        emu_url, app_port = f"http://127.0.0.1:{free_port()}", free_port()
        app_url = f"http://127.0.0.1:{app_port}"
        env = self.env(db_url, emu_url, app_port)
        self.migrate(env)
        env = {**env, "LOG_LEVEL": "INFO", "LOG_FORMAT": "text"}  # the workers' and sweeper's logs say what ran
        n_orders = round(a.rate * a.duration)
        orders = seed(db_url, n_orders, a.level2, a.level1, self.tag)
        sends = with_duplicates(orders, self.rng, a.rate)
        self.start_system(env, emu_url, app_url)
        self.start_sender(app_url)
        print(f"system up: {a.workers} RQ workers, sweeper, emulator, API {app_url}, redis-server :{self.redis_port}; "
              f"{n_orders} orders, {len(sends)} notifies ({len(sends) - n_orders} duplicates) over "
              f"{a.duration:.0f}s", flush=True)

        self.t_start = time.monotonic()
        self.supervising.set()
        self.chaos_on.set()
        self.confirming.set()
        threads = [threading.Thread(target=self.supervise, args=(env,), daemon=True),
                   threading.Thread(target=self.kill_workers, daemon=True),
                   threading.Thread(target=self.redis_outage, daemon=True),
                   threading.Thread(target=self.postgres_restart, daemon=True),
                   threading.Thread(target=self.rail_phases, args=(db_url, emu_url), daemon=True),
                   threading.Thread(target=self.confirm_bills, args=(emu_url,), daemon=True)]
        for thread in threads:
            thread.start()
        sent = self.send(sends, len(sends) / a.duration)
        self.chaos_on.clear()
        for thread in threads[1:5]:
            thread.join(timeout=a.redis_outage + 15)
        requests.delete(f"{emu_url}/sandbox/faults", timeout=5).raise_for_status()
        left = requests.get(f"{emu_url}/sandbox/faults", timeout=5).json()["faults"]
        self.last_fault = time.monotonic()
        self.note("chaos over: emulator faults cleared, no more kills")
        # WeChat repeats a notify until it is answered SUCCESS: those never answered go again.
        answered = {s.order_id for s in sent if s.ok}
        unanswered = [o for o in orders if o.order_id not in answered]
        resent = self.send(unanswered, 20.0) if unanswered else []
        if unanswered:
            self.note(f"{len(unanswered)} orders never answered SUCCESS: notified again "
                      f"({sum(s.ok for s in resent)} answered)")
        settle, state = self.wait_settled(db_url, emu_url, env)
        self.confirming.clear()
        self.supervising.clear()
        checks = exactly_once(db_url, emu_url)
        self.failed = settle is None or not all(ok for ok, _ in checks["checks"].values())
        self.report(orders, sends, sent, resent, left, settle, state, checks)

    def wait_settled(self, db_url: str, emu_url: str, env: dict) -> tuple[float | None, dict]:
        a = self.args
        deadline = self.last_fault + a.settle_timeout
        state: dict = {}
        next_note = time.monotonic() + 10
        while time.monotonic() < deadline:
            t = time.monotonic()
            state = settled_state(db_url, emu_url)
            if t >= next_note:
                next_note = t + 10
                self.note(f"not settled yet: {self.diagnose(state)}")
                if t - self.last_fault > a.settle_target and not getattr(self, "dumped", False):
                    self.dumped = True
                    self.py_spy_dump()
            if state["settled_db"]:
                check = subprocess.run([*FLASK, "fission", "ledger-check"], env=env, cwd=ROOT,
                                       capture_output=True, text=True)
                state["ledger_check"] = (check.returncode, check.stdout.strip().splitlines()[-3:])
                if check.returncode == 0 and state["emulator_matches"]:
                    return t - self.last_fault, state
            time.sleep(0.5)
        return None, state

    def py_spy_dump(self) -> None:
        """Where the workers and the sweeper are, if py-spy is installed (into .venv, not requirements)."""
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists():
            return
        out = self.work / "py-spy.txt"
        with open(out, "w") as f:
            for child in self.stack.by_prefix("worker-") + self.stack.by_prefix("sweeper"):
                f.write(f"=== {child.name} pid {child.proc.pid}\n")
                f.flush()
                subprocess.run([str(spy), "dump", "--pid", str(child.proc.pid)], stdout=f, stderr=subprocess.STDOUT,
                               timeout=30, check=False)
        self.note(f"py-spy dump of the workers and the sweeper in {out}")

    def diagnose(self, state: dict) -> str:
        """What stands in the way: the database's counts and what Redis holds of the work."""
        counts = {k: v for k, v in state.items() if k.endswith(("_final", "_released", "_returned")) and v}
        prefix = self.queue_prefix
        try:
            lock_ttl = self.redis.pttl(f"{prefix}:credit-loop")
            marker_ttl = self.redis.ttl(f"{prefix}:waiting:payouts-credit")
            queued = {q: self.redis.llen(f"rq:queue:{prefix}-{q}") for q in ("payouts", "default")}
            workers = self.redis.scard(f"rq:workers:{prefix}-payouts")
            started = self.redis.zcard(f"rq:wip:{prefix}-payouts")
            redis_says = (f"credit lock pttl {lock_ttl} ms, waiting marker ttl {marker_ttl} s, queued {queued}, "
                          f"started {started}, workers registered {workers}")
        except Exception as exc:  # noqa: BLE001 - a diagnosis, not a check
            redis_says = f"Redis: {exc.__class__.__name__}"
        alive = [c.name for c in self.stack.children if c.proc.poll() is None]
        return f"{counts}; {redis_says}; alive {alive}"

    def report(self, orders, sends, sent, resent, faults_left, settle, state, checks) -> None:
        a = self.args
        replies = [s.replied - s.sent for s in sent]
        failed = [s for s in sent if not s.ok]
        line = "=" * 100
        database = "a private PostgreSQL cluster" if self.pg else f"PostgreSQL at {a.database_url}"
        print(f"\n{line}\nSUMMARY  chaos: {a.workers} RQ worker(s), gunicorn --workers {a.web_workers} --threads "
              f"{a.threads}; {database}; redis-server of the bench's own")
        print(line)
        print(f"  orders: {len(orders)} (paid: {checks['orders_paid']})")
        print(f"  notifies sent: {len(sends)} at {len(sends) / a.duration:.1f}/s over {a.duration:.0f}s; "
              f"duplicates {len(sends) - len(orders)}; not answered SUCCESS {len(failed)}"
              + (f" (first: {failed[0].detail[:120]})" if failed else "")
              + f"; sent again afterwards {len(resent)} ({sum(s.ok for s in resent)} SUCCESS)")
        print(f"  notify answer p50 {ms(pct(replies, 0.5)).strip()} ms  p99 {ms(pct(replies, 0.99)).strip()} ms  "
              f"max {ms(max(replies, default=float('nan'))).strip()} ms")
        print(f"  worker kills (SIGKILL): {self.kills}; processes started again: {self.restarts}; "
              f"Redis killed once for {a.redis_outage:.0f}s; PostgreSQL restarted {len(self.pg_restarts)}x"
              + "".join(f" ({t:.1f}s)" for t in self.pg_restarts) + f"; emulator faults queued {self.faults_added} "
              f"({sum(f['times'] for f in faults_left)} firings left unfired at the end)")
        print(f"  transfer bills confirmed by users {self.confirmed}, rejected {self.rejected}")
        if settle is None:
            print(f"  NOT settled within {a.settle_timeout:.0f}s after the last fault; last state: {state}")
        else:
            print(f"  time to settle after the last fault: {settle:.1f}s (target <= {a.settle_target:.0f}s) -> "
                  f"{'MET' if settle <= a.settle_target else 'NOT MET'}")
        print(f"  ledger-check: {state.get('ledger_check')}")
        print("  exactly-once checks:")
        for name, (ok, detail) in checks["checks"].items():
            print(f"    {'OK  ' if ok else 'FAIL'} {name}: {detail}")
        print(f"  payouts by status: {checks['payouts_by_status']}")
        print(f"  RESULT: {'FAILED' if self.failed else 'passed'}")
        print(line, flush=True)

    def cleanup(self, keep_logs: bool) -> None:
        keep_logs = keep_logs or self.failed
        if self.pg is not None and keep_logs and self.pg.log.exists():
            shutil.copy(self.pg.log, self.work / "postgres.log")
        super().cleanup(keep_logs)
        if self.pg is not None:
            self.pg.stop()


def set_rail(db_url: str, rail: str) -> None:
    """A connection each time, tried again: the bench restarts PostgreSQL meanwhile."""
    for attempt in range(50):
        try:
            with psycopg.connect(db_url, autocommit=True, application_name="bench-chaos", connect_timeout=2) as conn:
                conn.execute("UPDATE settings SET value = jsonb_set(value::jsonb, '{payout_rail}', "
                             "to_jsonb(%s::text))::json WHERE key = 'distribution'", (rail,))
                return
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.2)


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = ChaosBench(args)
    return run_to_end(bench, args.keep_logs) or int(bench.failed)


if __name__ == "__main__":
    sys.exit(main())
