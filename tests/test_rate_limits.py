"""Abuse limits (issue 15): the limited routes refuse a flood with 429 RATE_LIMITED and
Retry-After, the counts live in Redis (shared by two apps, and by gunicorn's two
workers), a Redis outage lets requests through with a warning, the admin lock-out
holds even against the right password and leaves one audit entry, and the WeChat
callbacks are never limited.

The suite's own app runs without limits (conftest); each test here makes an app of its
own on the live app's database and Redis, with limits low enough to reach in a few
requests, and a key prefix of its own (its counts start at zero). Requests go through
the Flask test client with a made-up REMOTE_ADDR: nothing leaves the process but the
emulator's login calls.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from helpers import close_engines, create_product, free_port, stop_group
from sqlalchemy import select
from test_worker_outage import RedisServer, wait_until

from backend import create_app, rate_limits
from backend.admin.models import AdminAuditEntry
from backend.auth import lockout
from backend.config import PROJECT_ROOT, RATE_LIMIT_DEFAULTS
from backend.extensions import db

LIMITED_PATHS = {  # what the issue names, and the operation limited
    "login": ("post", "/api/v1/auth/wechat-login"),
    "bind": ("post", "/api/v1/referral/bind"),
    "withdrawal": ("post", "/api/v1/me/withdrawals"),
    "events": ("post", "/api/v1/events"),
    "share_code": ("get", "/api/v1/me/share-code"),
    "share_qr": ("get", "/api/v1/me/share-qr"),
    "admin_login": ("post", "/api/v1/admin/auth/login"),
}
GENEROUS = dict.fromkeys(RATE_LIMIT_DEFAULTS, "1000/minute")


@pytest.fixture
def make_app(live):
    """``make_app(login="5/minute", ...)``: an app with limits on; unnamed limits generous."""
    made = []

    def make(prefix: str | None = None, **overrides):
        base = live.app.config["FISSION"]
        limits = {**GENEROUS, **{k: v for k, v in overrides.items() if k in RATE_LIMIT_DEFAULTS}}
        others = {k: v for k, v in overrides.items() if k not in RATE_LIMIT_DEFAULTS}
        config = dataclasses.replace(base, rate_limits_enabled=True, rate_limits=limits,
                                     queue_prefix=prefix or f"{base.queue_prefix}-rl-{uuid.uuid4().hex[:8]}", **others)
        app = create_app(config)
        made.append(app)
        return app

    yield make
    for app in made:
        close_engines(app)


def client(app, ip: str = "198.51.100.7"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    return c


def login(c, invite_code: str | None = None):
    body = {"code": f"code-{uuid.uuid4().hex}"}
    if invite_code:
        body["invite_code"] = invite_code
    return c.post("/api/v1/auth/wechat-login", json=body)


def token_of(c) -> dict:
    r = login(c)
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def assert_limited(r, within: int):
    assert r.status_code == 429, (r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    assert body["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= within
    assert body["error"]["details"]["retry_after"] == int(r.headers["Retry-After"])


def test_200_logins_in_a_row_from_one_address_are_refused_past_the_limit(make_app):
    app = make_app(login="5/minute")
    c = client(app)
    answers = [login(c) for _ in range(200)]
    assert [r.status_code for r in answers[:5]] == [200] * 5
    for r in answers[5:]:
        assert_limited(r, within=60)
    assert login(client(app, ip="198.51.100.8")).status_code == 200  # another address is its own count


def test_guessed_invite_codes_run_out_per_user_and_per_address_and_then_learn_nothing(make_app, live, ops):
    from helpers import distributor

    real_code = distributor(live).user["invite_code"]
    app = make_app(invite_lookup="3/hour", invite_lookup_ip="5/hour")
    c = client(app)
    first = token_of(c)
    answers = [c.post("/api/v1/referral/bind", json={"invite_code": f"G{i:07d}"}, headers=first)
               for i in range(200)]
    assert [r.get_json()["error"]["code"] for r in answers[:3]] == ["INVITE_CODE_NOT_FOUND"] * 3
    for r in answers[3:]:
        assert_limited(r, within=3600)
    # out of tries, a code that exists is refused too: the answer says nothing about it
    assert_limited(c.post("/api/v1/referral/bind", json={"invite_code": real_code}, headers=first), within=3600)

    second = token_of(c)  # another account from the same address: the address has 2 tries left
    codes = [c.post("/api/v1/referral/bind", json={"invite_code": f"H{i:07d}"}, headers=second).status_code
             for i in range(4)]
    assert codes == [404, 404, 429, 429]
    # a login's invite code is a lookup too: out of tries, the login works and does not bind
    r = login(c, invite_code=real_code)
    assert r.status_code == 200 and r.get_json()["bind_error"] == "RATE_LIMITED"
    assert r.get_json()["user"]["inviter_id"] is None
    # an order's share code likewise: the order goes ahead, the code is not looked up
    product = create_product(ops)
    r = c.post("/api/v1/orders", json={"items": [{"product_id": product["id"], "quantity": 1}],
                                       "share_code": real_code}, headers=second)
    assert r.status_code == 201, r.get_json()
    assert c.get("/api/v1/me", headers=second).get_json()["inviter_id"] is None

    elsewhere = client(app, ip="203.0.113.50")  # a customer elsewhere binds with the real code
    r = elsewhere.post("/api/v1/referral/bind", json={"invite_code": real_code}, headers=token_of(elsewhere))
    assert r.status_code == 200, r.get_json()


def test_binds_withdrawals_events_and_share_codes_are_limited(make_app):
    app = make_app(bind="2/minute", withdrawal="2/minute", events="3/minute", share_code="2/minute")
    c = client(app)
    user = token_of(c)
    binds = [c.post("/api/v1/referral/bind", json={"invite_code": "NOPE0001"}, headers=user) for _ in range(3)]
    assert [r.status_code for r in binds[:2]] == [404, 404]
    assert_limited(binds[2], within=60)

    withdrawals = [c.post("/api/v1/me/withdrawals", json={"amount_fen": 100}, headers=user) for _ in range(3)]
    assert all(400 <= r.status_code < 429 for r in withdrawals[:2])  # nothing to withdraw: still counted
    assert_limited(withdrawals[2], within=60)

    # share-code and share-qr draw on one count (a non-distributor's 403s count too)
    assert c.get("/api/v1/me/share-code", headers=user).status_code == 403
    assert c.get("/api/v1/me/share-qr", headers=user).status_code == 403
    assert_limited(c.get("/api/v1/me/share-qr", headers=user), within=60)

    batch = {"events": [{"type": "share", "share_code": "ABC"}]}
    anonymous = [c.post("/api/v1/events", json=batch).status_code for _ in range(4)]
    assert anonymous == [202, 202, 202, 429]  # per address without a token
    assert [c.post("/api/v1/events", json=batch, headers=user).status_code for _ in range(4)] == [202, 202, 202, 429]


def test_events_are_limited_per_address_too(make_app):
    app = make_app(events_ip="4/minute")
    c = client(app)
    first, second = token_of(c), token_of(c)
    batch = {"events": [{"type": "visit"}]}
    codes = [c.post("/api/v1/events", json=batch, headers=who).status_code for who in (first, first, second, second)]
    assert codes == [202] * 4
    assert_limited(c.post("/api/v1/events", json=batch, headers=second), within=60)
    assert client(app, ip="198.51.100.9").post("/api/v1/events", json=batch, headers=second).status_code == 202


def test_40_wrong_admin_passwords_lock_the_account_out_once_with_one_audit_entry(make_app, live, admin_token):
    from backend.auth.service import create_admin
    from backend.transactions import unit_of_work

    username, password = f"rl-ops-{uuid.uuid4().hex[:6]}", "right-password-1"
    with live.app.app_context(), unit_of_work("test: an operator"):
        create_admin(username, password, "operator")
    app = make_app(admin_lockout_failures=5)
    c = client(app)

    def attempt(pw, who=username):
        return c.post("/api/v1/admin/auth/login", json={"username": who, "password": pw})

    answers = [attempt(f"wrong-{i}") for i in range(40)]
    assert [r.status_code for r in answers[:5]] == [401] * 5
    for r in answers[5:]:
        assert_limited(r, within=900)
    assert_limited(attempt(password), within=900)  # the right password does not open a locked account
    assert client(app, ip="192.0.2.99").post(  # nor from elsewhere: the lock is the username's
        "/api/v1/admin/auth/login", json={"username": username, "password": password}).status_code == 429
    assert attempt("test-admin-password", who="admin").status_code == 200  # other accounts are unaffected

    with live.app.app_context():
        entries = db.session.scalars(select(AdminAuditEntry).where(
            AdminAuditEntry.action == lockout.LOCKED_OUT_ACTION,
            AdminAuditEntry.target_id == username)).all()
        assert len(entries) == 1
        entry = entries[0]
        assert entry.status_code == 429 and entry.role == "operator" and entry.admin_username == username
        assert entry.after["failures"] == 5 and entry.after["client_ip"] == "198.51.100.7"
        db.session.remove()
    # the operators' audit list shows it
    from helpers import admin

    listed = admin(live, admin_token).get(
        "/admin/audit", params={"action": lockout.LOCKED_OUT_ACTION, "target_id": username})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1, listed.text

    result = app.test_cli_runner().invoke(args=["fission", "unlock-admin", username])
    assert result.exit_code == 0 and "lifted" in result.output, result.output
    assert attempt(password).status_code == 200


def test_admin_logins_are_limited_per_address_whatever_the_username(make_app):
    app = make_app(admin_login="3/minute")
    c = client(app)
    codes = [c.post("/api/v1/admin/auth/login", json={"username": f"u{i}", "password": "x"}).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_the_wechat_callbacks_health_and_other_routes_are_never_limited(make_app):
    app = make_app(**dict.fromkeys(RATE_LIMIT_DEFAULTS, "1/minute"))
    c = client(app)
    for _ in range(30):
        assert c.post("/api/v1/payments/wechat/notify", data=b"<xml><a>1</a></xml>").status_code == 200
        assert c.post("/api/v1/payments/wechat/refund-notify", data=b"<xml><a>1</a></xml>").status_code != 429
        assert c.post("/api/v1/payments/wechat/transfer-notify", data=b"{}").status_code != 429
        assert c.get("/api/v1/wecom/callback?msg_signature=x&timestamp=1&nonce=n&echostr=e").status_code != 429
        assert c.post("/api/v1/wecom/callback?msg_signature=x&timestamp=1&nonce=n", data=b"<xml/>").status_code != 429
        assert c.get("/api/v1/health").status_code == 200
        assert c.get("/api/v1/products").status_code == 200
    marked = {endpoint for endpoint, view in app.view_functions.items() if getattr(view, rate_limits._MARK, ())}
    assert marked == {"auth.wechat_login", "referral.bind", "referral.share_code", "referral.share_qr",
                      "commission.withdraw", "community.events", "admin_auth.admin_login"}


def test_two_apps_on_one_redis_share_the_count(make_app):
    prefix = f"shared-{uuid.uuid4().hex[:8]}"
    first, second = make_app(prefix=prefix, login="6/minute"), make_app(prefix=prefix, login="6/minute")
    a, b = client(first), client(second)
    assert [login(c).status_code for c in (a, b, a, b, a, b)] == [200] * 6
    assert_limited(login(a), within=60)
    assert_limited(login(b), within=60)


def test_the_client_address_is_believed_from_a_trusted_proxy_header_only(make_app):
    plain = make_app(login="2/minute")
    c = client(plain)
    spoofed = [c.post("/api/v1/auth/wechat-login", json={"code": f"c-{i}"},
                      headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)]
    assert spoofed == [200, 200, 429]  # no header configured: rotating one evades nothing

    proxied = make_app(login="2/minute", trusted_proxy_header="X-Forwarded-For", trusted_proxy_hops=1)
    p = client(proxied, ip="127.0.0.1")  # every request comes from the proxy

    def via_proxy(client_says: str, proxy_saw: str):
        return p.post("/api/v1/auth/wechat-login", json={"code": f"c-{uuid.uuid4().hex}"},
                      headers={"X-Forwarded-For": f"{client_says}, {proxy_saw}"}).status_code

    # what the client wrote (left) is not believed: the proxy's entry (right) is counted
    assert [via_proxy(f"10.9.9.{i}", "203.0.113.1") for i in range(3)] == [200, 200, 429]
    assert via_proxy("10.9.9.1", "203.0.113.2") == 200


def test_a_redis_outage_lets_requests_through_with_a_warning_and_limits_come_back(make_app, caplog, monkeypatch):
    # the migrations' logging.config.fileConfig (in the live fixture) disabled the loggers that existed then
    monkeypatch.setattr(logging.getLogger("backend.rate_limits"), "disabled", False)
    folder = Path(tempfile.mkdtemp(prefix="frl-"))
    server = RedisServer(folder)
    server.start()
    try:
        app = make_app(redis_url=server.url, login="2/minute", admin_login="2/minute")
        c = client(app)
        assert [login(c).status_code for _ in range(3)] == [200, 200, 429]

        server.kill()
        rate_limits.FissionLimiter._last_warning = 0.0  # the first failure warns whatever came before
        with caplog.at_level(logging.WARNING, logger="backend.rate_limits"):
            assert [login(c).status_code for _ in range(10)] == [200] * 10
            wrong = [c.post("/api/v1/admin/auth/login", json={"username": "admin", "password": "no"}).status_code
                     for _ in range(8)]
            assert wrong == [401] * 8  # no limit and no lock-out to count with: the password decides
            # the payment notify never asks the limiter (nor fails for it)
            asked = []
            monkeypatch.setattr(rate_limits, "limiter_unavailable", asked.append)
            assert login(c).status_code == 200 and len(asked) == 1
            for _ in range(5):
                assert c.post("/api/v1/payments/wechat/notify", data=b"<xml><a>1</a></xml>").status_code == 200
            assert len(asked) == 1
            monkeypatch.undo()
            monkeypatch.setattr(logging.getLogger("backend.rate_limits"), "disabled", False)
        warnings = [r for r in caplog.records if "rate limits not enforced" in r.getMessage()]
        assert 1 <= len(warnings) <= 2, [r.getMessage() for r in caplog.records]  # throttled, not one per request

        server.start()  # back, empty: counting starts again
        wait_until(server.ping, 20, "redis-server answers again")
        assert [login(c).status_code for _ in range(3)] == [200, 200, 429]
    finally:
        server.kill()


def test_a_bad_limit_stops_the_app_at_start_and_off_turns_one_off(make_app):
    with pytest.raises(RuntimeError, match="RATE_LIMIT_LOGIN"):
        make_app(login="lots")
    app = make_app(login="off")
    c = client(app)
    assert {login(c).status_code for _ in range(5)} == {200}


def test_the_limited_operations_document_their_429(live):
    from openapi_check import documented_codes, openapi

    doc = openapi(live.app)
    for method, path in LIMITED_PATHS.values():
        operation = doc["paths"][path][method]
        assert "RATE_LIMITED" in documented_codes(operation).get(429, set()), path
        assert "Retry-After" in operation["responses"]["429"]["headers"], path


def test_gunicorn_with_two_workers_counts_one_limit(live):
    """The real server: gunicorn with 2 sync workers (one request at a time each) on one
    Redis of the test's own, asked 4 requests at a time, so both workers answer (their
    pids are in the access log); exactly the limit's count is let through overall."""
    folder = Path(tempfile.mkdtemp(prefix="frl-gunicorn-"))
    server = RedisServer(folder)
    server.start()
    port = free_port()
    out_path = folder / "gunicorn.txt"
    base = live.app.config["FISSION"]
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "QUEUE_PREFIX"}}
    env.update({"REDIS_URL": server.url, "DATABASE_URL": base.database_url, "RATE_LIMITS_ENABLED": "1",
                "RATE_LIMIT_ADMIN_LOGIN": "10/minute", "QUEUE_PREFIX": f"rl-gunicorn-{uuid.uuid4().hex[:8]}",
                "WECHAT_EMULATOR_URL": live.emulator_url, "LOG_LEVEL": "WARNING"})
    with open(out_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--worker-class", "sync", "--access-logfile", "-", "--access-logformat", "pid=%(p)s status=%(s)s",
             "--no-control-socket",
             "wsgi:app"], cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert process.poll() is None, out_path.read_text()
            try:
                return requests.get(f"{url}/api/v1/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 90, "gunicorn answers", out_path)

        def pids(*statuses: str) -> set[str]:
            return {line.split()[0] for line in out_path.read_text().splitlines()
                    if line.startswith("pid=") and line.split()[1] in {f"status={s}" for s in statuses}}

        def both_answer() -> bool:  # each worker imports the app on its own after booting
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: requests.get(f"{url}/api/v1/health", timeout=10), range(8)))
            return len(pids("200")) == 2

        wait_until(both_answer, 90, "both workers answer", out_path)

        def attempt(i: int) -> int:  # a new connection each time
            return requests.post(f"{url}/api/v1/admin/auth/login", json={"username": f"g{i}", "password": "x"},
                                 headers={"Connection": "close"}, timeout=30).status_code

        # 4 at once on 2 one-at-a-time workers: both must take requests
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(attempt, range(30)))
        assert codes.count(401) == 10 and codes.count(429) == 20, codes
        wait_until(lambda: out_path.read_text().count("status=429") >= 20, 20, "the access log", out_path)
        assert len(pids("401", "429")) == 2, out_path.read_text()  # both workers answered, and counted together
    finally:
        stop_group(process)
        server.kill()


def test_the_limits_are_read_from_the_environment(monkeypatch):
    from backend.config import load_config

    monkeypatch.setenv("RATE_LIMIT_LOGIN", "3/minute;30/hour")
    monkeypatch.setenv("RATE_LIMIT_SHARE_CODE_IP", "off")
    monkeypatch.setenv("RATE_LIMITS_ENABLED", "1")
    monkeypatch.setenv("TRUSTED_PROXY_HEADER", "X-Real-IP")
    monkeypatch.setenv("ADMIN_LOCKOUT_FAILURES", "3")
    cfg = load_config()
    assert cfg.rate_limits_enabled and cfg.trusted_proxy_header == "X-Real-IP" and cfg.trusted_proxy_hops == 1
    assert cfg.rate_limits["login"] == "3/minute;30/hour" and cfg.rate_limits["share_code_ip"] == "off"
    assert cfg.rate_limits["bind"] == RATE_LIMIT_DEFAULTS["bind"] and cfg.admin_lockout_failures == 3
    parsed = rate_limits.parsed_limits(cfg)
    assert [str(item) for item in parsed["login"]] == ["3 per 1 minute", "30 per 1 hour"]
    assert parsed["share_code_ip"] == []
