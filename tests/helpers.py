"""What a test does as a user would: over HTTP, against the emulator."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import threading
import uuid

import requests
from rq import SimpleWorker

from backend.config import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY
from backend.extensions import db


class Client:
    """A mini-program user (or an admin) talking to the live app."""

    def __init__(self, live, token: str | None = None):
        self.live = live
        self.token = token
        self.user: dict | None = None

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **kw):
        return requests.get(self.live.api(path), headers=self._headers(), timeout=30, **kw)

    def post(self, path, json=None, **kw):
        kw.setdefault("timeout", 30)
        return requests.post(self.live.api(path), json=json, headers=self._headers(), **kw)

    def put(self, path, json=None, **kw):
        return requests.put(self.live.api(path), json=json, headers=self._headers(), timeout=30, **kw)

    def patch(self, path, json=None, **kw):
        return requests.patch(self.live.api(path), json=json, headers=self._headers(), timeout=30, **kw)

    @property
    def id(self) -> int:
        return self.user["id"]


def login(live, invite_code: str | None = None, code: str | None = None) -> Client:
    body = {"code": code or f"code-{uuid.uuid4().hex}"}
    if invite_code:
        body["invite_code"] = invite_code
    r = requests.post(live.api("/auth/wechat-login"), json=body, timeout=30)
    assert r.status_code == 200, r.text
    client = Client(live, r.json()["token"])
    client.user = r.json()["user"]
    client.login_response = r.json()
    return client


def distributor(live, invite_code: str | None = None) -> Client:
    client = login(live, invite_code)
    r = client.post("/distributor/apply", json={})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    client.user = client.get("/me").json()
    return client


def admin(live, token: str) -> Client:
    return Client(live, token)


def create_product(admin_client: Client, price_fen: int = 10_000, stock: int = 100, **extra) -> dict:
    body = {"title": f"Part {uuid.uuid4().hex[:6]}", "brand": "Murata", "part_no": "GRM155R71C104KA88D",
            "price_fen": price_fen, "stock": stock, **extra}
    r = admin_client.post("/admin/products", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def set_settings(admin_client: Client, **changes) -> dict:
    r = admin_client.put("/admin/settings/distribution", json=changes)
    assert r.status_code == 200, r.text
    return r.json()


def pay(live, out_trade_no: str) -> dict:
    r = requests.post(f"{live.emulator_url}/sandbox/pay/{out_trade_no}", json={}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def buy(live, client: Client, product_id: int, quantity: int = 1, share_code: str | None = None) -> dict:
    body = {"items": [{"product_id": product_id, "quantity": quantity}]}
    if share_code:
        body["share_code"] = share_code
    r = client.post("/orders", json=body)
    assert r.status_code == 201, r.text
    order = r.json()
    r = client.post(f"/orders/{order['id']}/pay")
    assert r.status_code == 200, r.text
    paid = pay(live, r.json()["out_trade_no"])
    assert "SUCCESS" in paid["reply"], paid
    return order


def drain(live) -> None:
    """Run every queued job with a real RQ worker (in this process), until empty."""
    from backend import queue
    from backend.extensions import redis_client

    with live.app.app_context():
        names = [queue.queue_name(n) for n in queue.QUEUES]
        conn = redis_client()
    SimpleWorker(names, connection=conn).work(burst=True)


def sweep(live) -> dict:
    from backend.sweeper import sweep_once

    with live.app.app_context():
        try:
            return sweep_once()
        finally:
            db.session.remove()


def ledger(live) -> dict:
    return requests.get(f"{live.emulator_url}/sandbox/ledger", timeout=10).json()


def close_engines(app) -> None:
    """Close the app's pooled connections (left to the garbage collector, the drivers
    warn that a connection was deleted while still open)."""
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to a process started in its own group (gunicorn's arbiter and workers),
    SIGKILL if it has not ended within ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- WeChat's side, built by the test itself ----------------------------------

def v2_sign(fields: dict, key: str = SANDBOX_PAY_API_KEY) -> str:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] not in ("", None))
    return hashlib.md5(f"{text}&key={key}".encode()).hexdigest().upper()


def notify_xml(out_trade_no: str, total_fee: int, openid: str, *, key: str = SANDBOX_PAY_API_KEY,
               **overrides: str) -> bytes:
    """A payment notify as WeChat signs it; ``overrides`` replace fields before signing."""
    fields = {
        "appid": SANDBOX_APPID, "mch_id": SANDBOX_MCH_ID, "nonce_str": uuid.uuid4().hex,
        "result_code": "SUCCESS", "return_code": "SUCCESS", "openid": openid, "is_subscribe": "N",
        "trade_type": "JSAPI", "bank_type": "OTHERS", "fee_type": "CNY", "total_fee": str(total_fee),
        "cash_fee": str(total_fee), "out_trade_no": out_trade_no,
        "transaction_id": "4200" + uuid.uuid4().hex[:24],
        "time_end": "20250101120000",
        **overrides,
    }
    fields["sign"] = v2_sign(fields, key)
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml>{body}</xml>".encode()


def post_notify(live, xml: bytes) -> str:
    r = requests.post(live.api("/payments/wechat/notify"), data=xml,
                      headers={"Content-Type": "text/xml"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.text


def ordered_and_prepaid(live, buyer, product_id: int, quantity: int = 1) -> tuple[dict, str]:
    """An order WeChat knows about (unified order placed), not paid yet: (order, openid)."""
    r = buyer.post("/orders", json={"items": [{"product_id": product_id, "quantity": quantity}]})
    assert r.status_code == 201, r.text
    order = r.json()
    r = buyer.post(f"/orders/{order['id']}/pay")
    assert r.status_code == 200, r.text
    payment = ledger(live)["payments"]
    openid = next(p["openid"] for p in payment if p["out_trade_no"] == order["out_trade_no"])
    return order, openid


def chain(live):
    """A ← B ← C: C is a customer of B, B a distributor under A."""
    a = distributor(live)
    b = distributor(live, invite_code=a.user["invite_code"])
    c = login(live, invite_code=b.user["invite_code"])
    assert c.user["inviter_id"] == b.id
    return a, b, c


# --- group invites (私域导流) ---------------------------------------------------------

def tiny_png() -> str:
    """A valid PNG (a QR stand-in), base64, as an operator uploads it."""
    import base64
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make(f"https://weixin.qq.com/g/{uuid.uuid4().hex}").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def live_code(ops: Client, **fields) -> dict:
    r = ops.post("/admin/community/live-codes", json={"name": f"code-{uuid.uuid4().hex[:6]}", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def personal_group(ops: Client, code_id: int, **fields) -> dict:
    body = {"live_code_id": code_id, "kind": "personal", "name": f"group-{uuid.uuid4().hex[:6]}",
            "qr_image": tiny_png(), **fields}
    r = ops.post("/admin/community/groups", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def wecom_group(live, ops: Client, code_id: int, limit: int = 200, **fields) -> dict:
    """A customer group created in the 企业微信 app (the emulator), then registered here."""
    r = requests.post(f"{live.emulator_url}/sandbox/wecom/groups", json={"limit": limit}, timeout=10)
    assert r.status_code == 201, r.text
    body = {"live_code_id": code_id, "kind": "wecom", "name": f"wecom-{uuid.uuid4().hex[:6]}",
            "chat_id": r.json()["chat_id"], **fields}
    r = ops.post("/admin/community/groups", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def point_wecom_callback(live) -> None:
    """What an administrator types in the 企业微信 console: the app's callback URL."""
    r = requests.post(f"{live.emulator_url}/sandbox/wecom/callback-url", json={"url": live.api("/wecom/callback")},
                      timeout=10)
    assert r.status_code == 200, r.text


