"""The risk rules for bench/payout_latency.py: switched on or off in the settings row,
and client facts seeded (a device per user, a bind fact per buyer) so that the
payment's risk check (backend/risk/signals.py) looks up real index rows, as in a shop
whose clients send device ids. None of the seeded facts trips a rule."""

from __future__ import annotations

import json

import psycopg

OFF = {"second_account": False, "bind_farm": False, "refund_after_payout": False, "refund_loop": False,
       "conversion_outlier": False}


def seed_facts(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("""
            INSERT INTO risk_client_facts (user_id, kind, value, first_seen_at)
            SELECT id, 'device', 'bench-device-' || id, now() FROM users""")
        conn.execute("""
            INSERT INTO risk_bind_facts (user_id, inviter_id, ip, device_id, farm, created_at)
            SELECT id, inviter_id, '198.18.' || (id / 250 % 250) || '.' || (id % 250 + 1),
                   'bench-device-' || id, false, now() - (id % 10000) * interval '1 minute'
            FROM users WHERE inviter_id IS NOT NULL""")
        conn.execute("ANALYZE risk_client_facts")
        conn.execute("ANALYZE risk_bind_facts")


def set_rules(url: str, on: bool) -> None:
    """On: the defaults (every rule on); off: every rule off."""
    value = {} if on else OFF
    with psycopg.connect(url) as conn:
        conn.execute("""
            INSERT INTO settings (key, value, updated_at) VALUES ('risk', %s::json, now())
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""", (json.dumps(value),))
