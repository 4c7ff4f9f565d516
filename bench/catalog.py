"""The catalog on PostgreSQL: import of a distributor's export beside COPY of the same
rows, then parametric search through HTTP over 100,000 parts.

In its own database ``fission_bench_catalog`` (dropped and rebuilt by the migrations):

1. import ``--rows`` (60,000) parts with price breaks (``import_runs.import_file``: what the
   RQ job and ``flask fission catalog-import`` run), from ``--catalog FILE`` (a real
   export, distributor shape: mpn, manufacturer, package, value, voltage, tolerance,
   dielectric, stock, price breaks) or a generated file of that shape; target <= 30 s.
   Beside it, the ceiling: COPY FROM STDIN of the rows the import wrote (parts, products,
   price breaks) into copies of those tables, indexes included.
2. the same file again: every row unchanged, nothing written.
3. more generated rows up to ``--search-parts`` (100,000) parts, then ``--samples``
   searches through HTTP (``requests`` over localhost): seed-style parametric queries
   (package, capacitance, minimum voltage, a dielectric list, tolerance, in stock),
   resistor queries, brand and MPN-prefix queries,
   with facets, one at a time against the API under gunicorn (2 workers, 4 threads, as
   ``make run``); p50 / p99 per kind and overall; target p99 <= 50 ms.

    .venv/bin/python bench/catalog.py [--catalog FILE] [--rows 60000] [--search-parts 100000]
        [--samples 400] [--rounds 3] [--server postgresql://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/13]
        [--search-only]   # the search again on the database an earlier run left
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stack import Stack, free_port, wait_http  # noqa: E402

DB = "fission_bench_catalog"
HEAD = "mpn,manufacturer,package,value,voltage,tolerance,dielectric,stock,price breaks"
BRANDS = ["Murata", "村田", "Samsung", "SEMCO", "TDK", "Yageo", "国巨", "Fenghua", "风华", "FH", "UniOhm", "厚声",
          "Vishay", "Walsin", "Kemet", "AVX", "Taiyo Yuden", "Darfon", "Holy Stone", "Eyang"]
SIZES = ["0201", "0402", "0603", "0805", "1206", "1210"]
CAPS = ["1pF", "2.2pF", "10pF", "22pF", "100pF", "470pF", "1nF", "2.2nF", "4.7nF", "10nF", "22nF", "47nF", "100nF",
        "220nF", "470nF", "1uF", "2.2uF", "4.7uF", "10uF", "22uF"]
VOLTS = ["6.3V", "10V", "16V", "25V", "35V", "50V", "100V"]
DIELECTRICS = ["X7R", "X5R", "C0G", "Y5V", "X7S"]
RES = ["0R", "1R", "10R", "47R", "100R", "220R", "470R", "1k", "2.2k", "4.7k", "10k", "22k", "47k", "100k", "1M"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--catalog", type=Path, help="a distributor's export (CSV or XLSX); else one is generated")
    p.add_argument("--rows", type=int, default=60_000)
    p.add_argument("--search-parts", type=int, default=100_000)
    p.add_argument("--samples", type=int, default=400, help="queries per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--database", default=DB)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    p.add_argument("--search-only", action="store_true",
                   help="keep the database of an earlier run and measure the search only")
    return p.parse_args(argv)


def generated(count: int, start: int = 0, seed: int = 14) -> bytes:
    """``count`` rows of the distributor shape: two-thirds MLCC, a third chip resistors."""
    rng = random.Random(seed + start)
    out = [HEAD]
    for n in range(start, start + count):
        brand, size = rng.choice(BRANDS), rng.choice(SIZES)
        stock = rng.choice([0, 0, 100, 4000, 10000, 50000, 200000])
        p = rng.randint(5, 900) / 100000  # yuan: 0.00005 .. 0.009
        breaks = f"1-999:{p * 1.5:.6f};1000-9999:{p * 1.2:.6f};10000-:{p:.6f}"
        if n % 3:
            out.append(f"C{size}{n:07d}K,{brand},{size},{rng.choice(CAPS)},{rng.choice(VOLTS)},"
                       f"±{rng.choice(['5', '10', '20'])}%,{rng.choice(DIELECTRICS)},{stock},{breaks}")
        else:
            out.append(f"R{size}{n:07d}F,{brand},{size},{rng.choice(RES)},,±{rng.choice(['1', '5'])}%,,{stock},"
                       f"{breaks}")
    return ("\n".join(out) + "\n").encode()


def app_for(url: str, redis_url: str):
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_FORMAT", "plain")
    from backend import create_app

    return create_app()


def fresh_database(server: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


def copy_ceiling(url: str) -> float:
    """COPY FROM STDIN of every row the import wrote into copies of parts, products and
    product_price_breaks (indexes included): the seconds."""
    total = 0.0
    with psycopg.connect(url) as conn:
        for table in ("parts", "products", "product_price_breaks"):
            buf = io.BytesIO()
            with conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            conn.execute(f"CREATE TABLE copy_{table} (LIKE {table} INCLUDING ALL)")
            start = time.perf_counter()
            with conn.cursor().copy(f"COPY copy_{table} FROM STDIN") as copy:
                copy.write(buf.getvalue())
            total += time.perf_counter() - start
        conn.rollback()
    return total


def timed_import(app, name: str, data: bytes) -> tuple[float, dict]:
    from backend.catalog import import_runs

    with app.app_context():
        start = time.perf_counter()
        result = import_runs.import_file(name, data)
        return time.perf_counter() - start, result


@contextlib.contextmanager
def serve(url: str, redis_url: str):
    """The API under gunicorn in its own processes, as ``make run`` serves it (2 workers,
    4 threads): the client's Python does not share the server's GIL."""
    stack = Stack(Path(tempfile.mkdtemp(prefix="fission-bench-catalog-")))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
           "-k", "gthread", "--log-level", "warning", "wsgi:app"]
    child = stack.start("gunicorn", cmd, env, ROOT)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        wait_http(f"{base}/health", "the API", child.proc, timeout=60)
        yield base
    finally:
        stack.stop_all()


def queries(rng: random.Random) -> list[tuple[str, dict]]:
    out = []
    for _ in range(4):
        out.append(("mlcc", {"category": "mlcc", "package": rng.choice(SIZES), "capacitance": rng.choice(CAPS),
                             "voltage_min": rng.choice(VOLTS), "dielectric": "X7R,X5R", "tolerance": "10%",
                             "in_stock": "true"}))
    out.append(("resistor", {"category": "chip_resistor", "package": rng.choice(SIZES), "resistance": rng.choice(RES),
                             "tolerance": "1%"}))
    out.append(("brand", {"brand": rng.choice(BRANDS), "package": rng.choice(SIZES), "in_stock": "true"}))
    out.append(("mpn prefix", {"q": f"C{rng.choice(SIZES)}{rng.randint(0, 99):02d}"}))
    out.append(("package", {"package": rng.choice(SIZES), "category": "mlcc", "per_page": 50}))
    return out


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def main(argv=None) -> None:
    a = parse_args(argv)
    if a.search_only:
        url = f"{a.server}/{a.database}"
        search(a, url)
        return
    url = fresh_database(a.server, a.database)
    app = app_for(url, a.redis)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    data = a.catalog.read_bytes() if a.catalog else generated(a.rows)
    name = a.catalog.name if a.catalog else "generated.csv"
    seconds, report = timed_import(app, name, data)
    print(f"import {name}: {report['rows']:,} rows, {report['created']:,} created, {report['rejected_total']:,} "
          f"refused: {seconds:.1f} s ({report['accepted'] / seconds:,.0f} rows/s)")
    print(f"  COPY of the same rows (parts, products, breaks; indexes included): {copy_ceiling(url):.1f} s")
    again, report2 = timed_import(app, name, data)
    print(f"re-import, same file: {report2['unchanged']:,} unchanged, {report2['updated']} updated: {again:.1f} s")
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM parts").fetchone()[0]
    if have < a.search_parts:
        more = a.search_parts - have
        seconds, _ = timed_import(app, "more.csv", generated(more, start=10_000_000))
        print(f"import of {more:,} more generated rows (to {a.search_parts:,} parts): {seconds:.1f} s")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by the first customer
    search(a, url)


def search(a, url: str) -> None:
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM parts").fetchone()[0]
    with serve(url, a.redis) as base:
        measure(a, base, have)


def machine_reference() -> float:
    """Seconds for ten million Python additions: this machine's speed beside the figures
    (one session's machine ran it in 0.6 s, another in 1.6 s)."""
    start, total = time.perf_counter(), 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def measure(a, base: str, have: int) -> None:
    """``--rounds`` rounds of ``--samples`` queries each, one at a time; per kind over all
    rounds, and each round's overall p99 with their median (the machine's noise moves a
    single round's tail)."""
    session = requests.Session()
    times: dict[str, list[float]] = {}
    matches: list[int] = []
    rounds: list[tuple[float, float]] = []
    for _ in range(5):  # warm: each gunicorn worker's pool and statement caches, every kind
        for _kind, params in queries(random.Random(99)):
            session.get(f"{base}/products", params=params, timeout=30)
    for n in range(a.rounds):
        rng, mine = random.Random(7 + n), []
        while len(mine) < a.samples:
            for kind, params in queries(rng):
                start = time.perf_counter()
                r = session.get(f"{base}/products", params=params, timeout=30)
                took = (time.perf_counter() - start) * 1000
                times.setdefault(kind, []).append(took)
                mine.append(took)
                assert r.status_code == 200, r.text
                matches.append(r.json()["total"])
        rounds.append((_pct(mine, 50), _pct(mine, 99)))
    every = [t for v in times.values() for t in v]
    print(f"search through HTTP over {max(have, a.search_parts):,} parts, {a.rounds} rounds of {a.samples} queries "
          f"(median {sorted(matches)[len(matches) // 2]:,} matches, facets included); "
          f"machine reference {machine_reference():.2f} s:")
    for kind, values in times.items():
        print(f"  {kind:<11} p50 {_pct(values, 50):6.1f} ms  p99 {_pct(values, 99):6.1f} ms  ({len(values)})")
    print(f"  {'all':<11} p50 {_pct(every, 50):6.1f} ms  p99 {_pct(every, 99):6.1f} ms")
    print("  rounds      " + ", ".join(f"p50 {p50:.1f} p99 {p99:.1f}" for p50, p99 in rounds)
          + f"; median p99 {statistics.median(p99 for _, p99 in rounds):.1f} ms (target <= 50)")


if __name__ == "__main__":
    main()
