"""Boards recomputed from the database: the rebuild after a Redis loss, and the
drift check that compares Redis with the database.

The rules mirror service.py: a commission counts from its release (what is left of
it now), an order counts on the level-1 distributor's boards once that
distributor's commission was released; refunds are already netted in the rows.

The database does the adding up: per metric one GROUP BY user for the all-time
board and one GROUP BY (user, Shanghai day) over the window of the day/week/month
boards Redis still keeps; Python only folds days into weeks and months. No row of
the ledger travels to Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import redis
from sqlalchemy import String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.commission.models import Commission, LedgerEntry
from backend.extensions import db
from backend.leaderboard import boards
from backend.leaderboard.boards import Board
from backend.leaderboard.periods import METRICS, PERIODS, day_keys, live_keys, period_bounds
from backend.orders.models import Order, Refund
from backend.timeutil import utcnow

ORDER_METRICS = ("gmv", "orders", "customers")


class shanghai_day(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """``YYYY-MM-DD`` of a UTC timestamp in Asia/Shanghai, on each database."""

    type = String()
    inherit_cache = True


@compiles(shanghai_day, "postgresql")
def _pg_day(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


# Shanghai has kept UTC+8 all year since 1991, so a fixed offset is exact for our data.
@compiles(shanghai_day, "mysql")
@compiles(shanghai_day, "mariadb")
def _mysql_day(element, compiler, **kw):
    return f"DATE_FORMAT(DATE_ADD({compiler.process(element.clauses, **kw)}, INTERVAL 8 HOUR), '%%Y-%%m-%%d')"


@compiles(shanghai_day, "sqlite")
def _sqlite_day(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@dataclass
class Standing:
    score: int = 0
    reached_ms: int = 0

    def add(self, delta: int, reached_ms: int) -> None:
        self.score += int(delta)
        self.reached_ms = max(self.reached_ms, reached_ms)


@dataclass
class Computed:
    """Every live board that has data: (metric, kind, key) -> user -> standing."""

    standings: dict[tuple[str, str, str], dict[int, Standing]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Standing)))

    def add(self, board: tuple[str, str, str], user_id: int, delta, reached) -> None:
        self.standings[board][user_id].add(delta, boards.to_ms(reached) if reached is not None else 0)


def _window_start(now: datetime) -> datetime:
    """The start of the oldest day/week/month period Redis still keeps."""
    starts = [period_bounds(kind, key)[0] for kind in PERIODS if kind != "all" for key in live_keys(kind, now)]
    return min(starts)


def _commission_rows(by_day: bool, since: datetime | None):
    net = Commission.amount_fen - Commission.reversed_fen
    cols = [Commission.user_id, func.sum(net), func.max(case((net > 0, Commission.created_at)))]
    group = [Commission.user_id]
    if by_day:
        day = shanghai_day(Commission.created_at)
        cols.insert(1, day)
        group.append(day)
    stmt = select(*cols).where(Commission.released_at.is_not(None)).group_by(*group)
    if since is not None:
        stmt = stmt.where(Commission.created_at >= since)
    return db.session.execute(stmt)


def _order_rows(by_day: bool, since: datetime | None):
    first = (select(Order.user_id, func.min(Order.paid_at).label("first_at"))
             .where(Order.paid_at.is_not(None)).group_by(Order.user_id).subquery())
    gmv = Order.paid_fen - Order.refunded_fen
    is_first = Order.paid_at == first.c.first_at
    cols = [Commission.user_id, func.sum(gmv), func.sum(case((gmv > 0, 1), else_=0)),
            func.sum(case((is_first, 1), else_=0)),
            func.max(case((gmv > 0, Order.paid_at))), func.max(case((is_first, Order.paid_at)))]
    group = [Commission.user_id]
    if by_day:
        day = shanghai_day(Order.paid_at)
        cols.insert(1, day)
        group.append(day)
    stmt = (select(*cols).join(Order, Order.id == Commission.order_id)
            .join(first, first.c.user_id == Order.user_id)
            .where(Commission.level == 1, Commission.released_at.is_not(None)).group_by(*group))
    if since is not None:
        stmt = stmt.where(Order.paid_at >= since)
    return db.session.execute(stmt)


def _prepare(session) -> None:
    """Big GROUP BYs: give PostgreSQL the memory to hash them instead of spilling."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.set_config("work_mem", "256MB", True)))


