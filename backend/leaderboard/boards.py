"""Boards in Redis.

A board (metric, period kind, period key) is one sorted set. Its member is the user
id, zero-padded and inverted (``10^12-1 - id``); its score carries the metric and
the tie-break at once::

    score = value * 2^32 + (2^32 - 1 - seconds from 2020 to when the value was reached)

so a higher value ranks first and, on equal values, the earlier achiever; on the
same second Redis orders equal scores by member, in reverse for ZREVRANGE, which
puts the smaller user id first. A rank is one ZREVRANK, a page one ZREVRANGE, and
nothing else is stored per member. Values up to 2^21 (20,971.52 yuan of fen, or
two million orders) keep the second exactly; above that, doubles keep the value
exact and the tie-break to within minutes (2^(bits of the value - 21) seconds):
equal values that high, reached within those minutes, are left to the user id.

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

SCALE = 2**32  # the tie-break lives below this
EPOCH_S = 1_577_836_800  # 2020-01-01T00:00:00Z
MAX_ID = 10**12 - 1
SEEN_DAYS = 2  # today's and yesterday's ids of applied events


def member(user_id: int) -> str:
    return f"{MAX_ID - user_id:012d}"


def user_of(raw: bytes | str) -> int:
    return MAX_ID - int(raw)


def tie(reached_ms: int) -> int:
    """The part of the score below SCALE: larger for an earlier moment (0 = never)."""
    seconds = reached_ms // 1000 - EPOCH_S if reached_ms else 0
    return SCALE - 1 - min(max(seconds, 0), SCALE - 1)


def encode(value: int, reached_ms: int) -> int:
    return value * SCALE + tie(reached_ms)


def value_of(score: float) -> int:
    return int(score // SCALE)


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
        keys.append(b.scores)
        expiries.append(b.expire_at_unix())
    return keys, expiries


# KEYS: seen today, seen yesterday, then the boards. ARGV: member, delta, event id,
# tie-break of this event's moment, seen expire-at. Board expiry: once per batch, in apply().
_APPLY = """
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 0 end
if redis.call('SADD', KEYS[1], ARGV[3]) == 0 then return 0 end
redis.call('EXPIREAT', KEYS[1], ARGV[5])
local scale = 4294967296
local who, delta, fresh = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4])
for i = 3, #KEYS do
  local score = redis.call('ZSCORE', KEYS[i], who)
  if not score then
    redis.call('ZADD', KEYS[i], delta * scale + fresh, who)
  else
    score = tonumber(score)
    local value = math.floor(score / scale)
    local tie = score - value * scale
    if delta > 0 and fresh < tie then tie = fresh end
    redis.call('ZADD', KEYS[i], (value + delta) * scale + tie, who)
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
        expiries.update((k, x) for k, x in zip(keys, board_expiries, strict=True) if x)
        # a decrease never counts as reaching a score: a newcomer's time stays "never"
        fresh = tie(int(at.timestamp() * 1000) if e.delta > 0 else 0)
        script(keys=seen[e.metric] + keys, args=[member(e.user_id), e.delta, e.event_id, fresh, seen_expire],
               client=pipe)
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


def _entries(flat: list, first_rank: int) -> list[tuple[int, Entry]]:
    return [(first_rank + i // 2, Entry(user_of(flat[i]), value_of(float(flat[i + 1]))))
            for i in range(0, len(flat), 2)]


# KEYS: the board. ARGV: limit, member ('' for nobody), places around.
_READ = """
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if ARGV[2] == '' then return {top} end
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
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
    reply = conn.register_script(_READ)(keys=[board.scores],
                                        args=[limit, "" if user_id is None else member(user_id), around])
    top = _entries(reply[0], 1)
    if len(reply) == 1:
        return Reading(top)
    rank, start = int(reply[1]) + 1, int(reply[2]) + 1
    window = _entries(reply[3], start)
    mine = next(i for i, (_, e) in enumerate(window) if e.user_id == user_id)
    return Reading(top, window[mine][1], rank, window, window[mine - 1] if mine > 0 else None)


def scores(conn: redis.Redis, board: Board) -> dict[int, int]:
    """Every member's value (for the drift check)."""
    return {user_of(m): value_of(s) for m, s in conn.zrange(board.scores, 0, -1, withscores=True)}


CHUNK = 10_000  # members per command: no single command blocks Redis for long


def replace(conn: redis.Redis, board: Board, standings: Iterable[tuple[int, int, int]]) -> int:
    """Replace one board with (user id, value, reached ms) rows: fill a temporary key
    in chunks, then swap it in with one RENAME (same hash tag, same Cluster slot).
    Returns how many members were written."""
    temp = f"{board.scores}:rebuild"
    conn.delete(temp)
    written = 0
    flat: list = []
    for user_id, value, reached_ms in standings:
        flat += (encode(value, reached_ms), member(user_id))
        if len(flat) >= 2 * CHUNK:
            conn.execute_command("ZADD", temp, *flat)
            written += len(flat) // 2
            flat = []
    if flat:
        conn.execute_command("ZADD", temp, *flat)
        written += len(flat) // 2
    swap = conn.pipeline(transaction=True)
    if written:
        swap.rename(temp, board.scores)
        expire = board.expire_at_unix()
        if expire:
            swap.expireat(board.scores, expire)
    else:
        swap.delete(board.scores)
    swap.execute()
    return written
