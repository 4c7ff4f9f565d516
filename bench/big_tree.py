"""The big bench database shared by leaderboard.py and tree.py.

A heavy-tailed referral tree of ``users`` people and ``entries`` ledger entries (half
``commission_earned``, half ``commission_released``) with the orders and level-1/2
commissions they belong to, over the last ~60 days, in a dedicated PostgreSQL
database (default ``fission_bench_lb``). The schema comes from ``flask db upgrade``;
the rows from COPY (the tree, computed in Python) and set-based INSERT … SELECT
(everything else). Secondary indexes and unique constraints of the four big tables
are dropped for the load and recreated from their own definitions afterwards; FK
triggers are skipped during the load (session_replication_role = replica), the data
is consistent by construction.

Tree shape (ids are in joining order, so a parent always joined before its children):
* a few roots (the first ``N_ROOTS``, then 0.2 % of newcomers);
* ``KOLS`` big distributors (roots) with Pareto-ish weights: 4 % of newcomers bind
  directly under one of them, 15 % under a random direct member of one of them;
* the rest: 20 % under a uniformly random earlier user, 61 % preferential attachment
  (probability ∝ 1 + number of direct members);
* depth is capped at ``MAX_DEPTH``.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
FLASK = [PY, "-m", "flask", "--app", "wsgi:app"]

DEFAULT_USERS = 1_000_000
DEFAULT_ENTRIES = 5_000_000
MAX_DEPTH = 15
N_ROOTS = 20
KOLS = 4
KOL_WEIGHTS = (0.55, 0.2, 0.15, 0.1)
DAYS_USERS = 90
DAYS_ORDERS = 60
BIG_TABLES = ("users", "orders", "commissions", "ledger_entries")
NULL = "\\N"
SECRET_KEY = "fission-bench-lb-secret-key-not-for-production"


def with_database(url: str, dbname: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{dbname}"))


def app_env(db_url: str, redis_url: str, prefix: str, work: Path, port: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "FISSION_")) and k not in ("DATABASE_URL", "REDIS_URL", "QUEUE_PREFIX")}
    env.update({
        "DATABASE_URL": db_url, "REDIS_URL": redis_url, "QUEUE_PREFIX": prefix, "SECRET_KEY": SECRET_KEY,
        "FISSION_INSTANCE_DIR": str(work / "instance"), "WECHAT_SANDBOX": "1",
        "WECHAT_EMULATOR_URL": "http://127.0.0.1:9", "LOG_LEVEL": "WARNING", "FLASK_APP": "wsgi:app",
        "PYTHONUNBUFFERED": "1",
    })
    if port:
        env["PORT"] = str(port)
    return env


def counts(url: str) -> tuple[int, int] | None:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            have = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
            if not {"users", "ledger_entries", "bench_meta"} <= have:
                return None
            return conn.execute("SELECT users, entries FROM bench_meta").fetchone()
    except psycopg.OperationalError:
        return None


def _real_counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return tuple(conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM ledger_entries),"
                                  " (SELECT count(*) FROM orders)").fetchone())


def _reusable(url: str, users: int, entries: int | None, orders: int | None) -> bool:
    """The database holds a finished generation of these sizes (``orders`` given: the
    users and orders counted, whatever the entries came to)."""
    meta = counts(url)
    if meta is None or meta[0] != users or (orders is None and meta[1] != entries):
        return False
    real_users, real_entries, real_orders = _real_counts(url)
    if orders is not None:  # the entries as generated (bench_meta counted them)
        return (real_users, real_orders, real_entries) == (users, orders, meta[1])
    return (real_users, real_entries) == (users, entries)


def ensure(server_url: str, dbname: str, users: int, entries: int | None, regenerate: bool, env: dict,
           seed: int = 42, orders: int | None = None) -> tuple[str, dict]:
    """URL of the bench database holding the wanted sizes; generate if needed.
    Returns (url, info) where info has 'reused' and the generation timings.
    Sized by ``entries`` (ledger entries), or by ``orders`` (then the entries are two
    per commission, one or two commissions per order)."""
    if dbname in ("postgres", "template0", "template1", urlparse(server_url).path.lstrip("/")):
        raise SystemExit(f"refusing to use database {dbname!r}")
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = with_database(server_url, dbname)
    if not regenerate and _reusable(url, users, entries, orders):
        real_users, real_entries, real_orders = _real_counts(url)
        print(f"reusing {dbname}: {real_users:,} users, {real_orders:,} orders, {real_entries:,} ledger entries",
              flush=True)
        up = subprocess.run([*FLASK, "db", "upgrade"], env=env | {"DATABASE_URL": url}, cwd=ROOT,
                            capture_output=True, text=True)  # migrations added since the generation
        if up.returncode != 0:  # the migrations are being edited; the data stays usable
            last = (up.stderr.strip().splitlines() or ["?"])[-1]
            print(f"  warning: flask db upgrade on the reused database failed ({last[:160]})", flush=True)
        return url, {"reused": True}
    info = generate(url, users, entries, env | {"DATABASE_URL": url}, seed, orders=orders)
    info["reused"] = False
    return url, info


# --- the tree, in Python (sequential by nature) ---------------------------------------------

def build_tree(n: int, seed: int) -> tuple[list[int], list[int], list[int], list[float]]:
    """parent (0 = none), depth, root, joined-at fraction of DAYS_USERS, for ids 1..n (index 0 unused)."""
    rnd = random.Random(seed)
    rand = rnd.random
    parent = [0] * (n + 1)
    depth = [0] * (n + 1)
    root = [0] * (n + 1)
    targets: list[int] = []  # every user once + once per direct member: preferential attachment
    kol_members: list[list[int]] = [[] for _ in range(KOLS)]
    kol_cum = [sum(KOL_WEIGHTS[:i + 1]) for i in range(KOLS)]

    def pick_kol() -> int:
        r = rand() * kol_cum[-1]
        for i, c in enumerate(kol_cum):
            if r < c:
                return i
        return KOLS - 1

    for i in range(1, n + 1):
        r = rand()
        if i <= max(N_ROOTS, KOLS) or r < 0.002:
            p = 0
        elif r < 0.042:
            k = pick_kol()
            p = k + 1
            kol_members[k].append(i)
        elif r < 0.192:
            k = pick_kol()
            members = kol_members[k]
            p = members[int(rand() * len(members))] if members else k + 1
        elif r < 0.392:
            p = 1 + int(rand() * (i - 1))
        else:
            p = targets[int(rand() * len(targets))]
        while p and depth[p] >= MAX_DEPTH:
            p = 1 + int(rand() * (i - 1))
        parent[i] = p
        if p:
            depth[i] = depth[p] + 1
            root[i] = root[p]
            targets.append(p)
        else:
            root[i] = i
        targets.append(i)
    # joined-at: accelerating growth over DAYS_USERS, monotonic in id
    joined = [0.0] + [(i / n) ** 0.6 for i in range(1, n + 1)]
    return parent, depth, root, joined


def _copy_tree(conn: psycopg.Connection, parent, depth, root, joined, n: int) -> None:
    conn.execute("CREATE UNLOGGED TABLE bench_tree (id int PRIMARY KEY, parent int, depth int, root int,"
                 " joined float8)")
    with conn.cursor().copy("COPY bench_tree (id, parent, depth, root, joined) FROM STDIN") as copy:
        step = 100_000
        for start in range(1, n + 1, step):
            buf = io.StringIO()
            for i in range(start, min(n, start + step - 1) + 1):
                pi = parent[i]
                buf.write(f"{i}\t{pi if pi else NULL}\t{depth[i]}\t{root[i]}\t{joined[i]:.9f}\n")
            copy.write(buf.getvalue())


# --- the whole database -------------------------------------------------------------------------

def _drop_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))


def strip_indexes(conn: psycopg.Connection, tables: tuple[str, ...] = BIG_TABLES) -> list[str]:
    """Drop unique constraints and secondary indexes of ``tables``; return the DDL to restore them."""
    restore = []
    for name, table, definition in conn.execute("""
            SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c
            WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)""", (list(tables),)).fetchall():
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in conn.execute("""
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
                                         (list(tables),)).fetchall():
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    return restore


