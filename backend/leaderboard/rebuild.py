"""Boards recomputed from the database: the rebuild after a Redis loss, and the
drift check that compares Redis with the database.

The rules mirror service.py: a commission counts from its release (what is left of
it now), an order counts on the level-1 distributor's boards once that
distributor's commission was released; refunds are already netted in the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis
from sqlalchemy import and_, func, select

from backend.commission.models import Commission, LedgerEntry
from backend.extensions import db
from backend.leaderboard.boards import Board
from backend.leaderboard.periods import keys_at
from backend.orders.models import Order, Refund
from backend.timeutil import as_utc, utcnow


@dataclass
class Standing:
    score: int = 0
    reached_ms: int = 0

    def add(self, delta: int, at_ms: int) -> None:
        self.score += delta
        self.reached_ms = max(self.reached_ms, at_ms)


@dataclass
class Computed:
    """Every board that has data: scores and the events already counted in them."""

    standings: dict[tuple[str, str, str], dict[int, Standing]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Standing)))
    events: dict[tuple[str, str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, metric: str, user_id: int, delta: int, at, events: list[str]) -> None:
        at_ms = int(as_utc(at).timestamp() * 1000)
        for kind, key in keys_at(at):
            board = (metric, kind, key)
            self.standings[board][user_id].add(delta, at_ms)
            self.events[board].update(events)


def _released_rows(batch: int) -> Iterator:
    first = (select(Order.user_id, func.min(Order.paid_at).label("first_at"))
             .where(Order.paid_at.is_not(None)).group_by(Order.user_id).subquery())
    stmt = (
        select(Commission.id, Commission.user_id, Commission.level, Commission.amount_fen, Commission.reversed_fen,
               Commission.created_at, Order.id, Order.paid_fen, Order.refunded_fen, Order.paid_at,
               (Order.paid_at == first.c.first_at).label("first_order"))
        .join(LedgerEntry, and_(LedgerEntry.commission_id == Commission.id,
                                LedgerEntry.kind == "commission_released"))
        .join(Order, Order.id == Commission.order_id)
        .join(first, first.c.user_id == Order.user_id)
        .execution_options(yield_per=batch)
    )
    yield from db.session.execute(stmt)


def compute(progress: Callable[[int], None] | None = None, batch: int = 10_000) -> Computed:
    """One streaming pass over the released commissions (and their orders)."""
    refunds: dict[int, list[int]] = defaultdict(list)
    for refund_id, order_id in db.session.execute(select(Refund.id, Refund.order_id)):
        refunds[order_id].append(refund_id)
    out = Computed()
    for n, row in enumerate(_released_rows(batch), 1):
        (cid, user_id, level, amount, reversed_, created_at, order_id, paid, refunded, paid_at, first_order) = row
        refund_events = [f"{t}:{r}:{suffix}" for r in refunds.get(order_id, ()) for t in ("r", "u")
                         for suffix in (f"c:{cid}", "gmv", "orders")]
        out.add("commission", user_id, amount - reversed_, created_at, [f"c:{cid}", *refund_events])
        if level == 1:
            order_events = [f"o:{order_id}", *refund_events]
            out.add("gmv", user_id, paid - refunded, paid_at, order_events)
            out.add("orders", user_id, int(refunded < paid), paid_at, order_events)
            if first_order:
                out.add("customers", user_id, 1, paid_at, order_events)
        if progress and n % batch == 0:
            progress(batch)
    return out


def live_boards(computed: Computed, prefix: str):
    """The computed boards that Redis still keeps (older periods have expired)."""
    now = utcnow()
    for (metric, kind, key), standings in computed.standings.items():
        board = Board(prefix, metric, kind, key)
        expire = board.expire_at_unix()
        if expire and expire <= now.timestamp():
            continue
        yield board, standings, computed.events[(metric, kind, key)]


def write(conn: redis.Redis, board: Board, standings: dict[int, Standing], events: set[str]) -> None:
    """Replace one board atomically (MULTI on the board's own slot)."""
    pipe = conn.pipeline(transaction=True)
    pipe.delete(board.scores, board.reached, board.seen)
    if standings:
        pipe.zadd(board.scores, {str(uid): s.score for uid, s in standings.items()})
        pipe.hset(board.reached, mapping={str(uid): s.reached_ms for uid, s in standings.items()})
    for start in range(0, len(events), 10_000):
        pipe.sadd(board.seen, *list(events)[start:start + 10_000])
    expire = board.expire_at_unix()
    if expire:
        for key in (board.scores, board.reached, board.seen):
            pipe.expireat(key, expire)
    pipe.execute()


def drift(conn: redis.Redis, board: Board, standings: dict[int, Standing]) -> list[dict]:
    """Members whose score in Redis differs from the database's."""
    in_redis = {int(m): int(s) for m, s in conn.zrange(board.scores, 0, -1, withscores=True)}
    report = []
    for uid in sorted(set(in_redis) | set(standings)):
        expected = standings[uid].score if uid in standings else None
        if in_redis.get(uid) != expected:
            report.append({"user_id": uid, "redis": in_redis.get(uid), "database": expected})
    return report
