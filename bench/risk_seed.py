"""The risk rules and distributor levels for bench/payout_latency.py: switched on or
off together (the settings row and the levels table), and client facts seeded (a
device per user, a bind fact per buyer) so that the payment's risk check
(backend/risk/signals.py) looks up real index rows, as in a shop whose clients send
device ids. None of the seeded facts trips a rule."""

from __future__ import annotations

import json
import os

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


# The steady state of a shop with levels: every distributor holds one (银牌, set by
# hand when levels go on) and the level above is out of reach, so the evaluation after
# each credit batch measures their figures and finds nothing to change; the paid path
# reads the level's rates (the commission's rate source says level:bench-银牌).
LEVELS = (
    (0, "bench-银牌", 1200, 400, 1, 1, 0),
    (1, "bench-金牌", 1500, 500, 10**11, 2, 0),
)


def set_rules(url: str, on: bool) -> None:
    """On: every risk rule on (the defaults) and two levels defined; off: every rule off
    and no levels (nobody keeps a level)."""
    value = {} if on else OFF
    with psycopg.connect(url) as conn:
        conn.execute("""
            INSERT INTO settings (key, value, updated_at) VALUES ('risk', %s::json, now())
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""", (json.dumps(value),))
        conn.execute("UPDATE users SET level_id = NULL WHERE level_id IS NOT NULL")
        conn.execute("DELETE FROM distributor_level_changes")
        conn.execute("DELETE FROM distributor_levels")
        if on and not os.environ.get("BENCH_NO_LEVELS"):  # to tell the two costs apart
            conn.cursor().executemany("""
                INSERT INTO distributor_levels (rank, name, level1_bp, level2_bp, window_days, min_gmv_fen,
                                                min_customers, min_team_gmv_fen, created_at, updated_at)
                VALUES (%s, %s, %s, %s, 30, %s, %s, %s, now(), now())""", LEVELS)
            conn.execute("""
                UPDATE users SET level_id = (SELECT id FROM distributor_levels WHERE rank = 0)
                WHERE distributor_status = 'approved'""")
