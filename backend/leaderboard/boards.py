"""Boards in Redis.

A board (metric, period kind, period key) is a sorted set and a hash:

* the sorted set's members encode the tie-break: ``<inverted reached ms>:<inverted
  user id>``, both fixed width. Redis orders equal scores by member in reverse for
  ZREVRANGE/ZREVRANK, so the earlier achiever (larger inverted time) comes first and,
  on the same millisecond, the smaller user id. A rank is then one ZREVRANK, a page
  one ZREVRANGE: no tie group is ever scanned;
* the hash maps a user id to their current member (the member changes when a higher
  score is reached later).

Replays: every event carries an id; a per-metric set of the ids applied today (and
the one of yesterday) makes a replayed event a no-op. The ledger is the long-term
truth: boards are rebuilt from it (rebuild.py), and a replay later than a day
after the first application is what the drift check is for.

Every key of a metric carries the same hash tag ``{lb:<metric>}``, so one event's
update of its four period boards (and its seen-set) is one atomic Lua call inside
one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import redis

from backend.leaderboard.periods import expires_at, keys_at
from backend.timeutil import SHOP_TZ, as_utc, utcnow

MAX_MS = 10**13 - 1  # milliseconds until the year 2286
MAX_ID = 10**12 - 1
SEEN_DAYS = 2  # today's and yesterday's ids of applied events


def member(user_id: int, reached_ms: int) -> str:
    return f"{MAX_MS - reached_ms:013d}:{MAX_ID - user_id:012d}"


def parse_member(raw: bytes | str) -> tuple[int, int]:
    """(user id, reached ms) of a sorted-set member."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    inv_ms, _, inv_id = text.partition(":")
    return MAX_ID - int(inv_id), MAX_MS - int(inv_ms)


def to_ms(at: datetime) -> int:
    return int(as_utc(at).timestamp() * 1000)


def _base(prefix: str, metric: str) -> str:
    return f"{prefix}:lb:{{lb:{metric}}}"


def seen_key(prefix: str, metric: str, day: datetime) -> str:
    return f"{_base(prefix, metric)}:seen:{as_utc(day).date().isoformat()}"


@dataclass(frozen=True)
class Board:
    prefix: str
    metric: str
    kind: str
    key: str

    @property
    def scores(self) -> str:
        return f"{_base(self.prefix, self.metric)}:{self.kind}:{self.key}"

    @property
    def members(self) -> str:
        return f"{self.scores}:m"

    def expire_at_unix(self) -> int:
        when = expires_at(self.kind, self.key)
        return int(when.timestamp()) if when else 0


@dataclass(frozen=True)
class Event:
    """``delta`` for ``user_id`` on the four period boards of ``metric`` at ``at``."""

    metric: str
    user_id: int
    delta: int
    event_id: str
    at: datetime

    def boards(self, prefix: str) -> list[Board]:
        return [Board(prefix, self.metric, kind, key) for kind, key in keys_at(self.at)]


