"""Boards recomputed from the database: the rebuild after a Redis loss, and the
drift check that compares Redis with the database.

The rules mirror service.py: a commission counts from its release (what is left of
it now), an order counts on the level-1 distributor's boards once that
distributor's commission was released; refunds are already netted in the rows.

The database does the adding up: per metric family (commissions; orders for GMV,
orders and new customers) and period kind, one GROUP BY (user, Shanghai period)
over the periods Redis still keeps. Only one row per member and board reaches
Python; the next query runs while the rows of the last one are written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from itertools import groupby

import redis
from sqlalchemy import String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.commission import ledger_keys
from backend.commission.models import Commission, LedgerEntry
from backend.extensions import db
from backend.leaderboard import boards
from backend.leaderboard.boards import Board
from backend.leaderboard.periods import METRICS, PERIODS, live_keys, period_bounds, period_key
from backend.orders.models import Order, Refund
from backend.timeutil import SHOP_TZ, utcnow

ORDER_METRICS = ("gmv", "orders", "customers")
BoardRows = list[tuple[int, int, int]]  # (user id, score, reached ms)


class _ShanghaiPeriodStart(FunctionElement):
    """``YYYY-MM-DD`` of the first day of the Asia/Shanghai period a UTC timestamp is in."""

    type = String()
    inherit_cache = True
    kind = "day"


class shanghai_day(_ShanghaiPeriodStart):  # noqa: N801 - reads as the SQL function it is
    inherit_cache = True  # the class is part of the cache key, so each kind caches apart
    kind = "day"


class shanghai_week(_ShanghaiPeriodStart):  # noqa: N801
    inherit_cache = True
    kind = "week"


class shanghai_month(_ShanghaiPeriodStart):  # noqa: N801
    inherit_cache = True
    kind = "month"


PERIOD_START = {"day": shanghai_day, "week": shanghai_week, "month": shanghai_month}


@compiles(_ShanghaiPeriodStart, "postgresql")
def _pg_start(element, compiler, **kw):
    at = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('{element.kind}', {at} AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')"


# Shanghai has kept UTC+8 all year since 1991, so a fixed offset is exact for our data.
@compiles(_ShanghaiPeriodStart, "mysql")
@compiles(_ShanghaiPeriodStart, "mariadb")
def _mysql_start(element, compiler, **kw):
    local = f"DATE_ADD({compiler.process(element.clauses, **kw)}, INTERVAL 8 HOUR)"
    if element.kind == "week":
        return f"DATE_FORMAT(DATE_SUB({local}, INTERVAL WEEKDAY({local}) DAY), '%%Y-%%m-%%d')"
    return f"DATE_FORMAT({local}, '{'%%Y-%%m-01' if element.kind == 'month' else '%%Y-%%m-%%d'}')"


@compiles(_ShanghaiPeriodStart, "sqlite")
def _sqlite_start(element, compiler, **kw):
    modifiers = {"day": "", "week": ", '-6 days', 'weekday 1'", "month": ", 'start of month'"}[element.kind]
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours'{modifiers})"


def _grouped(cols, at_column, kind: str, since: datetime | None, *where):
    if kind == "all":
        return select(*cols).where(*where).group_by(cols[0])
    start = PERIOD_START[kind](at_column)
    return select(start, *cols).where(*where, at_column >= since).group_by(cols[0], start).order_by(start)


def _commission_query(kind: str, since: datetime | None):
    """[period start,] user, net fen, when the last increase was earned (a released
    commission was an increase when it reached the boards, whatever refunds did since)."""
    net = Commission.amount_fen - Commission.reversed_fen
    cols = [Commission.user_id, func.sum(net), func.max(Commission.created_at)]
    return _grouped(cols, Commission.created_at, kind, since, Commission.released_at.is_not(None))


def _order_query(kind: str, since: datetime | None):
    """[period start,] level-1 distributor, GMV, orders, new customers, when GMV and
    orders last rose, when the last new customer came."""
    first = (select(Order.user_id, func.min(Order.paid_at).label("first_at"))
             .where(Order.paid_at.is_not(None)).group_by(Order.user_id).subquery())
    gmv = Order.paid_fen - Order.refunded_fen
    is_first = Order.paid_at == first.c.first_at
    cols = [Commission.user_id, func.sum(gmv), func.sum(case((gmv > 0, 1), else_=0)),
            func.sum(case((is_first, 1), else_=0)),
            func.max(Order.paid_at), func.max(case((is_first, Order.paid_at)))]
    stmt = _grouped(cols, Order.paid_at, kind, since, Commission.level == 1, Commission.released_at.is_not(None))
    return stmt.join(Order, Order.id == Commission.order_id).join(first, first.c.user_id == Order.user_id)


def _run(conn, family: str, kind: str, since: datetime | None) -> list:
    if conn.dialect.name == "postgresql":  # hash the big GROUP BYs in memory, do not spill
        conn.execute(select(func.set_config("work_mem", "256MB", True)))
    query = _commission_query if family == "commission" else _order_query
    return conn.execute(query(kind, since)).all()


def _fetch(engine, family: str, kind: str, since: datetime | None) -> list:
    with engine.connect() as conn:
        return _run(conn, family, kind, since)


def _ms(at) -> int:
    return boards.to_ms(at) if at is not None else 0


def _noon(start) -> datetime:
    day = date.fromisoformat(str(start)[:10])
    return datetime(day.year, day.month, day.day, 12, tzinfo=SHOP_TZ)


def _boards_of(family: str, kind: str, rows: list, live: set[str]) -> Iterator[tuple[tuple[str, str, str], BoardRows]]:
    if kind == "all":
        groups = [("all", rows)]
    else:
        groups = ((period_key(kind, _noon(start)), [row[1:] for row in group])
                  for start, group in groupby(rows, key=lambda row: row[0]))
    for key, members in groups:
        if key not in live:
            continue
        if family == "commission":
            yield ("commission", kind, key), [(uid, int(net), _ms(at)) for uid, net, at in members]
            continue
        yield ("gmv", kind, key), [(uid, int(g), _ms(sold)) for uid, g, _o, _c, sold, _f in members]
        yield ("orders", kind, key), [(uid, int(o), _ms(sold)) for uid, _g, o, _c, sold, _f in members]
        yield ("customers", kind, key), [(uid, int(c), _ms(f)) for uid, _g, _o, c, _s, f in members if c]


def computed_boards(now: datetime | None = None) -> Iterator[tuple[tuple[str, str, str], BoardRows]]:
    """Every live board the database has data for: (metric, kind, key) and its rows."""
    now = now or utcnow()
    live = {kind: set(live_keys(kind, now)) for kind in PERIODS}
    since = {kind: min(period_bounds(kind, key)[0] for key in live[kind]) for kind in PERIODS if kind != "all"}
    plan = [(family, kind, since.get(kind)) for family in ("commission", "orders") for kind in PERIODS]
    engine = db.engine
    if engine.dialect.name == "sqlite":  # one writer-locking file: stay on the caller's connection
        for family, kind, since_ in plan:
            yield from _boards_of(family, kind, _run(db.session.connection(), family, kind, since_), live[kind])
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = pool.submit(_fetch, engine, *plan[0])
        for i, (family, kind, _since) in enumerate(plan):
            rows = ahead.result()
            if i + 1 < len(plan):
                ahead = pool.submit(_fetch, engine, *plan[i + 1])
            yield from _boards_of(family, kind, rows, live[kind])


def board_population():
    """Everyone the boards can hold: whoever has a released commission (the all-time
    commission board holds them all)."""
    return select(Commission.user_id).where(Commission.released_at.is_not(None)).distinct()


def live_boards(prefix: str, now: datetime | None = None) -> list[Board]:
    """Every board Redis keeps now, also those the database has nothing for."""
    now = now or utcnow()
    return [Board(prefix, metric, kind, key) for metric in METRICS for kind in PERIODS
            for key in live_keys(kind, now)]


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
    for key, cid in entries:  # a reversal or reinstatement: refund:{refund}:commission:{commission}[:undo]
        parsed = ledger_keys.parse(key)
        tag = "u" if parsed.undo else "r"
        out["commission"].add(f"{tag}:{parsed.refund_id}:c:{cid}")
    for rid, status in db.session.execute(select(Refund.id, Refund.status).where(Refund.created_at >= since)):
        tags = ("r", "u") if status == "failed" else ("r",)
        for tag in tags:
            out["gmv"].add(f"{tag}:{rid}:gmv")
            out["orders"].add(f"{tag}:{rid}:orders")
    return out


def drift(conn: redis.Redis, board: Board, rows: BoardRows) -> list[dict]:
    """Members whose score in Redis differs from the database's (absent counts as 0)."""
    in_redis = boards.scores(conn, board)
    standings = {uid: score for uid, score, _ in rows}
    report = []
    for uid in sorted(set(in_redis) | set(standings)):
        expected, actual = standings.get(uid), in_redis.get(uid)
        if (actual or 0) != (expected or 0):
            report.append({"user_id": uid, "redis": actual, "database": expected})
    return report
