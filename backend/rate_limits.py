"""Abuse limits (issue 15): how often a caller may log in, bind, try invite codes,
withdraw, send events, have a share code made, and try an admin password.

* The counts live in the app's own Redis (``extensions.redis_for``: REDIS_URL, or the
  embedded server), under ``{QUEUE_PREFIX}:limits:``. Every gunicorn worker, and every
  instance on that Redis, counts against the same limit.
* Flask-Limiter counts (moving window: no burst of twice the limit at a window's edge).
  One ``Limiter`` per app, because its storage and its switch belong to the instance
  and one process may hold several apps (the tests do): a view is marked with
  ``@limited("bind", "bind_ip")`` at import, and ``init_app`` wraps that app's marked
  views. The check runs before the body is parsed: a flood costs no JSON work.
* Who is counted: names ending in ``_ip``, and the two logins (no account yet), per
  client IP (``client_ip``: a trusted proxy header only when configured); the others
  per signed-in user, read from the token alone, or per IP for a caller without one.
* A refusal is ``429 RATE_LIMITED`` with ``Retry-After`` in seconds.
* Redis unreachable: the request goes through and a warning is logged (at most every
  ``WARN_EVERY`` seconds per process), because refusing every login while Redis
  restarts would be the outage the limits exist to prevent. The WeChat callbacks
  (payment, refund and transfer notifies, the 企业微信 callback), health and /metrics
  are never marked, so the payment path never asks the limiter anything.
* Invite codes are counted on misses only (a code that names nobody): guessing is the
  abuse, a customer binding once is not: ``with invite_lookup(): ...`` around a bind.
* The admin lock-out (``backend/auth/lockout.py``) is per username: after
  ``ADMIN_LOCKOUT_FAILURES`` wrong passwords within the window the username is refused
  for ``ADMIN_LOCKOUT_SECONDS``, even with the right password, and one audit entry
  (``admin_auth.login_locked_out``) is written for the operators. ``flask fission
  unlock-admin USER`` lifts it.

``RATE_LIMITS_ENABLED=0`` turns all of it off (the test suite's default app).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time

import redis
from flask import Flask, current_app, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage, Storage

from backend.apidoc import errors
from backend.errors import ApiError, error_response
from backend.metrics import events

log = logging.getLogger(__name__)

_MARK = "_fission_rate_limits"
_EXTENSION = "fission_limiter"
_PARSED = "fission_rate_limits"
IP_KEYED = frozenset({"login", "admin_login"})  # besides every name ending in _ip
OFF = {"off", "none", "0", "unlimited"}
WARN_EVERY = 30.0  # seconds between two "Redis is down, not limiting" warnings of one process


def limited(*names: str):
    """Mark a view for the limits ``names`` (settings of ``RATE_LIMIT_DEFAULTS``) and
    document its 429. Put it under the route decorator, with ``errors``."""
    from backend.limit_settings import RATE_LIMIT_DEFAULTS

    unknown = [n for n in names if n not in RATE_LIMIT_DEFAULTS]
    if unknown:
        raise ValueError(f"unknown rate limits {unknown}: add them to backend.limit_settings.RATE_LIMIT_DEFAULTS")

    def decorator(func):
        func = errors("RATE_LIMITED")(func)
        setattr(func, _MARK, (*getattr(func, _MARK, ()), *names))
        return func

    return decorator


# ---- who is asking ---------------------------------------------------------------

def client_ip() -> str:
    """The client's address: the socket's peer, unless ``TRUSTED_PROXY_HEADER`` is set,
    then the address our proxies wrote there: the ``TRUSTED_PROXY_HOPS``-th from the
    right (each proxy appends what it saw; what the client wrote itself is further left
    and never believed). A header with fewer entries than hops did not pass our proxies."""
    cfg = current_app.config["FISSION"]
    if cfg.trusted_proxy_header:
        hops = max(cfg.trusted_proxy_hops, 1)
        values = [v.strip() for v in request.headers.get(cfg.trusted_proxy_header, "").split(",") if v.strip()]
        if len(values) >= hops:
            return values[-hops][:64]
    return request.remote_addr or "unknown"


def _ip_key() -> str:
    return f"ip:{client_ip()}"


def _caller_key() -> str:
    """The signed-in user (from the token alone, no database read), else the IP: a bad
    token is the view's 401 to give, not the limiter's."""
    from backend.auth.guards import current_user_id_or_none

    try:
        uid = current_user_id_or_none(request)
    except ApiError:
        uid = None
    return f"user:{uid}" if uid is not None else _ip_key()


def _key_of(name: str):
    return _ip_key if name.endswith("_ip") or name in IP_KEYED else _caller_key


# ---- the app's limiter ------------------------------------------------------------

def parsed_limits(cfg) -> dict[str, list[RateLimitItem]]:
    """Every configured limit, parsed (``[]``: off). A limit that does not parse stops
    the app at start, naming its variable, rather than silently limiting nothing."""
    out = {}
    for name, value in cfg.rate_limits.items():
        text = (value or "").strip()
        if text.lower() in OFF:
            out[name] = []
            continue
        try:
            out[name] = parse_many(text)
        except ValueError as exc:
            raise RuntimeError(f"RATE_LIMIT_{name.upper()}={value!r} is not a rate limit "
                               "(write e.g. '10/minute;100/hour', or 'off')") from exc
    return out


class AppRedisStorage(RedisStorage):
    """limits' Redis storage on the app's own client, taken on first use: creating the
    app opens nothing (and starts no embedded server)."""

    STORAGE_SCHEME = ["fission+app"]

    def __init__(self, uri: str, *, fission_config=None, key_prefix: str = "fission:limits", **_options) -> None:
        Storage.__init__(self, uri)
        self.fission_config = fission_config
        self.key_prefix = key_prefix
        self.target_server = "redis"
        self.dependency = redis
        self._ready = threading.Lock()

    def initialize_storage(self, _uri: str) -> None:  # deferred to the first call (_client)
        return None

    def _client(self) -> redis.Redis:
        client = self.__dict__.get("storage")
        if client is None:
            from backend.extensions import redis_for

            with self._ready:
                client = self.__dict__.get("storage")
                if client is None:
                    client = self.storage = redis_for(self.fission_config)
                    RedisStorage.initialize_storage(self, "")  # registers the Lua scripts on it
        return client

    def get_connection(self, readonly: bool = False):
        return self._client()

    def __getattr__(self, name: str):
        if name.startswith("lua_"):  # the scripts, registered with the client
            self._client()
            return self.__dict__[name]
        raise AttributeError(name)


class FissionLimiter(Limiter):
    """Flask-Limiter with the degraded mode we want: a storage error lets the request
    through with a (throttled) warning, not a traceback per request."""

    _last_warning = 0.0

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        try:
            super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)
        except RateLimitExceeded:
            raise
        except Exception as exc:
            limiter_unavailable(exc)


def limiter_unavailable(exc: Exception) -> None:
    events.rate_limiter_error()
    now = time.monotonic()
    if now - FissionLimiter._last_warning >= WARN_EVERY:
        FissionLimiter._last_warning = now
        log.warning("rate limits not enforced: their Redis is unreachable (%s: %s); requests are let through",
                    exc.__class__.__name__, exc)


def limiter(app: Flask | None = None) -> FissionLimiter | None:
    return (app or current_app).extensions.get(_EXTENSION)


def init_app(app: Flask) -> None:
    """After the blueprints: wrap the marked views in this app's limits."""
    cfg = app.config["FISSION"]
    by_name = app.extensions[_PARSED] = parsed_limits(cfg)
    app.extensions[_EXTENSION] = None
    app.register_error_handler(RateLimitExceeded, _refused)
    if not cfg.rate_limits_enabled:
        return
    instance = FissionLimiter(
        key_func=_ip_key, strategy="moving-window", headers_enabled=False, swallow_errors=False,
        storage_uri="fission+app://", storage_options={"fission_config": cfg, "key_prefix": key_prefix(cfg)})
    instance.init_app(app)
    app.extensions[_EXTENSION] = instance
    for endpoint, view in list(app.view_functions.items()):
        wrapped = view
        for name in getattr(view, _MARK, ()):
            if by_name[name]:  # shared: the scope is the limit's name, so share-code and share-qr count together
                wrapped = instance.shared_limit(cfg.rate_limits[name], scope=name, key_func=_key_of(name))(wrapped)
        app.view_functions[endpoint] = wrapped


