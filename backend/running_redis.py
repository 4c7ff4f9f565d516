"""Which Redis a command typed by hand talks to.

``make run`` without ``REDIS_URL`` starts its embedded Redis on ``<instance>/redis.sock``
and hands that URL to its children; a command started by hand in another terminal
would otherwise start a second embedded server (``<instance>/redis.db``) of its own:
the demo would rebuild the leaderboards where nobody reads them, ``unlock-admin``
would lift a lock-out nobody holds, ``sweep --once`` would enqueue jobs no worker
takes. So with no ``REDIS_URL`` those commands use the running instance's socket
when it answers.
"""

from __future__ import annotations

import dataclasses

import redis
from flask import Flask

from backend.config import INSTANCE_DIR


def use_running_redis(app: Flask) -> str | None:
    """Point ``app`` at the running ``make run``'s embedded Redis if there is one and
    REDIS_URL is unset; returns a line saying so (None otherwise)."""
    cfg = app.config["FISSION"]
    socket = INSTANCE_DIR / "redis.sock"
    if cfg.redis_url or not socket.exists():
        return None
    url = f"unix://{socket}"
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError):
        return None
    app.config["FISSION"] = dataclasses.replace(cfg, redis_url=url)
    return f"using the running instance's Redis at {url}"
