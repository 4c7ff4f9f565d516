"""Read-through cache in Redis for figures that are costly to compute and exact for a
version: the caller puts everything the answer depends on into the key (a day, the
latest ``rolled_at``, the newest row id), so a cached value is never stale, only
unused once the data moves on. Without Redis the value is computed each time: a
cache never decides an answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from backend.extensions import redis_client

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_SECONDS = 24 * 3600


def cached(name: str, version: str, compute: Callable[[], T], seconds: int = DEFAULT_SECONDS) -> T:
    """``compute()``'s JSON value for ``name`` at ``version``, from Redis when it is there."""
    key = f"{current_app.config['FISSION'].queue_prefix}:cache:{name}:{version}"
    try:
        conn = redis_client()
        raw = conn.get(key)
        if raw is not None:
            return json.loads(raw)
    except Exception:
        log.warning("read cache unavailable; computing %s", name)
        return compute()
    value = compute()
    with contextlib.suppress(Exception):
        conn.set(key, json.dumps(value), ex=seconds)
    return value
