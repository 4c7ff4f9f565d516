"""The short line's substitute offers on PostgreSQL, through HTTP, with 3,000 groups.

In its own database ``fission_bench_substitutes`` (dropped and rebuilt by the migrations):

1. a catalog of ``--groups`` (3,000) specs of three brands each (one short, two in stock)
   and ``--filler`` parts without a full spec (never grouped), imported with
   ``import_runs.import_file`` (what the RQ job runs);
2. ``propose`` then every group approved (the operator's path, in the services);
3. ``--customers`` customers, a third with an AVL, a third with a refused brand, and a
   remembered substitute for a share of the specs;
4. ``--samples`` orders of a short part through HTTP (``POST /api/v1/orders`` → 409
   OUT_OF_STOCK with the ranked offers; the API under gunicorn as ``make run`` serves it,
   ``requests`` over localhost), and the same through ``GET /api/v1/substitute-offers``.
   p50 / p99 each; target p99 <= 30 ms for the order.

    .venv/bin/python bench/substitutes.py [--groups 3000] [--filler 20000] [--samples 500] [--rounds 3]
        [--server postgresql://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from catalog import HEAD, _pct, app_for, fresh_database, machine_reference, serve, timed_import  # noqa: E402

DB = "fission_bench_substitutes"
TRIPLES = [("风华", "Murata", "Samsung"), ("Yageo", "Walsin", "UniOhm"), ("TDK", "Taiyo Yuden", "Kemet")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--groups", type=int, default=3000)
    p.add_argument("--filler", type=int, default=20_000)
    p.add_argument("--customers", type=int, default=60)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    return p.parse_args(argv)


def catalog_file(groups: int, filler: int) -> tuple[bytes, list[str]]:
    """Rows of the distributor shape; the MPNs of the short part of each spec."""
    rng = random.Random(14)
    rows, short = [HEAD], []
    for g in range(groups):
        brands = TRIPLES[g % len(TRIPLES)]
        value = f"{1000 + g}pF"  # one spec per group
        for i, brand in enumerate(brands):
            mpn = f"S{g:05d}{'ABC'[i]}"
            stock = 10 if i == 0 else rng.choice([5_000, 20_000, 100_000])
            p = rng.randint(50, 900) / 100000
            rows.append(f"{mpn},{brand},0402,{value},16V,±10%,X7R,{stock},1-999:{p * 1.3:.6f};1000-:{p:.6f}")
        short.append(f"S{g:05d}A")
    for n in range(filler):  # no tolerance: no spec, never grouped
        rows.append(f"F{n:07d},{rng.choice(['Vishay', 'AVX'])},0603,{rng.choice(['1nF', '10nF'])},50V,,X7R,"
                    f"{rng.choice([0, 1000])},1-:0.001000")
    return ("\n".join(rows) + "\n").encode(), short


def setup(app, customers: int, short_mpns: list[str]) -> tuple[dict[str, int], list[str]]:
    """Approve every group; make customers with rules and memories. Returns (mpn → product
    id of the short parts, customer tokens)."""
    from sqlalchemy import select

    from backend.auth.models import User
    from backend.auth.service import user_token
    from backend.catalog import customers as customer_rules
    from backend.catalog import offers, substitutes
    from backend.catalog.models import Part, Product
    from backend.catalog.substitute_models import SubstituteGroup
    from backend.extensions import db

    with app.app_context():
        start = time.perf_counter()
        proposed = substitutes.propose()
        db.session.commit()
        print(f"propose: {proposed['groups_created']:,} groups, {proposed['parts_grouped']:,} parts: "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        for gid in db.session.scalars(select(SubstituteGroup.id).order_by(SubstituteGroup.id)).all():
            substitutes.approve_group(gid, None)
        db.session.commit()
        print(f"approve every group: {time.perf_counter() - start:.1f} s")
        products = dict(db.session.execute(select(Part.part_no, Product.id).join(Product, Product.part_id == Part.id)
                                           .where(Part.part_no.in_(short_mpns))).all())
        rng, tokens = random.Random(3), []
        for n in range(customers):
            user = User(openid=f"bench-sub-{n}", nickname=f"customer {n}")
            db.session.add(user)
            db.session.flush()
            if n % 3 == 1:
                customer_rules.set_brand_rules(user.id, ["Murata", "Walsin", "Taiyo Yuden"], [])
            elif n % 3 == 2:
                customer_rules.set_brand_rules(user.id, [], ["Samsung", "UniOhm", "Kemet"])
            for mpn in rng.sample(short_mpns, min(200, len(short_mpns))):  # remembered substitutes
                original = db.session.scalar(select(Part.id).where(Part.part_no == mpn))
                offers.remember(user.id, original, original + 1, None)
            tokens.append(user_token(user))
        db.session.commit()
    return products, tokens


def main(argv=None) -> None:
    a = parse_args(argv)
    url = fresh_database(a.server, DB)
    app = app_for(url, a.redis)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    data, short = catalog_file(a.groups, a.filler)
    seconds, report = timed_import(app, "substitutes.csv", data)
    print(f"import: {report['accepted']:,} parts: {seconds:.1f} s")
    products, tokens = setup(app, a.customers, short)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    with serve(url, a.redis) as base:
        measure(a, base, products, tokens, short)


def measure(a, base: str, products: dict, tokens: list, short: list) -> None:
    """``--rounds`` rounds of ``--samples`` short orders (and their offer previews), one at
    a time; p50 / p99 over all, and each round's order p99 with their median."""
    session, rng = requests.Session(), random.Random(7)
    order_ms, preview_ms, offered, rounds = [], [], [], []
    for token in tokens[:3]:  # warm
        session.post(f"{base}/orders", json={"items": [{"product_id": products[short[0]], "quantity": 1000}]},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    for _ in range(a.rounds):
        mine = []
        for _ in range(a.samples):
            token, pid = rng.choice(tokens), products[rng.choice(short)]
            headers = {"Authorization": f"Bearer {token}"}
            start = time.perf_counter()
            r = session.post(f"{base}/orders", json={"items": [{"product_id": pid, "quantity": 1000}]},
                             headers=headers, timeout=30)
            mine.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 409, r.text
            assert r.json()["error"]["code"] == "OUT_OF_STOCK", r.text
            offered.append(len(r.json()["error"]["details"]["items"][0]["offers"]))
            start = time.perf_counter()
            r = session.get(f"{base}/substitute-offers", params={"product_id": pid, "quantity": 1000},
                            headers=headers, timeout=30)
            preview_ms.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, r.text
        order_ms += mine
        rounds.append(_pct(mine, 99))
    print(f"short order through HTTP ({len(order_ms)} orders, {a.groups:,} approved groups, "
          f"{sum(offered) / len(offered):.2f} offers on average; machine reference {machine_reference():.2f} s):")
    print(f"  POST /orders → 409 with offers  p50 {_pct(order_ms, 50):6.1f} ms  p99 {_pct(order_ms, 99):6.1f} ms")
    print(f"  GET /substitute-offers          p50 {_pct(preview_ms, 50):6.1f} ms  p99 {_pct(preview_ms, 99):6.1f} ms")
    print("  order p99 by round: " + ", ".join(f"{p:.1f}" for p in rounds)
          + f"; median {statistics.median(rounds):.1f} ms (target <= 30)")


if __name__ == "__main__":
    main()
