"""Reconciliation at scale on PostgreSQL, each figure beside COPY writing the same rows.

Generated data (INSERT ... SELECT generate_series, never row by row) in its own
database ``fission_bench_recon`` (dropped and rebuilt by the migrations each run):
2,000 monthly suppliers with 25 parts each (50,000 parts), two price-list versions per
supplier (the second from the 15th), 1,000,000 receipt lines in November in 100,000
receipts, plus one weekly supplier with 100,000 lines in the first week of December.

1. re-pricing the 1,000,000 November lines from the latest price lists
   (``repricing.reprice``: the one UPDATE behind POST /receipts/reprice);
2. batch generation of all monthly statements for November (``service.generate_run``:
   what the RQ job and ``flask statements generate`` run): 2,000 statements;
3. saving one statement of 100,000 lines (the weekly supplier's December run);
4. batch export of the 2,000 statements to XLSX in a separate worker process,
   with its peak RSS (``exports.export`` per statement, as the send job does).

5. (``console_first_screens``) the p95 server time of every endpoint the finance
   console's price and purchase pages (counterparties, parts, price lists, purchase
   orders and receipts, price variance) call on their first screen, over the same data
   plus 20,000 purchase orders of 5 lines (the first 20,000 receipts made from them);
   target <= 150 ms each. ``--console-only`` generates the data, re-prices November
   and runs only this.

The ceiling beside each: COPY FROM STDIN of the same rows into a copy of the table
(indexes included), or, for the export, COPY TO a CSV file of the same lines.

    .venv/bin/python bench/reconciliation.py [--suppliers 2000] [--parts-per-supplier 25]
        [--lines 1000000] [--big-lines 100000] [--database NAME] [--console-only] [--samples 30]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "fission_bench_recon"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suppliers", type=int, default=2000)
    p.add_argument("--parts-per-supplier", type=int, default=25)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--big-lines", type=int, default=100_000)
    p.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432",
                   help="the PostgreSQL server; the bench uses its own database on it")
    p.add_argument("--database", default=DB, help="the bench's own database (dropped and rebuilt)")
    p.add_argument("--console-only", action="store_true",
                   help="only the console's first-screen endpoints (after generating and re-pricing)")
    p.add_argument("--samples", type=int, default=30, help="calls per endpoint for the p95")
    p.add_argument("--export-worker", nargs=2, metavar=("RUN_ID", "DIR"), help=argparse.SUPPRESS)
    # R2: the finance console's statement pages (console_pages below)
    p.add_argument("--console-pages", action="store_true",
                   help="instead: p95 of the statement pages' first-screen endpoints, start run -> 100%%, "
                        "and a 100,000-line statement's first page of lines in headless Chromium")
    p.add_argument("--console-db", default=f"{DB}_console", help="the database --console-pages builds")
    return p.parse_args(argv)


def app_for(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_FORMAT", "plain")
    from backend import create_app

    return create_app()


def fresh_database(server: str, name: str = DB) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


def generate(conn, a) -> None:
    n_parts = a.suppliers * a.parts_per_supplier
    per_doc = 10
    sql = [
        # suppliers 1..N monthly, the big one weekly (cut-off Sunday)
        f"""INSERT INTO recon_counterparties (kind, code, name, billing_cycle, cutoff_day, currency, email,
               qty_tolerance, price_tolerance, created_at)
            SELECT 'supplier', 'B' || lpad(g::text, 5, '0'), '供应商 ' || g, 'monthly', 0, 'CNY',
                   'ap' || g || '@bench.test', 0, 0, now() FROM generate_series(1, {a.suppliers}) g""",
        """INSERT INTO recon_counterparties (kind, code, name, billing_cycle, cutoff_day, currency, email,
               qty_tolerance, price_tolerance, created_at)
            VALUES ('supplier', 'BIG', '大供应商', 'weekly', 7, 'CNY', 'big@bench.test', 0, 0, now())""",
        # the part master (docs/catalog.md): every part keyed by its MPN and brand; the two
        # brands the seed does not know get a brand and an alias first
        """INSERT INTO brands (name, created_at) SELECT n, now() FROM unnest(ARRAY['NXP', 'ADI']) n
            WHERE NOT EXISTS (SELECT 1 FROM brands WHERE name = n)""",
        """INSERT INTO brand_aliases (key, alias, brand_id) SELECT lower(name), name, id FROM brands
            WHERE name IN ('NXP', 'ADI') ON CONFLICT DO NOTHING""",
        f"""INSERT INTO parts (part_no, brand, mpn_key, brand_id, package, description)
            SELECT 'P' || lpad(g::text, 7, '0'), x.brand, 'P' || lpad(g::text, 7, '0'), a.brand_id,
                   '0402', 'part ' || g
            FROM generate_series(1, {n_parts}) g
            CROSS JOIN LATERAL (SELECT (ARRAY['Murata', 'TI', 'ST', 'Yageo', 'NXP', 'ADI', 'Vishay', 'TDK'])[g % 8 + 1]
                                AS brand) x
            JOIN brand_aliases a ON a.key = lower(x.brand)
            ORDER BY g""",
        f"""INSERT INTO recon_price_lists (supplier_id, version, effective_date, currency, source, rows, created_at)
            SELECT s, v, CASE v WHEN 1 THEN DATE '2026-10-01' ELSE DATE '2026-11-15' END, 'CNY', 'bench',
                   {a.parts_per_supplier}, now()
            FROM generate_series(1, {a.suppliers}) s, generate_series(1, 2) v ORDER BY s, v""",
        f"""INSERT INTO recon_prices (price_list_id, supplier_id, part_id, effective_date, version, unit_price)
            SELECT pl.id, pl.supplier_id, (pl.supplier_id - 1) * {a.parts_per_supplier} + k, pl.effective_date,
                   pl.version, round((0.01 + ((pl.supplier_id * 31 + k) % 1000) / 100000.0
                                      + (pl.version - 1) * 0.00037)::numeric, 6)
            FROM recon_price_lists pl, generate_series(1, {a.parts_per_supplier}) k""",
        f"""INSERT INTO recon_documents (kind, number, counterparty_id, doc_date, currency, pricing_policy, created_at)
            SELECT 'receipt', 'GR-' || lpad(d::text, 8, '0'), (d - 1) % {a.suppliers} + 1,
                   DATE '2026-11-01' + ((d / {a.suppliers}) % 30)::int, 'CNY', 'po', now()
            FROM generate_series(1, {a.lines // per_doc}) d""",
        f"""INSERT INTO recon_document_lines (document_id, counterparty_id, doc_date, currency, part_id, qty,
               po_price, unit_price, price_diff, price_source, amount_cents)
            SELECT d.id, d.counterparty_id, d.doc_date, 'CNY', p.part_id, p.qty, p.price, p.price, 0, 'po',
                   round(p.qty * p.price * 100)::bigint
            FROM recon_documents d, generate_series(1, {per_doc}) k,
                 LATERAL (SELECT (d.counterparty_id - 1) * {a.parts_per_supplier}
                                 + (d.id + k) % {a.parts_per_supplier} + 1 AS part_id,
                                 100 + (d.id * 7 + k) % 5000 AS qty,
                                 round((0.01 + ((d.id + k) % 997) / 100000.0)::numeric, 6) AS price) p
            WHERE d.number LIKE 'GR-%'""",
        f"""INSERT INTO recon_documents (kind, number, counterparty_id, doc_date, currency, pricing_policy, created_at)
            SELECT 'receipt', 'BIG-' || lpad(d::text, 7, '0'), {a.suppliers + 1},
                   DATE '2026-12-01' + (d % 6), 'CNY', 'po', now()
            FROM generate_series(1, {max(a.big_lines // per_doc, 1)}) d""",
        f"""INSERT INTO recon_document_lines (document_id, counterparty_id, doc_date, currency, part_id, qty,
               po_price, unit_price, price_diff, price_source, amount_cents)
            SELECT d.id, d.counterparty_id, d.doc_date, 'CNY', (d.id + k) % {n_parts} + 1, 1000 + k, 0.01782,
                   0.01782, 0, 'po', round((1000 + k) * 1782 / 1000.0)::bigint
            FROM recon_documents d, generate_series(1, {per_doc}) k WHERE d.number LIKE 'BIG-%'""",
    ]
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False


def copy_ceiling(conn, table: str, where: str, limit_rows: int | None = None) -> float:
    """Seconds for COPY FROM STDIN to write these rows into a copy of ``table`` (indexes included)."""
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        with cur.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT") as copy:
            for block in copy:
                buffer.write(block)
        cur.execute(f"DROP TABLE IF EXISTS bench_copy_{table}")
        cur.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
        conn.commit()
        data = buffer.getvalue()
        started = time.perf_counter()
        with cur.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i:i + (1 << 20)])
        conn.commit()
        elapsed = time.perf_counter() - started
        cur.execute(f"DROP TABLE bench_copy_{table}")
        conn.commit()
    return elapsed


