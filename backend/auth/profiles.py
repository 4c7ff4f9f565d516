"""Public profiles (id, nickname, avatar) for pages that show many people at once.

Leaderboards show up to 55 people per read; their names come from a Redis hash
filled from the database on a miss, so a hot page needs no database round trip.
A profile change forgets the user's entry after its commit. The hash is new every
hour (the old one expires), which bounds how stale a name can get if Redis missed
a forget (it was down at that moment) to an hour.
"""

from __future__ import annotations

import json
import logging
import time

from flask import current_app
from sqlalchemy import select

from backend.auth.models import User
from backend.extensions import db, redis_client

log = logging.getLogger(__name__)
BUCKET_SECONDS = 3600


def _key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:profiles:{int(time.time() // BUCKET_SECONDS)}"


def public_profiles(user_ids: list[int]) -> dict[int, dict]:
    """{id: {id, nickname, avatar_url}} for the ids that exist."""
    if not user_ids:
        return {}
    conn = redis_client()
    try:
        cached = conn.hmget(_key(), user_ids)
    except Exception as exc:  # Redis trouble: the database still answers
        log.warning("profile cache unavailable: %s", exc)
        cached = [None] * len(user_ids)
    found = {uid: json.loads(raw) for uid, raw in zip(user_ids, cached, strict=True) if raw is not None}
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        loaded = {uid: {"id": uid, "nickname": nickname, "avatar_url": avatar_url}
                  for uid, nickname, avatar_url in db.session.execute(
                      select(User.id, User.nickname, User.avatar_url).where(User.id.in_(missing)))}
        found.update(loaded)
        if loaded:
            try:
                pipe = conn.pipeline(transaction=False)
                pipe.hset(_key(), mapping={uid: json.dumps(p, ensure_ascii=False) for uid, p in loaded.items()})
                pipe.expire(_key(), 2 * BUCKET_SECONDS)
                pipe.execute()
            except Exception as exc:
                log.warning("profile cache not filled: %s", exc)
    return found


def forget(user_id: int) -> None:
    """Call after the commit that changed a user's public profile."""
    try:
        redis_client().hdel(_key(), user_id)
    except Exception as exc:
        log.warning("profile cache: could not forget user %s: %s", user_id, exc)
