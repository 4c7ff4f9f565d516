"""The bench database: a dedicated PostgreSQL database, emptied, then seeded with bulk SQL.

Seeded shape (A ← B ← C, many times over): ``n_level2`` root distributors, ``n_level1``
distributors bound under them round-robin, and one buyer per order bound under a
level-1 distributor round-robin, so every paid order earns two commissions. Orders
are ``pending_payment`` with one line, an ``out_trade_no`` we know, and a deadline a
day away (the sweeper must not cancel them mid-run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

PRICE_FEN = 9_999
QUANTITY = 2
TOTAL_FEN = PRICE_FEN * QUANTITY  # 19,998 fen: 1,999 at level 1 (10%) and 999 at level 2 (5%)

DISTRIBUTION = {
    "mode": "everyone", "bind_mode": "permanent", "protection_days": 30, "level1_bp": 1000, "level2_bp": 500,
    "cap_bp": 3000, "self_purchase": False, "hold_days": 0, "payout_rail": "wallet", "min_transfer_fen": 10,
    "legacy_min_transfer_fen": 30, "daily_transfer_limit_fen": 200_000,
}


@dataclass(frozen=True)
class SeedOrder:
    order_id: int
    out_trade_no: str
    total_fen: int
    openid: str
    transaction_id: str

    def wire(self) -> tuple:
        return (self.order_id, self.out_trade_no, self.total_fen, self.openid, self.transaction_id)


def with_database(url: str, dbname: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{dbname}"))


def prepare_database(server_url: str, dbname: str) -> str:
    """Create ``dbname`` on the server of ``server_url`` if missing, drop every table in
    it (alembic_version too) and return its URL. The database named in
    ``server_url`` itself is never touched: the maintenance connection uses ``postgres``."""
    if dbname in ("postgres", "template0", "template1", urlparse(server_url).path.lstrip("/")):
        raise SystemExit(f"refusing to use database {dbname!r} for the benchmark")
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = with_database(server_url, dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        if tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
    return url


def seed(url: str, n_orders: int, n_level2: int, n_level1: int, tag: str) -> list[SeedOrder]:
    """Bulk-insert the chains and ``n_orders`` payable orders; return them in id order."""
    first_l1 = n_level2 + 1
    first_buyer = n_level2 + n_level1 + 1
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('distribution', %s::json, now())",
                     (json.dumps(DISTRIBUTION),))
        conn.execute(
            "INSERT INTO products (id, title, brand, part_no, price_fen, stock, active, created_at, updated_at)"
            " VALUES (1, 'Bench capacitor 100nF', 'Murata', 'GRM155R71C104KA88D', %s, 10000000, true, now(), now())",
            (PRICE_FEN,))
        user_cols = ("INSERT INTO users (id, openid, nickname, avatar_url, created_at, distributor_status, invite_code,"
                     " inviter_id, bound_at, bind_source, depth, root_id, has_paid_order) ")
        # level 2: the roots (A)
        conn.execute(user_cols + """
            SELECT g, 'bench-l2-' || g, 'L2 ' || g, '', now(), 'approved', 'BA' || lpad(g::text, 8, '0'),
                   NULL, NULL, NULL, 0, NULL, false
            FROM generate_series(1::int, %(n2)s::int) AS g""", {"n2": n_level2})
        # level 1 (B), bound under a root
        conn.execute(user_cols + """
            SELECT g, 'bench-l1-' || g, 'L1 ' || g, '', now(), 'approved', 'BB' || lpad(g::text, 8, '0'),
                   1 + (g - %(first)s) %% %(n2)s, now(), 'bind', 1, 1 + (g - %(first)s) %% %(n2)s, false
            FROM generate_series(%(first)s::int, %(last)s::int) AS g""",
            {"first": first_l1, "last": n_level2 + n_level1, "n2": n_level2})
        # buyers (C), bound under a level-1 distributor
        conn.execute(user_cols + """
            SELECT g, 'bench-buyer-' || g, 'C ' || g, '', now(), 'none', NULL,
                   %(first_l1)s + (g - %(first)s) %% %(n1)s, now(), 'bind', 2,
                   1 + ((g - %(first)s) %% %(n1)s) %% %(n2)s, false
            FROM generate_series(%(first)s::int, %(last)s::int) AS g""",
            {"first_l1": first_l1, "first": first_buyer, "last": first_buyer + n_orders - 1,
             "n1": n_level1, "n2": n_level2})
        # Distributors get their wallet when approved (commission.service.open_wallet).
        conn.execute("""
            INSERT INTO wallets (user_id, pending_fen, available_fen, in_transit_fen, paid_out_fen, total_earned_fen,
                                 updated_at)
            SELECT id, 0, 0, 0, 0, 0, now() FROM users WHERE distributor_status = 'approved'""")
        conn.execute("""
            INSERT INTO orders (id, user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at,
                                expires_at)
            SELECT g, %(first)s + g - 1, 'pending_payment', %(total)s, 0, 0, %(prefix)s || lpad(g::text, 10, '0'),
                   now(), now() + interval '1 day'
            FROM generate_series(1::int, %(n)s::int) AS g""",
            {"first": first_buyer, "total": TOTAL_FEN, "prefix": f"BN{tag}", "n": n_orders})
        conn.execute("""
            INSERT INTO order_items (id, order_id, product_id, title, quantity, unit_price_fen, amount_fen)
            SELECT g, g, 1, 'Bench capacitor 100nF', %(q)s, %(p)s, %(total)s
            FROM generate_series(1::int, %(n)s::int) AS g""",
            {"q": QUANTITY, "p": PRICE_FEN, "total": TOTAL_FEN, "n": n_orders})
        for table in ("users", "products", "orders", "order_items"):
            conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))")
                         .format(t=sql.Literal(table), i=sql.Identifier(table)))
        rows = conn.execute("""
            SELECT o.id, o.out_trade_no, o.total_fen, u.openid FROM orders o JOIN users u ON u.id = o.user_id
            ORDER BY o.id""").fetchall()
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return [SeedOrder(oid, otn, total, openid, f"42000{tag}{oid:012d}") for oid, otn, total, openid in rows]