def compute(progress: Callable[[int], None] | None = None, now: datetime | None = None) -> Computed:
    """Two passes (commissions, then orders), each an all-time and a by-day GROUP BY."""
    now = now or utcnow()
    _prepare(db.session)
    since = _window_start(now)
    live = {kind: set(live_keys(kind, now)) for kind in PERIODS}
    boards_of_day: dict[str, list[tuple[str, str]]] = {}

    def day_boards(day: str) -> list[tuple[str, str]]:
        if day not in boards_of_day:
            boards_of_day[day] = [(k, key) for k, key in day_keys(date.fromisoformat(str(day)[:10]))
                                  if key in live[k]]
        return boards_of_day[day]

    out = Computed()
    for user_id, net, reached in _commission_rows(False, None):
        out.add(("commission", "all", "all"), user_id, net, reached)
    for user_id, day, net, reached in _commission_rows(True, since):
        for kind, key in day_boards(day):
            out.add(("commission", kind, key), user_id, net, reached)
    if progress:
        progress(1)
    for user_id, *values in _order_rows(False, None):
        _add_order_row(out, "all", "all", user_id, values)
    for user_id, day, *values in _order_rows(True, since):
        for kind, key in day_boards(day):
            _add_order_row(out, kind, key, user_id, values)
    if progress:
        progress(1)
    return out


COMPUTE_STEPS = 2  # progress steps of compute(); then one per board written


def _add_order_row(out: Computed, kind: str, key: str, user_id: int, values) -> None:
    gmv, orders, customers, sold_at, first_at = values
    out.add(("gmv", kind, key), user_id, gmv, sold_at)
    out.add(("orders", kind, key), user_id, orders, sold_at)
    if customers:
        out.add(("customers", kind, key), user_id, customers, first_at)


def live_boards(computed: Computed, prefix: str, now: datetime | None = None):
    """Every live board (also those the database has nothing for) with its standings."""
    now = now or utcnow()
    for metric in METRICS:
        for kind in PERIODS:
            for key in live_keys(kind, now):
                yield Board(prefix, metric, kind, key), computed.standings.get((metric, kind, key), {})


def recent_events(now: datetime | None = None) -> dict[str, set[str]]:
    """Ids of the events of the last ``SEEN_DAYS`` that the database already reflects,
    per metric: after a rebuild their late or replayed application must change nothing."""
    now = now or utcnow()
    since = now - timedelta(days=boards.SEEN_DAYS)
    out: dict[str, set[str]] = defaultdict(set)
    for cid, level, order_id in db.session.execute(
            select(Commission.id, Commission.level, Commission.order_id).where(Commission.released_at >= since)):
        out["commission"].add(f"c:{cid}")
        if level == 1:
            for metric in ORDER_METRICS:
                out[metric].add(f"o:{order_id}")
    entries = db.session.execute(
        select(LedgerEntry.idempotency_key, LedgerEntry.commission_id)
        .where(LedgerEntry.created_at >= since,
               LedgerEntry.kind.in_(("commission_reversed", "commission_reinstated"))))
    for key, cid in entries:  # refund:{refund}:commission:{commission}[:undo]
        parts = key.split(":")
        tag = "u" if key.endswith(":undo") else "r"
        out["commission"].add(f"{tag}:{parts[1]}:c:{cid}")
    for rid, status in db.session.execute(select(Refund.id, Refund.status).where(Refund.created_at >= since)):
        tags = ("r", "u") if status == "failed" else ("r",)
        for tag in tags:
            out["gmv"].add(f"{tag}:{rid}:gmv")
            out["orders"].add(f"{tag}:{rid}:orders")
    return out


def rows_of(standings: dict[int, Standing]):
    return ((uid, s.score, s.reached_ms) for uid, s in standings.items())


def drift(conn: redis.Redis, board: Board, standings: dict[int, Standing]) -> list[dict]:
    """Members whose score in Redis differs from the database's (absent counts as 0)."""
    in_redis = boards.scores(conn, board)
    report = []
    for uid in sorted(set(in_redis) | set(standings)):
        expected = standings[uid].score if uid in standings else None
        actual = in_redis.get(uid)
        if (actual or 0) != (expected or 0):
            report.append({"user_id": uid, "redis": actual, "database": expected})
    return report

