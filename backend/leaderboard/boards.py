"""Boards in Redis: a sorted set of scores, a hash of when each score was reached
(ties rank the earlier achiever first) and a set of the events already applied
(a replayed event changes nothing). The three keys of a board share one hash tag,
so a board lives in one Redis Cluster slot and its Lua update stays atomic.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from backend.leaderboard.periods import expires_at

# KEYS: board, reached, seen. ARGV: member, delta, event id, at (ms), expire-at (s, 0 = never)
_APPLY = """
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
local delta = tonumber(ARGV[2])
redis.call('ZINCRBY', KEYS[1], delta, ARGV[1])
if delta > 0 then
  local at = tonumber(ARGV[4])
  local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if at > cur then redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) end
end
local exp = tonumber(ARGV[5])
if exp > 0 then
  redis.call('EXPIREAT', KEYS[1], exp)
  redis.call('EXPIREAT', KEYS[2], exp)
  redis.call('EXPIREAT', KEYS[3], exp)
end
return 1
"""


@dataclass(frozen=True)
class Board:
    prefix: str
    metric: str
    kind: str
    key: str

    @property
    def tag(self) -> str:
        return f"{{{self.metric}:{self.kind}:{self.key}}}"

    @property
    def scores(self) -> str:
        return f"{self.prefix}:lb:{self.tag}"

    @property
    def reached(self) -> str:
        return f"{self.prefix}:lb:{self.tag}:reached"

    @property
    def seen(self) -> str:
        return f"{self.prefix}:lb:{self.tag}:seen"

    def expire_at_unix(self) -> int:
        when = expires_at(self.kind, self.key)
        return int(when.timestamp()) if when else 0


@dataclass(frozen=True)
class Update:
    board: Board
    user_id: int
    delta: int
    event_id: str
    at_ms: int


def apply(conn: redis.Redis, updates: list[Update]) -> int:
    """Apply updates in one round trip; returns how many were new."""
    if not updates:
        return 0
    script = conn.register_script(_APPLY)
    pipe = conn.pipeline(transaction=False)
    for u in updates:
        script(keys=[u.board.scores, u.board.reached, u.board.seen],
               args=[u.user_id, u.delta, u.event_id, u.at_ms, u.board.expire_at_unix()], client=pipe)
    return sum(int(x) for x in pipe.execute())


@dataclass(frozen=True)
class Entry:
    user_id: int
    score: int
    reached_ms: int


def _entries(conn: redis.Redis, board: Board, pairs) -> list[Entry]:
    members = [m for m, _ in pairs]
    reached = conn.hmget(board.reached, members) if members else []
    return [Entry(int(m), int(s), int(r or 0)) for (m, s), r in zip(pairs, reached, strict=True)]


def _order(entries: list[Entry]) -> list[Entry]:
    # score high first; on a tie, who reached it first; then the smaller id (stable)
    return sorted(entries, key=lambda e: (-e.score, e.reached_ms, e.user_id))


def top(conn: redis.Redis, board: Board, limit: int) -> list[tuple[int, Entry]]:
    """[(rank, entry)] of the first ``limit``, ties ordered by time reached."""
    head = conn.zrevrange(board.scores, 0, limit - 1, withscores=True)
    if not head:
        return []
    last = head[-1][1]
    # members tied with the last score may sit beyond the cut: take them all in
    tied = conn.zrangebyscore(board.scores, last, last, withscores=True)
    pairs = {m: s for m, s in head + tied}
    ordered = _order(_entries(conn, board, list(pairs.items())))[:limit]
    return [(i + 1, e) for i, e in enumerate(ordered)]


def standing(conn: redis.Redis, board: Board, user_id: int, around: int = 2):
    """(rank, entry, window) for a user, or None. The window is [(rank, entry)]
    of ``around`` places above and below."""
    score = conn.zscore(board.scores, user_id)
    if score is None:
        return None
    higher = conn.zcount(board.scores, f"({score}", "+inf")
    # the neighbourhood by index, widened to whole tie groups at both ends
    start = max(0, higher - around - 1)
    near = conn.zrevrange(board.scores, start, higher + around + 1, withscores=True)
    scores = {s for _, s in near}
    pairs = dict(near)
    for s in (max(scores), min(scores)):
        pairs.update(dict(conn.zrangebyscore(board.scores, s, s, withscores=True)))
    ordered = _order(_entries(conn, board, list(pairs.items())))
    first_rank = conn.zcount(board.scores, f"({ordered[0].score}", "+inf") + 1
    ranked = [(first_rank + i, e) for i, e in enumerate(ordered)]
    mine = next(i for i, (_, e) in enumerate(ranked) if e.user_id == user_id)
    window = ranked[max(0, mine - around): mine + around + 1]
    return ranked[mine][0], ranked[mine][1], window, (ranked[mine - 1] if mine > 0 else None)