def wecom_state(live) -> dict:
    return requests.get(f"{live.emulator_url}/sandbox/wecom/state", timeout=10).json()


def join_way_of(live, order_id: int) -> dict:
    ways = [w for w in wecom_state(live)["join_ways"].values() if w["remark"] == f"order {order_id}"]
    assert len(ways) == 1, ways
    return ways[0]


def wecom_join(live, config_id: str, code: str) -> dict:
    """The user whose mini-program login code is ``code`` scans the join/contact way."""
    r = requests.post(f"{live.emulator_url}/sandbox/wecom/join", json={"config_id": config_id, "code": code},
                      timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


# --- reconciliation (issue 5) -------------------------------------------------

def finance_client(live, role: str = "finance") -> Client:
    """A new admin account with ``role``, signed in."""
    from backend.auth.service import create_admin

    username, password = f"{role}-{uuid.uuid4().hex[:8]}", "finance-password-1"
    with live.app.app_context():
        create_admin(username, password, role)
        db.session.commit()
        db.session.remove()
    r = requests.post(live.api("/admin/auth/login"), json={"username": username, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return Client(live, r.json()["token"])


def upload(client: Client, path: str, filename: str, data: bytes, timeout: float = 30, **form) -> requests.Response:
    return client.post(path, files={"file": (filename, data)}, data=form, timeout=timeout)


def funnel_row(ops: Client, by: str, key) -> dict:
    """Today's (Asia/Shanghai) group-invite funnel row for one key of ``by``."""
    from datetime import datetime, timedelta

    from backend.timeutil import SHOP_TZ

    day = datetime.now(SHOP_TZ).date()
    r = ops.get("/admin/community/funnel",
                params={"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat(), "by": by})
    assert r.status_code == 200, r.text
    rows = [row for row in r.json()["rows"] if row["key"] == key]
    assert len(rows) == 1, r.json()
    return rows[0]


def at_once_in_app(live, work, times: int = 2, timeout: float = 120) -> tuple[list, list]:
    """Run ``work(barrier)`` in ``times`` threads at once, each in an app context (and
    database session) of its own, as separate workers or requests would. The threads
    meet wherever ``work`` waits on the barrier. Returns (results, errors)."""
    barrier, results, errors = threading.Barrier(times), [], []

    def run():
        with live.app.app_context():
            try:
                results.append(work(barrier))
            except Exception as exc:  # the caller asserts there were none
                errors.append(exc)
                barrier.abort()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors
