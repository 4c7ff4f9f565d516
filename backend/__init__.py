"""Fission: the backend of a WeChat mini-program shop that sells through its customers."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter

from backend.config import Config, load_config
from backend.json_input import FissionRequest


def create_app(config: Config | None = None) -> Flask:
    """Config, extensions, blueprints, error handlers, CLI; nothing else."""
    config = config or load_config()
    problems = config.live_mode_problems()
    if problems:
        raise UnsafeLiveConfig(problems)
    app = FissionFlask(__name__, instance_path=str(_instance_dir()))
    app.config.from_mapping(config.flask_mapping())
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter

    from backend import apidoc, logs, security_headers
    from backend.errors import register_error_handlers
    from backend.extensions import api, db, migrate, ping_idle_connections
    from backend.metrics import web as metrics_web
    from backend.transactions import guard_remote_call
    from backend.wechat import gateway
    from backend.wechat.gateway import WeChatGateway

    logs.init_app(app)
    security_headers.init_app(app)
    metrics_web.init_app(app)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    api.init_app(app)
    apidoc.init_spec(api)
    if guard_remote_call not in gateway.BEFORE_REMOTE_CALL:
        gateway.BEFORE_REMOTE_CALL.append(guard_remote_call)
    app.extensions["wechat_gateway"] = WeChatGateway(config.wechat, token_storage=_token_storage(config))
    register_error_handlers(app)
    _register_blueprints(app, api)
    from backend import rate_limits

    rate_limits.init_app(app)  # wraps the views marked @limited, so after the blueprints

    from backend.cli import register_cli

    register_cli(app)
    return app


class UnsafeLiveConfig(RuntimeError):
    """Live WeChat mode with settings it must not run on: every problem, one per line.
    Raised by create_app, so the API, the workers, the sweeper and every flask command stop."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"live WeChat mode refuses to start:\n{lines}\n"
                         "Fix these (docs/configuration.md, \"Sandbox and live mode\"), or set WECHAT_SANDBOX=1.")


class FissionFlask(Flask):
    """Flask with the transaction boundary around every view (``backend/transactions``):
    the view's work commits once when it answers below 400, and rolls back otherwise;
    a view that raises is rolled back by the session's teardown. The response is built
    (and serialised) before the commit, so nothing is read again after it."""

    request_class = FissionRequest  # request.get_json() refuses hostile JSON (backend/json_input)

    def dispatch_request(self):
        from flask import request

        from backend import transactions
        from backend.admin import audit

        with transactions.request_scope(f"request {request.endpoint}"):
            try:
                response = self.make_response(super().dispatch_request())
            except BaseException as exc:
                transactions.finish_request(500)  # roll back; the error handlers answer
                audit.after_rollback(_status_of(exc))
                raise
            audit.finish(response.status_code)  # the audit entry's status, in the same commit
            transactions.finish_request(response.status_code)
            if response.status_code >= 400:
                audit.after_rollback(response.status_code)
        return response


def _status_of(exc: BaseException) -> int:
    """The status the error handlers will answer ``exc`` with."""
    from werkzeug.exceptions import HTTPException

    from backend.errors import ApiError

    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, HTTPException) and exc.code:
        return exc.code
    return 500


def _uint_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers 0..``limit`` (leading zeros allowed)."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        rest = len(digits) - i - 1
        if int(d) > 0:
            lower = f"[0-{int(d) - 1}]" if int(d) > 1 else "0"
            options.append(digits[:i] + lower + (rf"\d{{{rest}}}" if rest else ""))
    options.append(digits)
    return "0*(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """``<int:…>`` in our routes is a row id, and ids are 32-bit integers in the schema:
    a larger number names nothing (404), where the database would fail on it.

    The route's pattern itself stops at 2**31 - 1: werkzeug's ``max`` check comes after
    the match, and when another rule on the same path (``PUT`` beside ``GET``) was tried
    first it answered 405 instead of 404 (found by tests/test_fuzz_openapi.py)."""

    regex = _uint_up_to(2**31 - 1)

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>``: werkzeug's, without NUL. A ``%00`` in a path
    segment reached the database, which PostgreSQL refuses in text (a 500 on
    ``/group-qr/<token>``); now no route matches it: 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's parameter name
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def _register_blueprints(app: Flask, api) -> None:
    from backend import api_docs, health
    from backend.admin import admin_api as admin_console
    from backend.admin import console
    from backend.analytics import admin_api as analytics_admin
    from backend.auth import api as auth_api
    from backend.catalog import admin_api as catalog_admin
    from backend.catalog import api as catalog_api
    from backend.catalog import substitute_admin_api, substitute_api
    from backend.channel import admin_api as channel_admin
    from backend.commission import admin_api as commission_admin
    from backend.commission import api as commission_api
    from backend.community import admin_api as community_admin
    from backend.community import api as community_api
    from backend.community import wecom_callback
    from backend.leaderboard import admin_api as leaderboard_admin
    from backend.leaderboard import api as leaderboard_api
    from backend.leaderboard import campaign_api
    from backend.levels import admin_api as levels_admin
    from backend.levels import api as levels_api
    from backend.orders import admin_api as orders_admin
    from backend.orders import api as orders_api
    from backend.orders import notify_api
    from backend.reconciliation import admin_api as reconciliation_admin
    from backend.referral import admin_api as referral_admin
    from backend.referral import admin_users as referral_admin_users
    from backend.referral import api as referral_api
    from backend.risk import admin_api as risk_admin
    from backend.targets import admin_api as targets_admin
    from backend.targets import api as targets_api

    for module in (auth_api, catalog_api, referral_api, orders_api, commission_api, leaderboard_api, community_api,
                   levels_api, targets_api, substitute_api):
        api.register_blueprint(module.blp)
    api.register_blueprint(auth_api.admin_blp)
    api.register_blueprint(campaign_api.blp)
    api.register_blueprint(campaign_api.admin_blp)
    for module in (catalog_admin, referral_admin, referral_admin_users, orders_admin, commission_admin,
                   leaderboard_admin, analytics_admin, community_admin, reconciliation_admin, admin_console,
                   levels_admin, targets_admin, substitute_admin_api, risk_admin, channel_admin):
        api.register_blueprint(module.blp)
    # WeChat's callbacks speak XML / WeChat JSON: not part of our OpenAPI surface.
    app.register_blueprint(notify_api.blp)
    app.register_blueprint(wecom_callback.blp)
    app.register_blueprint(health.blp)
    app.register_blueprint(console.blp)
    app.register_blueprint(api_docs.blp)


def _token_storage(config: Config):
    from backend.extensions import redis_for
    from backend.wechat.token_storage import SharedTokenStorage

    return SharedTokenStorage(lambda: redis_for(config), prefix=config.queue_prefix)


def _instance_dir():
    from backend.config import INSTANCE_DIR

    return INSTANCE_DIR


def _migrations_dir():
    from backend.config import PROJECT_ROOT

    return PROJECT_ROOT / "migrations"
