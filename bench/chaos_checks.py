"""What bench/chaos.py asks of the database and of the emulator's ledger.

``settled_state``: is everything final (polled until it is)? ``exactly_once``: the
checks printed at the end — nobody paid twice, no money lost, no notify counted twice.
"""

from __future__ import annotations

from collections import Counter

import psycopg
import requests

FINAL_PAYOUTS = ("succeeded", "in_wallet", "failed")
FINAL_BILLS = ("SUCCESS", "FAIL", "CANCELLED")

_STATE_SQL = """
    SELECT
      (SELECT count(*) FROM orders WHERE status = 'paid'),
      (SELECT count(*) FROM orders),
      (SELECT count(*) FROM commissions c JOIN orders o ON o.id = c.order_id
        WHERE o.status = 'paid' AND c.status NOT IN ('available', 'withdrawn')),
      (SELECT count(*) FROM payouts WHERE status NOT IN ('succeeded', 'in_wallet', 'failed')),
      (SELECT count(*) FROM payouts p WHERE p.status = 'failed' AND NOT EXISTS (
         SELECT 1 FROM ledger_entries e
         WHERE e.idempotency_key = 'payout:' || p.id || ':' || p.attempt || ':return'))"""


def _bills(emu_url: str) -> list[dict]:
    return requests.get(f"{emu_url}/sandbox/ledger", timeout=10).json()["transfers"]


def _succeeded(conn) -> dict[str, int]:
    return dict(conn.execute(
        "SELECT out_bill_no, amount_fen FROM payouts WHERE status = 'succeeded'").fetchall())


def settled_state(db_url: str, emu_url: str) -> dict:
    with psycopg.connect(db_url, autocommit=True, application_name="bench-checks") as conn:
        paid, orders, unreleased, unfinished, unreturned = conn.execute(_STATE_SQL).fetchone()
        succeeded = _succeeded(conn)
    bills = _bills(emu_url)
    waiting = sum(1 for b in bills if b["state"] not in FINAL_BILLS)
    success = {b["out_bill_no"]: b["transfer_amount"] for b in bills if b["state"] == "SUCCESS"}
    return {"orders_paid": paid, "orders": orders, "commissions_not_released": unreleased,
            "payouts_not_final": unfinished, "failed_not_returned": unreturned, "bills_not_final": waiting,
            "emulator_matches": success == succeeded and waiting == 0,
            "settled_db": paid == orders and unreleased == 0 and unfinished == 0 and unreturned == 0}


def exactly_once(db_url: str, emu_url: str) -> dict:
    checks: dict[str, tuple[bool, str]] = {}
    # One snapshot for every count (the system may still be running when they are read).
    with psycopg.connect(db_url, application_name="bench-checks") as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        one = lambda q: conn.execute(q).fetchone()  # noqa: E731
        paid, orders = one("SELECT count(*) FILTER (WHERE status = 'paid'), count(*) FROM orders")
        n_comm, most_per_order, order_ids = one(
            "SELECT count(*), coalesce(max(n), 0), count(DISTINCT order_id) FROM "
            "(SELECT order_id, count(*) OVER (PARTITION BY order_id) AS n FROM commissions) c")
        checks["every order paid once (duplicates changed nothing)"] = (
            paid == orders and n_comm == 2 * paid and most_per_order == 2 and order_ids == paid,
            f"{paid}/{orders} paid, {n_comm} commissions, at most {most_per_order} per order")
        n_pay, per_comm = one("SELECT count(*), coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM payouts "
                              "GROUP BY commission_id) p")
        checks["one payout per commission"] = (n_pay == n_comm and per_comm == 1,
                                               f"{n_pay} payouts for {n_comm} commissions, at most {per_comm} each")
        released = one("SELECT count(*), count(DISTINCT commission_id) FROM ledger_entries "
                       "WHERE kind = 'commission_released'")
        checks["no commission released twice"] = (released[0] == released[1],
                                                   f"{released[0]} release entries for {released[1]} commissions "
                                                   f"(of {n_comm})")
        earned, commission_fen = one(
            "SELECT (SELECT coalesce(sum(total_earned_fen), 0) FROM wallets), "
            "(SELECT coalesce(sum(amount_fen), 0) FROM commissions)")
        checks["wallets earned = commissions"] = (earned == commission_fen, f"{earned} = {commission_fen} fen")
        succeeded = _succeeded(conn)
        paid_out = one("SELECT coalesce(sum(paid_out_fen), 0), coalesce(sum(in_transit_fen), 0) FROM wallets")
        failed = dict(conn.execute("SELECT id, out_bill_no FROM payouts WHERE status = 'failed'").fetchall())
        statuses = dict(conn.execute("SELECT status, count(*) FROM payouts GROUP BY status ORDER BY status"))
    bills = _bills(emu_url)
    success = {b["out_bill_no"]: b["transfer_amount"] for b in bills if b["state"] == "SUCCESS"}
    checks["emulator transfers = succeeded payouts"] = (
        success == succeeded,
        f"{len(success)} SUCCESS bills ({sum(success.values())} fen), {len(succeeded)} succeeded payouts "
        f"({sum(succeeded.values())} fen); only at WeChat {len(set(success) - set(succeeded))}, "
        f"only here {len(set(succeeded) - set(success))}")
    per_payout = Counter(b["out_bill_no"][:14] for b in bills if b["state"] not in ("FAIL", "CANCELLED"))
    twice = [p for p, n in per_payout.items() if n > 1]
    checks["nobody paid twice (one live bill per payout)"] = (not twice, f"{len(twice)} payouts with 2+ live bills")
    checks["wallets paid out = SUCCESS bills"] = (
        paid_out[0] == sum(success.values()) and paid_out[1] == 0,
        f"paid_out {paid_out[0]} fen, SUCCESS {sum(success.values())} fen, in transit {paid_out[1]} fen")
    states = {b["out_bill_no"]: b["state"] for b in bills}
    failed_ok = [pid for pid, no in failed.items() if states.get(no) in (None, "FAIL", "CANCELLED")]
    checks["failed payouts: WeChat holds no money for them"] = (
        len(failed_ok) == len(failed), f"{len(failed_ok)}/{len(failed)} failed payouts FAIL/CANCELLED/absent at WeChat")
    return {"orders_paid": paid, "checks": checks, "payouts_by_status": statuses}
