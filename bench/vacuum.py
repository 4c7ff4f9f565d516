"""Autovacuum's stand-in, for a PostgreSQL server that runs with ``autovacuum = off``.

The paid path updates a few rows very often (each distributor's wallet twice per
commission, every payout once). A production server vacuums them in the background;
without that, dead row versions pile up and every statement on those tables slows
down over the run: at 150 paid orders/s the median latency drifted from 76 to 125 ms
in 80 s on such a server, and stayed at 75 ms with this stand-in. The bench says
when it uses it, and the vacuums' CPU counts in PostgreSQL's like autovacuum's would.
"""

from __future__ import annotations

import threading

import psycopg

HOT_TABLES = ("wallets", "payouts", "commissions", "orders", "users", "team_contributions")


def autovacuum_is_on(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


class StandInVacuum(threading.Thread):
    """``VACUUM`` of the tables the paid path updates, every ``interval`` seconds."""

    def __init__(self, url: str, interval: float = 10.0, tables: tuple[str, ...] = HOT_TABLES) -> None:
        super().__init__(daemon=True, name="stand-in-vacuum")
        self.url, self.interval, self.tables = url, interval, tables
        self.stopping = threading.Event()
        self.runs = 0

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.wait(self.interval):
                conn.execute(f"VACUUM {', '.join(self.tables)}")
                self.runs += 1

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
