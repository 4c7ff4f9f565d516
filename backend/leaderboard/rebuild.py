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


CHUNK = 5_000  # members or event ids per command: no single command blocks Redis for long


def write(conn: redis.Redis, board: Board, standings: dict[int, Standing], events: set[str]) -> None:
    """Replace one board: fill temporary keys in small chunks (no command is long
    enough to block Redis or hit the client's timeout), then swap them in with one
    MULTI of RENAMEs. The temporary keys carry the board's hash tag, so the swap
    stays in one Redis Cluster slot."""
    live = (board.scores, board.reached, board.seen)
    temp = tuple(f"{key}:rebuild" for key in live)
    conn.delete(*temp)
    members = list(standings.items())
    for start in range(0, len(members), CHUNK):
        part = members[start:start + CHUNK]
        pipe = conn.pipeline(transaction=False)
        pipe.zadd(temp[0], {str(uid): s.score for uid, s in part})
        pipe.hset(temp[1], mapping={str(uid): s.reached_ms for uid, s in part})
        pipe.execute()
    ids = list(events)
    for start in range(0, len(ids), CHUNK):
        conn.sadd(temp[2], *ids[start:start + CHUNK])
    filled = (bool(members), bool(members), bool(ids))
    expire = board.expire_at_unix()
    swap = conn.pipeline(transaction=True)
    for source, target, has_data in zip(temp, live, filled, strict=True):
        if not has_data:
            swap.delete(target)
            continue
        swap.rename(source, target)
        if expire:
            swap.expireat(target, expire)
    swap.execute()


def drift(conn: redis.Redis, board: Board, standings: dict[int, Standing]) -> list[dict]:
    """Members whose score in Redis differs from the database's."""
    in_redis = {int(m): int(s) for m, s in conn.zrange(board.scores, 0, -1, withscores=True)}
    report = []
    for uid in sorted(set(in_redis) | set(standings)):
        expected = standings[uid].score if uid in standings else None
        if in_redis.get(uid) != expected:
            report.append({"user_id": uid, "redis": in_redis.get(uid), "database": expected})
    return report
