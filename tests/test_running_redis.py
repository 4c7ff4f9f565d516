"""A command typed beside ``make run`` (no REDIS_URL) talks to the running instance's
embedded Redis on ``<instance>/redis.sock``, not to a second embedded server of its
own: before, ``flask fission unlock-admin`` lifted a lock-out in a Redis nobody used
and the admin stayed locked out."""

from __future__ import annotations

import dataclasses

import pytest
import redis
from flask import Flask
from test_worker_outage import RedisServer

from backend import running_redis
from backend.auth.lockout import _lock_keys, unlock_admin
from backend.config import load_config


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.setattr(running_redis, "INSTANCE_DIR", tmp_path)
    server = RedisServer(tmp_path)
    yield server
    server.kill()


def _app(redis_url=None) -> Flask:
    app = Flask("cli")
    app.config["FISSION"] = dataclasses.replace(load_config(), redis_url=redis_url, queue_prefix="running-test")
    return app


def test_a_command_uses_the_running_instances_redis_and_unlocks_there(instance):
    instance.start()
    app = _app()
    assert running_redis.use_running_redis(app) == f"using the running instance's Redis at {instance.url}"
    cfg = app.config["FISSION"]
    assert cfg.redis_url == instance.url
    # the lock-out the running API holds, as note_failure wrote it
    failures_key, lock_key = _lock_keys(cfg, "admin")
    server = redis.Redis(unix_socket_path=str(instance.socket))
    server.set(lock_key, 5, ex=900)
    assert unlock_admin(cfg, "admin") is True
    assert server.exists(lock_key) == 0


def test_nothing_changes_without_a_running_instance_or_with_redis_url_set(instance):
    app = _app()
    assert running_redis.use_running_redis(app) is None  # no socket: the command's own embedded Redis
    assert app.config["FISSION"].redis_url is None
    instance.start()
    chosen = _app("redis://127.0.0.1:6379/9")
    assert running_redis.use_running_redis(chosen) is None  # REDIS_URL wins
    assert chosen.config["FISSION"].redis_url == "redis://127.0.0.1:6379/9"
