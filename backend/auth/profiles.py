"""Public profiles (id, nickname, avatar) for pages that show many people at once.

Leaderboards show up to 55 people per read; their names come from a Redis hash, so
a board read needs no database round trip. The hash is filled three ways: on a miss
(from the database), by the worker that puts someone on a board (``warm``), and by a
board rebuild for everyone on the boards. A profile change forgets the user's entry
after its commit. The hash is new every UTC day (the old one expires), which bounds
how stale a name can get if Redis missed a forget (it was down at that moment).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import Select, select

from backend.auth.models import User
from backend.extensions import db, redis_client

log = logging.getLogger(__name__)
BUCKET_SECONDS = 86_400
WARM_CHUNK = 5_000  # ids per database query and per HSET when warming


def _key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:profiles:{int(time.time() // BUCKET_SECONDS)}"


def _load(user_ids) -> dict[int, dict]:
    """Profiles of ``user_ids``: a list of ids or a subquery that selects them."""
    return {uid: {"id": uid, "nickname": nickname, "avatar_url": avatar_url}
            for uid, nickname, avatar_url in db.session.execute(
                select(User.id, User.nickname, User.avatar_url).where(User.id.in_(user_ids)))}


def _remember(conn, profiles: dict[int, dict]) -> None:
    if not profiles:
        return
    try:
        pipe = conn.pipeline(transaction=False)
        pipe.hset(_key(), mapping={uid: json.dumps(p, ensure_ascii=False) for uid, p in profiles.items()})
        pipe.expire(_key(), 2 * BUCKET_SECONDS)
        pipe.execute()
    except Exception as exc:  # the database still answers the next miss
        log.warning("profile cache not filled: %s", exc)


def _cached(conn, user_ids: list[int]) -> dict[int, dict]:
    try:
        cached = conn.hmget(_key(), user_ids)
    except Exception as exc:  # Redis trouble: the database still answers
        log.warning("profile cache unavailable: %s", exc)
        return {}
    return {uid: json.loads(raw) for uid, raw in zip(user_ids, cached, strict=True) if raw is not None}


def public_profiles(user_ids: list[int]) -> dict[int, dict]:
    """{id: {id, nickname, avatar_url}} for the ids that exist."""
    if not user_ids:
        return {}
    conn = redis_client()
    found = _cached(conn, user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        loaded = _load(missing)
        found.update(loaded)
        _remember(conn, loaded)
    return found


def warm_all(user_ids: Select) -> int:
    """Cache the profiles of everyone a subquery selects (the rebuild's whole board
    population): one query, written to Redis in chunks."""
    conn = redis_client()
    # Fetched whole (three short columns a row): a server-side cursor would make
    # PostgreSQL plan for the first rows, a nested loop that is many times slower.
    rows = db.session.execute(select(User.id, User.nickname, User.avatar_url).where(User.id.in_(user_ids))).all()
    for i in range(0, len(rows), WARM_CHUNK):
        _remember(conn, {uid: {"id": uid, "nickname": nickname, "avatar_url": avatar_url}
                         for uid, nickname, avatar_url in rows[i:i + WARM_CHUNK]})
    return len(rows)


def warm(user_ids: Iterable[int]) -> int:
    """Put the profiles of these users that today's hash lacks into it (one HMGET, and
    a query only for the missing). Returns how many were written."""
    conn, ids, written = redis_client(), sorted(set(user_ids)), 0
    for i in range(0, len(ids), WARM_CHUNK):
        cached = _cached(conn, ids[i:i + WARM_CHUNK])
        chunk = [uid for uid in ids[i:i + WARM_CHUNK] if uid not in cached]
        if chunk:
            loaded = _load(chunk)
            _remember(conn, loaded)
            written += len(loaded)
    return written


def forget(user_id: int) -> None:
    """Call after the commit that changed a user's public profile."""
    try:
        redis_client().hdel(_key(), user_id)
    except Exception as exc:
        log.warning("profile cache: could not forget user %s: %s", user_id, exc)