def timed(label: str, func):
    started = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - started
    return elapsed, result


def export_worker(run_id: int, directory: str) -> None:
    """Runs in its own process: what the send job does, minus the mail."""
    app = app_for(os.environ["BENCH_DATABASE_URL"])
    from backend.extensions import db
    from backend.reconciliation import exports, service
    from backend.reconciliation.models import Statement
    from backend.transactions import unit_of_work

    with app.app_context():
        ids = service.run_statement_ids(run_id)
        started = time.perf_counter()
        for statement_id in ids:
            with unit_of_work("bench: export"):
                exports.export(db.session.get(Statement, statement_id), "xlsx", Path(directory))
            db.session.expunge_all()
        elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{len(ids)} {elapsed:.3f} {peak_kb}")


def generate_purchase_orders(conn, a, count: int = 20_000, per_po: int = 5) -> None:
    """POs for the console's figures: ``count`` POs of ``per_po`` lines (a third open, a
    third received, a third partly), the first ``count`` receipts made from them."""
    conn.execute(f"""INSERT INTO recon_purchase_orders (number, supplier_id, order_date, currency, created_at)
        SELECT 'PO-' || lpad(g::text, 8, '0'), (g - 1) % {a.suppliers} + 1, DATE '2026-10-20' + g % 10, 'CNY', now()
        FROM generate_series(1, {count}) g""")
    conn.execute(f"""INSERT INTO recon_po_lines (po_id, part_id, qty, received_qty, unit_price)
        SELECT po.id, (po.supplier_id - 1) * {a.parts_per_supplier} + k, 1000,
               CASE po.id % 3 WHEN 0 THEN 0 WHEN 1 THEN 1000 ELSE 400 END, 0.0123
        FROM recon_purchase_orders po, generate_series(1, {min(per_po, a.parts_per_supplier)}) k""")
    conn.execute(f"UPDATE recon_documents SET po_id = id WHERE id <= {count} AND number LIKE 'GR-%'")
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE recon_purchase_orders")
    conn.execute("VACUUM ANALYZE recon_po_lines")
    conn.execute("VACUUM ANALYZE recon_documents")
    # after the re-pricing UPDATE of every line: without fresh statistics the planner still
    # believes no line has a price difference and plans the variance report as a nested
    # loop (minutes); autovacuum would analyze it soon after in production
    conn.execute("VACUUM ANALYZE recon_document_lines")
    conn.autocommit = False


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def console_first_screens(app, samples: int = 30) -> list[tuple[str, str, float, float, int]]:
    """(page, call, p95 ms, median ms, calls) for each endpoint a finance page calls on its
    first screen, through the whole Flask stack (auth guard, audit, JSON) in-process."""
    from backend.auth.service import create_admin
    from backend.extensions import db

    username = f"bench-finance-{os.getpid()}"
    with app.app_context():
        create_admin(username, "bench-finance-password", "finance")
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    token = client.post("/api/v1/admin/auth/login", json={"username": username,
                                                         "password": "bench-finance-password"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = "/api/v1/admin/reconciliation"
    open_po = 3  # id % 3 == 0: nothing received yet (generate_purchase_orders)
    calls = [
        ("counterparties", "GET", f"{r}/counterparties?kind=supplier&per_page=20", None),
        ("counterparties", "GET", f"{r}/counterparties?kind=supplier&q=%E4%BE%9B%E5%BA%94%E5%95%86%201999&per_page=20",
         None),
        ("parts", "GET", f"{r}/parts?per_page=20", None),
        ("parts", "GET", f"{r}/parts?q=P00049&per_page=20", None),
        ("price lists", "GET", f"{r}/suppliers/1/price-lists", None),
        ("price lists", "GET", f"{r}/counterparties/1", None),
        ("price lists", "GET", f"{r}/parts/1/price-history", None),
        ("purchase orders", "GET", f"{r}/purchase-orders?per_page=20", None),
        ("purchase orders", "GET", f"{r}/purchase-orders?status=open&per_page=20", None),
        ("purchase orders", "GET", f"{r}/purchase-orders?supplier_id=1&per_page=20", None),
        ("purchase order", "GET", f"{r}/purchase-orders/{open_po}", None),
        ("purchase order", "GET", f"{r}/documents?po_id={open_po}&per_page=100", None),
        ("purchase order", "GET", f"{r}/documents?kind=return&counterparty_id=3&per_page=100", None),
        ("purchase order", "POST", f"{r}/purchase-orders/{open_po}/receipts/preview",
         {"policy": "price_list", "doc_date": "2026-11-20"}),
        # the page's first screen asks for the 200 parts that differ most (parts_limit), not all 20,000
        ("price variance", "GET", f"{r}/reports/price-variance?per_page=20&parts_limit=200", None),
        ("price variance", "GET", f"{r}/reports/price-variance?per_page=20", None),  # every part: an API client
        ("price variance", "GET", f"{r}/reports/price-variance?supplier_id=1&per_page=20&parts_limit=200", None),
        ("price variance", "GET", f"{r}/reports/price-variance?date_from=2026-11-20&date_to=2026-11-20&per_page=20",
         None),
    ]
    out = []
    for page, method, path, body in calls:
        times = []
        n = samples
        i = 0
        while i < n + 2:
            started = time.perf_counter()
            resp = client.open(path, method=method, json=body, headers=headers)
            elapsed = time.perf_counter() - started
            assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:300])
            if i >= 2:  # two warm-up calls
                times.append(elapsed * 1000)
            elif elapsed > 2:  # a slow one: a few calls are enough to say so
                n = min(n, 5)
            i += 1
        out.append((page, f"{method} {path.removeprefix(r)}", _p95(times), sorted(times)[len(times) // 2], len(times)))
    return out


def print_console_figures(figures) -> None:
    print(f"\n{'page':<16} {'call':<78} {'p95 ms':>8} {'p50 ms':>8} {'n':>3} target <= 150 ms")
    for page, call, p95, p50, n in figures:
        flag = "" if p95 <= 150 else "  OVER"
        print(f"{page:<16} {call[:78]:<78} {p95:>8.1f} {p50:>8.1f} {n:>3}{flag}")


def main(argv=None) -> None:
    a = parse_args(argv)
    if a.console_pages:
        from recon_console import console_pages

        console_pages(a, fresh_database, app_for, generate)
        return
    if a.export_worker:
        export_worker(int(a.export_worker[0]), a.export_worker[1])
        return
    url = fresh_database(a.server, a.database)
    app = app_for(url)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    conn = psycopg.connect(url)
    print(f"generating: {a.suppliers} suppliers, {a.suppliers * a.parts_per_supplier} parts, "
          f"{a.lines} November receipt lines, {a.big_lines} lines for one weekly supplier ...", flush=True)
    gen_s, _ = timed("generate", lambda: generate(conn, a))
    print(f"  generated in {gen_s:.1f} s (INSERT ... SELECT)\n", flush=True)

    from datetime import date

    from backend.extensions import db
    from backend.reconciliation import repricing, service
    from backend.transactions import unit_of_work

    rows = []
    with app.app_context():
        def reprice():
            with unit_of_work("bench: reprice"):
                return repricing.reprice(None, date(2026, 11, 1), date(2026, 11, 30))

        secs, count = timed("reprice", reprice)
        from backend.reconciliation import variance_sums

        wrong = variance_sums.check()  # the price-variance sums kept by the re-pricing = the lines' sums
        db.session.remove()
        print(f"price-variance sums kept per supplier, part and month agree with the lines: {not wrong}"
              f" ({len(wrong)} cells differ)", flush=True)
        if wrong:
            raise SystemExit(1)
        ceiling = copy_ceiling(conn, "recon_document_lines", "doc_date BETWEEN '2026-11-01' AND '2026-11-30'")
        rows.append((f"re-price {count:,} receipt lines from the latest lists", secs, ceiling, 20))
        generate_purchase_orders(conn, a)
        if a.console_only:
            db.session.remove()
            label, secs, ceiling, target = rows[0]
            print(f"{label}: {secs:.2f} s (COPY {ceiling:.2f} s, target <= {target} s)")
            print_console_figures(console_first_screens(app, a.samples))
            conn.close()
            return

        with unit_of_work("bench: open run"):
            run_id = service.open_run("payable", "monthly", "2026-11").id
        secs, result = timed("generate", lambda: service.generate_run(run_id))
        ceiling = copy_ceiling(conn, "recon_statement_lines",
                               f"statement_id IN (SELECT id FROM recon_statements WHERE run_id = {run_id})")
        rows.append((f"batch generation: {result['statements']:,} monthly statements, {result['lines']:,} lines",
                     secs, ceiling, 30))

        with unit_of_work("bench: open run"):
            big_run = service.open_run("payable", "weekly", "2026-12").id
        secs, big = timed("one statement", lambda: service.generate_run(big_run))
        ceiling = copy_ceiling(conn, "recon_statement_lines",
                               f"statement_id IN (SELECT id FROM recon_statements WHERE run_id = {big_run})")
        rows.append((f"save one statement of {big['lines']:,} lines", secs, ceiling, 3))
        db.session.remove()

    with tempfile.TemporaryDirectory(prefix="recon-bench-") as directory:
        env = {**os.environ, "BENCH_DATABASE_URL": url}
        out = subprocess.run([sys.executable, __file__, "--export-worker", str(run_id), directory], env=env,
                             check=True, capture_output=True, text=True).stdout.split()
        files, export_s, peak_kb = int(out[0]), float(out[1]), int(out[2])
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
        csv_path = Path(directory) / "ceiling.csv"
        started = time.perf_counter()
        copy_sql = f"""COPY (SELECT l.doc_date, d.number, p.part_no, p.brand, l.qty, l.unit_price,
                                   l.amount_cents, l.currency, l.document_line_id
                               FROM recon_statement_lines l JOIN recon_documents d ON d.id = l.document_id
                               JOIN parts p ON p.id = l.part_id JOIN recon_statements s ON s.id = l.statement_id
                               WHERE s.run_id = {run_id} ORDER BY l.statement_id, l.doc_date)
                              TO STDOUT WITH CSV"""
        with conn.cursor() as cur, csv_path.open("wb") as fh, cur.copy(copy_sql) as copy:
            for block in copy:
                fh.write(block)
        ceiling = time.perf_counter() - started
    rows.append((f"batch export of {files:,} statements to XLSX ({size / 1e6:.0f} MB), worker peak RSS "
                 f"{peak_kb / 1024:.0f} MB (target <= 500 MB)", export_s, ceiling, 120))
    conn.close()

    print(f"{'figure':<100} {'seconds':>8} {'COPY s':>8} {'target':>7}")
    for label, secs, ceiling, target in rows:
        print(f"{label:<100} {secs:>8.2f} {ceiling:>8.2f} {'<= ' + str(target):>7}")
    print_console_figures(console_first_screens(app, a.samples))


if __name__ == "__main__":
    main()
