"""Fixtures: a live emulator on a free port, a gateway pointed at it, a notify receiver."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask, Response, request
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root, for `backend`

from backend import config as app_config
from backend.wechat.emulator import run_in_thread
from backend.wechat.gateway import WeChatGateway

V2_OK = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
V2_FAIL = "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[busy]]></return_msg></xml>"


@dataclass
class Notify:
    kind: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """Stands in for the app's notify endpoints; can be told to refuse the next N notifies."""

    url: str = ""
    received: list[Notify] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str, key: bytes | None = None) -> list[Notify]:
        with self.lock:
            return [n for n in self.received if n.kind == kind and (key is None or key in n.body)]


def _receiver_app(receiver: Receiver) -> Flask:
    app = Flask("notify_receiver")

    @app.post("/notify/<kind>")
    def notify(kind: str):
        with receiver.lock:
            receiver.received.append(Notify(kind, dict(request.headers), request.get_data()))
            refuse = receiver.refuse.get(kind, 0) > 0
            if refuse:
                receiver.refuse[kind] -= 1
        if kind == "transfer":
            return Response(status=500 if refuse else 204)
        return Response(V2_FAIL if refuse else V2_OK, mimetype="text/xml")

    return app


def in_an_hour() -> datetime:
    """A payment deadline (``time_expire``) far enough away not to matter."""
    return datetime.now(UTC) + timedelta(hours=1)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="session")
def receiver():
    rec = Receiver()
    server = make_server("127.0.0.1", 0, _receiver_app(rec), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_port}"
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def wechat_cfg(tmp_path_factory):
    """Sandbox credentials whatever the environment says, keys in a throwaway dir."""
    return replace(
        app_config.load_wechat_config(),
        sandbox=True, appid=app_config.SANDBOX_APPID, secret=app_config.SANDBOX_SECRET,
        mch_id=app_config.SANDBOX_MCH_ID, pay_api_key=app_config.SANDBOX_PAY_API_KEY,
        apiv3_key=app_config.SANDBOX_APIV3_KEY, key_dir=tmp_path_factory.mktemp("wechat-keys"),
        http_timeout=3.0,
    )


@pytest.fixture(scope="session")
def emulator(wechat_cfg):
    previous = os.environ.get("EMULATOR_NOTIFY_RETRY_SECONDS")
    os.environ["EMULATOR_NOTIFY_RETRY_SECONDS"] = "0.1,0.2,0.3"  # read when the emulator is built
    handle = run_in_thread(wechat_cfg)
    if previous is None:
        os.environ.pop("EMULATOR_NOTIFY_RETRY_SECONDS")
    else:
        os.environ["EMULATOR_NOTIFY_RETRY_SECONDS"] = previous
    yield handle
    handle.shutdown()


@pytest.fixture(scope="session")
def cfg(wechat_cfg, emulator):
    return replace(wechat_cfg, api_base=emulator.url, pay_api_base=emulator.url, emulator_url=emulator.url)


@pytest.fixture(scope="session")
def gateway(cfg):
    return WeChatGateway(cfg)


@pytest.fixture(autouse=True)
def _clear_faults(request):
    yield
    if "emulator" in request.fixturenames:
        requests.delete(request.getfixturevalue("emulator").url + "/sandbox/faults", timeout=5)


@pytest.fixture
def sandbox(emulator):
    """Small client for the emulator's /sandbox control endpoints."""

    class Sandbox:
        url = emulator.url

        def post(self, path: str, json: dict | None = None) -> requests.Response:
            return requests.post(emulator.url + "/sandbox" + path, json=json or {}, timeout=10)

        def ledger(self, **filters) -> dict:
            return requests.get(emulator.url + "/sandbox/ledger", params=filters, timeout=5).json()

        def fault(self, **spec) -> None:
            response = self.post("/faults", spec)
            assert response.status_code == 201, response.text

    return Sandbox()