def key_prefix(cfg) -> str:
    return f"{cfg.queue_prefix}:limits"


def _retry_after(reset_at: float, item: RateLimitItem) -> int:
    """Whole seconds until the window lets one more through: never more than the window
    (the storage rounds its reset time up to the next second)."""
    return max(1, min(math.ceil(reset_at - time.time()), item.get_expiry()))


def _refused(exc: RateLimitExceeded):
    scope = getattr(exc.limit, "scope", None)
    events.rate_limited(scope if isinstance(scope, str) else "other")
    try:
        current = limiter().current_limit
        seconds = _retry_after(current.reset_at, current.limit) if current else exc.limit.limit.get_expiry()
    except Exception:  # Redis went away between the count and now: the window's length
        seconds = exc.limit.limit.get_expiry()
    return _too_many(f"Too many requests ({exc.description}); try again in {seconds} s", seconds)


def _too_many(message: str, seconds: int):
    response, status = error_response("RATE_LIMITED", message, 429, {"retry_after": seconds})
    response.headers["Retry-After"] = str(seconds)
    return response, status


class RateLimited(ApiError):
    """429 RATE_LIMITED with Retry-After, raised by the checks below (not Flask-Limiter's)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__("RATE_LIMITED", message, 429, {"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


# ---- limits counted by hand: invite-code misses ------------------------------------

def _items(*names: str):
    instance = limiter() if has_request_context() else None
    if instance is None:
        return None, []
    by_name = current_app.extensions[_PARSED]
    return instance, [(item, [_key_of(name)(), name]) for name in names for item in by_name[name]]


def check_invite_lookup() -> None:
    """Raise ``RateLimited`` when this caller (user, IP) has tried too many invite codes
    that named nobody: asked before the lookup, so an exhausted guesser learns nothing."""
    instance, items = _items("invite_lookup", "invite_lookup_ip")
    try:
        for item, args in items:
            if not instance.limiter.test(item, *args):
                reset_at, _ = instance.limiter.get_window_stats(item, *args)
                seconds = _retry_after(reset_at, item)
                events.rate_limited(args[-1])
                raise RateLimited(f"Too many unknown invite codes ({item}); try again in {seconds} s", seconds)
    except RateLimited:
        raise
    except Exception as exc:
        limiter_unavailable(exc)


@contextlib.contextmanager
def invite_lookup():
    """Around code that looks an invite code up (a bind, a login's or an order's code):
    refused with ``RateLimited`` when the caller is out of tries, and a miss counted."""
    check_invite_lookup()
    try:
        yield
    except ApiError as exc:
        if exc.code == "INVITE_CODE_NOT_FOUND":
            invite_missed()
        raise


def invite_missed() -> None:
    """Count one invite code that named nobody against this caller."""
    instance, items = _items("invite_lookup", "invite_lookup_ip")
    try:
        for item, args in items:
            instance.limiter.hit(item, *args)
    except Exception as exc:
        limiter_unavailable(exc)
