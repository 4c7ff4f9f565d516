"""Assembles the emulator app and runs it in a thread (tests) or as a process (__main__)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, jsonify
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from backend.config import WeChatConfig
from backend.wechat.emulator import miniprogram, pay_v2, pay_v3, sandbox, transfers_v2, wecom
from backend.wechat.emulator.context import EXTENSION, EmulatorContext


def create_emulator_app(wechat_cfg: WeChatConfig) -> Flask:
    app = Flask("wechat_emulator")
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions[EXTENSION] = EmulatorContext.build(wechat_cfg)
    for module in (miniprogram, pay_v2, transfers_v2, pay_v3, sandbox):
        app.register_blueprint(module.bp)
    wecom.init_app(app, wechat_cfg)  # 企业微信: its own state beside the ledger

    @app.get("/")
    def index():
        return jsonify({"service": "fission wechat emulator", "appid": wechat_cfg.appid, "mch_id": wechat_cfg.mch_id})

    return app


@dataclass
class EmulatorHandle:
    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def context(self) -> EmulatorContext:
        return self.app.extensions[EXTENSION]

    def shutdown(self) -> None:
        self.context.notifier.stop()  # pending retries end instead of firing at a dead app
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1: the SDKs keep their connections open, as they do with WeChat."""

    protocol_version = "HTTP/1.1"


def run_in_thread(wechat_cfg: WeChatConfig, host: str = "127.0.0.1", port: int = 0) -> EmulatorHandle:
    """Serve the emulator from a daemon thread; port 0 picks a free port (see .url)."""
    app = create_emulator_app(wechat_cfg)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="wechat-emulator")
    thread.start()
    return EmulatorHandle(url=f"http://{host}:{server.server_port}", app=app, server=server, thread=thread)