def generate(url: str, n_users: int, n_entries: int | None, env: dict, seed: int, orders: int | None = None) -> dict:
    """``orders`` given: exactly that many orders (every pick an order), ``n_entries``
    ignored; otherwise the orders are cut so the commissions make ``n_entries``."""
    t_all = time.monotonic()
    timings: dict[str, float] = {}
    size = f"{orders:,} orders" if orders is not None else f"{n_entries:,} ledger entries"
    print(f"generating {n_users:,} users and {size} into {urlparse(url).path[1:]} …", flush=True)
    _drop_all(url)
    t = time.monotonic()
    up = subprocess.run([*FLASK, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True)
    if up.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{up.stdout}\n{up.stderr}")
    timings["schema (flask db upgrade)"] = time.monotonic() - t

    t = time.monotonic()
    parent, depth, root, joined = build_tree(n_users, seed)
    timings["tree in Python"] = time.monotonic() - t
    # picks: one per order; the commissions of the orders are cut at n_commissions
    n_picks = n_commissions = n_entries // 2 if orders is None else 0
    if orders is not None:
        n_picks, n_commissions = orders, 2 * orders  # every order kept: at most two commissions each

    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers during the load
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SELECT setseed(0.42)")
        restore = strip_indexes(conn)

        t = time.monotonic()
        _copy_tree(conn, parent, depth, root, joined, n_users)
        del parent, depth, root, joined
        conn.execute("ANALYZE bench_tree")
        timings["COPY tree"] = time.monotonic() - t

        t = time.monotonic()
        # buyers: everyone with an inviter, in a random order; purchases per buyer are heavy-tailed
        conn.execute("""
            CREATE UNLOGGED TABLE bench_buyers AS
            SELECT row_number() OVER (ORDER BY random()) AS rn, t.id, t.parent AS l1, p.parent AS l2
            FROM bench_tree t JOIN bench_tree p ON p.id = t.parent""")
        n_buyers = conn.execute("SELECT count(*) FROM bench_buyers").fetchone()[0]
        conn.execute("CREATE UNIQUE INDEX ON bench_buyers (rn)")
        # picks: one per order, cut so that the orders bring exactly n_commissions commissions
        conn.execute("""
            CREATE UNLOGGED TABLE bench_picks AS
            SELECT g, 1 + least(%(nb)s - 1, floor(%(nb)s * power(random(), 2.5))::int) AS rn,
                   random() AS r1, random() AS r2, random() AS r3
            FROM generate_series(1, %(n)s) AS g""", {"nb": n_buyers, "n": n_picks})
        conn.execute("""
            CREATE UNLOGGED TABLE bench_orders AS
            SELECT row_number() OVER (ORDER BY paid_at, g) AS id, * FROM (
              SELECT g, b.id AS buyer, b.l1, b.l2, s.r3,
                     sum(1 + (b.l2 IS NOT NULL)::int) OVER (ORDER BY g) AS cum,
                     lo + (now() - lo) * s.r1 AS paid_at,
                     1000 + floor(50000 * power(s.r2, 3))::int AS total
              FROM bench_picks s JOIN bench_buyers b ON b.rn = s.rn
              JOIN bench_tree bt ON bt.id = b.id
              CROSS JOIN LATERAL (SELECT greatest(now() - %(days)s * interval '1 day',
                  now() - %(ud)s * interval '1 day' * (1 - bt.joined) + interval '10 minutes') AS lo) l
            ) x WHERE cum - (1 + (l2 IS NOT NULL)::int) < %(c)s""",
                     {"c": n_commissions, "days": DAYS_ORDERS, "ud": DAYS_USERS})
        timings["orders planned (temp tables)"] = time.monotonic() - t

        t = time.monotonic()
        conn.execute("""
            INSERT INTO users (id, openid, unionid, nickname, avatar_url, created_at, distributor_status, invite_code,
                               inviter_id, inviter2_id, bound_at, bind_source, depth, root_id, has_paid_order)
            SELECT t.id, 'lb-' || t.id, NULL, 'Member ' || t.id, '', j.at,
                CASE WHEN k.n IS NOT NULL THEN 'approved' ELSE 'none' END,
                   CASE WHEN k.n IS NOT NULL THEN 'L' || lpad(t.id::text, 9, '0') END, t.parent, gp.parent,
                   CASE WHEN t.parent IS NOT NULL THEN j.at + interval '1 minute' END,
                   CASE WHEN t.parent IS NOT NULL THEN 'bind' END, t.depth,
                   CASE WHEN t.parent IS NOT NULL THEN t.root END,
                   b.buyer IS NOT NULL
            FROM bench_tree t
            LEFT JOIN bench_tree gp ON gp.id = t.parent
            CROSS JOIN LATERAL (SELECT now() - %(ud)s * interval '1 day' * (1 - t.joined) AS at) j
            LEFT JOIN (SELECT DISTINCT parent, true AS n FROM bench_tree WHERE parent IS NOT NULL) k ON k.parent = t.id
            LEFT JOIN (SELECT DISTINCT buyer FROM bench_orders) b ON b.buyer = t.id""",
                     {"ud": DAYS_USERS})
        timings["INSERT users"] = time.monotonic() - t

        t = time.monotonic()
        conn.execute("""
            INSERT INTO orders (id, user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, transaction_id,
                                created_at, expires_at, paid_at, level1_id, level2_id, chain_source)
            SELECT id, buyer, 'completed', total, total, 0, 'LB' || lpad(id::text, 12, '0'),
                   '4200LB' || lpad(id::text, 14, '0'), paid_at - interval '1 minute',
                   paid_at + interval '29 minutes', paid_at, l1, l2, 'binding'
            FROM bench_orders""")
        timings["INSERT orders"] = time.monotonic() - t

        t = time.monotonic()
        conn.execute("""
            INSERT INTO commissions (id, order_id, user_id, buyer_id, level, amount_fen, reversed_fen, status, rate_bp,
                                     source, available_at, created_at, released_at)
            SELECT row_number() OVER (ORDER BY o.id, lv.level), o.id, lv.who, o.buyer, lv.level, lv.amount, 0,
                   'available', lv.bp, 'binding',
                   o.paid_at + (now() - o.paid_at) * 0.1 * o.r3, o.paid_at, o.paid_at
            FROM bench_orders o
            CROSS JOIN LATERAL (VALUES (1, o.l1, 1000, greatest(1, o.total / 10)),
                                       (2, o.l2, 500, greatest(1, o.total / 20))) AS lv(level, who, bp, amount)
            WHERE lv.who IS NOT NULL
            ORDER BY o.id, lv.level
            LIMIT %(c)s""", {"c": n_commissions})
        timings["INSERT commissions"] = time.monotonic() - t

        t = time.monotonic()
        conn.execute("""
            INSERT INTO ledger_entries (id, idempotency_key, kind, user_id, debit_account, credit_account, amount_fen,
                                        order_id, commission_id, payout_id, memo, created_at)
            SELECT 2 * c.id - 1, 'commission:' || c.id || ':earn', 'commission_earned', c.user_id,
                   'shop:commission_expense', 'user:' || c.user_id || ':pending', c.amount_fen, c.order_id, c.id,
                   NULL::int, 'order ' || c.order_id || ' level ' || c.level, c.created_at
            FROM commissions c
            UNION ALL
            SELECT 2 * c.id, 'commission:' || c.id || ':release', 'commission_released', c.user_id,
                   'user:' || c.user_id || ':pending', 'user:' || c.user_id || ':available', c.amount_fen, c.order_id,
                   c.id, NULL::int, '', c.available_at
            FROM commissions c""")
        timings["INSERT ledger_entries"] = time.monotonic() - t

        # The read models the app keeps in its own transactions: what each buyer brought
        # each earner (team pages sorted by contribution) and team sizes per level.
        t = time.monotonic()
        conn.execute("""
            INSERT INTO team_contributions (earner_id, buyer_id, net_fen)
            SELECT user_id, buyer_id, sum(amount_fen - reversed_fen) FROM commissions GROUP BY user_id, buyer_id""")
        conn.execute("""
            INSERT INTO team_sizes (user_id, level1_count, level2_count)
            SELECT who, sum(one), sum(two) FROM (
                SELECT inviter_id AS who, 1 AS one, 0 AS two FROM users WHERE inviter_id IS NOT NULL
                UNION ALL
                SELECT inviter2_id, 0, 1 FROM users WHERE inviter2_id IS NOT NULL) t
            GROUP BY who""")
        timings["INSERT team_contributions, team_sizes"] = time.monotonic() - t

        conn.execute("DROP TABLE bench_tree, bench_buyers, bench_picks, bench_orders")
        conn.execute("""INSERT INTO admin_users (id, username, password_hash, role, active, created_at)
                        VALUES (1, 'bench-admin', 'x', 'admin', true, now())""")
        for table in (*BIG_TABLES, "admin_users"):
            conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))")
                         .format(t=sql.Literal(table), i=sql.Identifier(table)))
        conn.execute("CREATE TABLE bench_meta (users int, entries int, seed int, generated_at timestamptz)")
        conn.commit()

        t = time.monotonic()
        for ddl in restore:
            conn.execute(ddl)
            conn.commit()
        timings[f"recreate {len(restore)} indexes/unique constraints"] = time.monotonic() - t

    t = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in (*BIG_TABLES, "team_contributions", "team_sizes"):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        got = conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM ledger_entries),"
                           " (SELECT count(*) FROM orders), (SELECT count(*) FROM commissions)").fetchone()
        conn.execute("INSERT INTO bench_meta VALUES (%s, %s, %s, now())", (got[0], got[1], seed))
    timings["VACUUM ANALYZE"] = time.monotonic() - t
    total = time.monotonic() - t_all
    print(f"  generated: {got[0]:,} users, {got[2]:,} orders, {got[3]:,} commissions, {got[1]:,} ledger entries"
          f" in {total:.1f}s", flush=True)
    for k, v in timings.items():
        print(f"    {k:<40} {v:7.1f}s", flush=True)
    return {"generation_s": total, "timings": timings, "orders": got[2], "commissions": got[3]}


def tree_stats(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        max_depth = conn.execute("SELECT max(depth) FROM users").fetchone()[0]
        top = conn.execute("""
            WITH l1 AS (SELECT inviter_id AS me, count(*) AS n FROM users WHERE inviter_id IS NOT NULL GROUP BY 1)
            SELECT l1.me, l1.n,
                   (SELECT coalesce(sum(x.n), 0) FROM l1 x JOIN users u ON u.id = x.me WHERE u.inviter_id = l1.me)
            FROM l1 ORDER BY l1.n DESC LIMIT 5""").fetchall()
    return {"max_depth": max_depth, "top": [(int(a), int(b), int(c)) for a, b, c in top]}