@lru_cache(maxsize=4096)
def _board_keys(prefix: str, metric: str, day: date) -> tuple[list[str], list[int]]:
    """(keys, expiries) of the four boards an event of ``metric`` on a Shanghai ``day``
    lands on: computed once per day, not once per event."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=SHOP_TZ)
    keys, expiries = [], []
    for kind, key in keys_at(noon):
        b = Board(prefix, metric, kind, key)
        keys += [b.scores, b.members]
        expiries.append(b.expire_at_unix())
    return keys, expiries


# KEYS: seen today, seen yesterday, then (scores, members) per board.
# ARGV: user id, delta, event id, member for this event, seen expire-at.
# The boards' own expiry is set once per batch by apply(), not once per event.
_APPLY = """
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 0 end
if redis.call('SADD', KEYS[1], ARGV[3]) == 0 then return 0 end
redis.call('EXPIREAT', KEYS[1], ARGV[5])
local uid, delta, fresh = ARGV[1], tonumber(ARGV[2]), ARGV[4]
local fresh_inv = tonumber(string.sub(fresh, 1, 13))
for i = 1, (#KEYS - 2) / 2 do
  local z, m = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local old = redis.call('HGET', m, uid)
  if not old then
    redis.call('ZADD', z, delta, fresh)
    redis.call('HSET', m, uid, fresh)
  elseif delta > 0 and fresh_inv < tonumber(string.sub(old, 1, 13)) then
    local score = tonumber(redis.call('ZSCORE', z, old))
    redis.call('ZREM', z, old)
    redis.call('ZADD', z, score + delta, fresh)
    redis.call('HSET', m, uid, fresh)
  else
    redis.call('ZINCRBY', z, delta, old)
  end
end
return 1
"""


def apply(conn: redis.Redis, prefix: str, events: Iterable[Event], now: datetime | None = None) -> int:
    """Apply events in one round trip, each atomically on its four boards; returns
    how many were new."""
    events = list(events)
    if not events:
        return 0
    now = now or utcnow()
    seen_expire = int((as_utc(now) + timedelta(days=SEEN_DAYS)).timestamp())
    script = conn.register_script(_APPLY)
    pipe = conn.pipeline(transaction=False)
    seen = {}
    expiries: dict[str, int] = {}
    for e in events:
        if e.metric not in seen:
            seen[e.metric] = [seen_key(prefix, e.metric, now), seen_key(prefix, e.metric, now - timedelta(days=1))]
        at = as_utc(e.at)
        keys, board_expiries = _board_keys(prefix, e.metric, at.astimezone(SHOP_TZ).date())
        expiries.update((k, board_expiries[i // 2]) for i, k in enumerate(keys) if board_expiries[i // 2])
        # a decrease never counts as reaching a score: a newcomer's time stays 0
        fresh = member(e.user_id, int(at.timestamp() * 1000) if e.delta > 0 else 0)
        script(keys=seen[e.metric] + keys, args=[e.user_id, e.delta, e.event_id, fresh, seen_expire], client=pipe)
    for key, at_unix in expiries.items():  # old periods leave Redis on their own
        pipe.expireat(key, at_unix)
    return sum(int(x) for x in pipe.execute()[:len(events)])


def mark_seen(conn: redis.Redis, prefix: str, metric: str, event_ids: Iterable[str], now: datetime | None = None,
              chunk: int = 5_000) -> None:
    """Record events as applied without applying them (the rebuild already counted them)."""
    now = now or utcnow()
    key = seen_key(prefix, metric, now)
    ids = list(event_ids)
    for start in range(0, len(ids), chunk):
        conn.sadd(key, *ids[start:start + chunk])
    if ids:
        conn.expireat(key, int((as_utc(now) + timedelta(days=SEEN_DAYS)).timestamp()))


@dataclass(frozen=True)
class Entry:
    user_id: int
    score: int
    reached_ms: int


def _entries(flat: list, first_rank: int) -> list[tuple[int, Entry]]:
    out = []
    for i in range(0, len(flat), 2):
        user_id, reached = parse_member(flat[i])
        out.append((first_rank + i // 2, Entry(user_id, int(float(flat[i + 1])), reached)))
    return out


# KEYS: scores, members. ARGV: limit, user id ('' for nobody), places around.
_READ = """
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if ARGV[2] == '' then return {top} end
local m = redis.call('HGET', KEYS[2], ARGV[2])
if not m then return {top} end
local rank = redis.call('ZREVRANK', KEYS[1], m)
if not rank then return {top} end
local around = tonumber(ARGV[3])
local start = rank - around
if start < 0 then start = 0 end
return {top, rank, start, redis.call('ZREVRANGE', KEYS[1], start, rank + around, 'WITHSCORES')}
"""


@dataclass(frozen=True)
class Reading:
    top: list[tuple[int, Entry]]
    me: Entry | None = None
    rank: int | None = None
    window: list[tuple[int, Entry]] | None = None
    above: tuple[int, Entry] | None = None


def read(conn: redis.Redis, board: Board, limit: int, user_id: int | None = None, around: int = 2) -> Reading:
    """The top ``limit`` and, for a user on the board, their rank, entry, the window of
    ``around`` places either side and the place just above: one Redis round trip."""
    reply = conn.register_script(_READ)(keys=[board.scores, board.members],
                                        args=[limit, "" if user_id is None else user_id, around])
    top = _entries(reply[0], 1)
    if len(reply) == 1:
        return Reading(top)
    rank, start = int(reply[1]) + 1, int(reply[2]) + 1
    window = _entries(reply[3], start)
    mine = next(i for i, (_, e) in enumerate(window) if e.user_id == user_id)
    return Reading(top, window[mine][1], rank, window, window[mine - 1] if mine > 0 else None)


def scores(conn: redis.Redis, board: Board) -> dict[int, int]:
    """Every member's score (for the drift check)."""
    flat = conn.zrange(board.scores, 0, -1, withscores=True)
    return {parse_member(m)[0]: int(s) for m, s in flat}


def user_member(conn: redis.Redis, board: Board, user_id: int) -> str | None:
    raw = conn.hget(board.members, user_id)
    return raw.decode() if raw is not None else None


CHUNK = 5_000  # members per command: no single command blocks Redis for long


def replace(conn: redis.Redis, board: Board, standings: Iterable[tuple[int, int, int]]) -> int:
    """Replace one board with (user id, score, reached ms) rows: fill temporary keys in
    small chunks, then swap them in with one MULTI of RENAMEs (same hash tag, so the
    swap stays in one Cluster slot). Returns how many members were written."""
    live = (board.scores, board.members)
    temp = tuple(f"{key}:rebuild" for key in live)
    conn.delete(*temp)
    written = 0
    part_z: dict[str, int] = {}
    part_m: dict[int, str] = {}

    def flush():
        pipe = conn.pipeline(transaction=False)
        pipe.zadd(temp[0], part_z)
        pipe.hset(temp[1], mapping=part_m)
        pipe.execute()
        part_z.clear()
        part_m.clear()

    for user_id, score, reached_ms in standings:
        m = member(user_id, reached_ms)
        part_z[m] = score
        part_m[user_id] = m
        written += 1
        if len(part_z) >= CHUNK:
            flush()
    if part_z:
        flush()
    expire = board.expire_at_unix()
    swap = conn.pipeline(transaction=True)
    for source, target in zip(temp, live, strict=True):
        if not written:
            swap.delete(target)
            continue
        swap.rename(source, target)
        if expire:
            swap.expireat(target, expire)
    swap.execute()
    return written

