"""The WeChat access token, shared by every process through Redis.

WeChat keeps one valid access token per app: a process that fetches a new one
retires the others' after a few minutes. So all gunicorn processes and workers
keep it in Redis. If Redis is down the token lives in process memory meanwhile:
a login must not fail because a cache is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable

import redis
from wechatpy.session import SessionStorage

log = logging.getLogger(__name__)


class SharedTokenStorage(SessionStorage):
    def __init__(self, get_redis: Callable[[], redis.Redis], prefix: str) -> None:
        self._get_redis = get_redis
        self._prefix = prefix
        self._local: dict[str, tuple[object, float | None]] = {}

    def _key(self, key: str) -> str:
        return f"{self._prefix}:wechat:{key}"

    def get(self, key, default=None):
        try:
            raw = self._get_redis().get(self._key(key))
            return default if raw is None else json.loads(raw)
        except redis.RedisError:
            value, expires = self._local.get(key, (default, None))
            return default if expires is not None and expires < time.time() else value

    def set(self, key, value, ttl=None):
        if value is None:
            return
        self._local[key] = (value, time.time() + ttl if ttl else None)
        try:
            self._get_redis().set(self._key(key), json.dumps(value), ex=ttl)
        except redis.RedisError:
            log.warning("Redis unavailable: WeChat token kept in process memory")

    def delete(self, key):
        self._local.pop(key, None)
        with contextlib.suppress(redis.RedisError):
            self._get_redis().delete(self._key(key))
