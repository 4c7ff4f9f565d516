"""The notify sender: its own process, an open-loop schedule, a pool of connections.

Notify ``i`` of a step is due at ``t0 + i / rate`` whatever happened to the ones
before it; a pool of threads (each with its own keep-alive connection) sends them,
so slow replies do not lower the offered rate unless every thread is busy (which
then shows up as send lag and a lower achieved rate). Timestamps are
``time.monotonic()``, which on Linux is one clock for every process.
"""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlparse

from wechat_notify import is_success_reply, payment_notify

NOTIFY_PATH = "/api/v1/payments/wechat/notify"
HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


@dataclass(frozen=True)
class Credentials:
    appid: str
    mch_id: str
    api_key: str


@dataclass(frozen=True)
class Sent:
    order_id: int
    due: float  # when the schedule wanted it sent
    sent: float  # when it was sent
    replied: float  # when the reply was read
    ok: bool  # HTTP 200 and return_code SUCCESS
    detail: str = ""


class _Poster:
    def __init__(self, base_url: str, timeout: float) -> None:
        url = urlparse(base_url)
        self.host, self.port, self.timeout = url.hostname, url.port or 80, timeout
        self.local = threading.local()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.conn = conn
        return conn

    def post(self, order_id: int, due: float, body: bytes) -> Sent:
        sent = time.monotonic()
        for attempt in (1, 2):
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request("POST", NOTIFY_PATH, body=body, headers=HEADERS)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine) as exc:
                # A keep-alive connection the server closed while idle: send again on a new one.
                if attempt == 1:
                    continue
                return Sent(order_id, due, sent, time.monotonic(), False, f"{exc.__class__.__name__}: {exc}")
            except OSError as exc:
                conn.close()
                self.local.conn = None
                return Sent(order_id, due, sent, time.monotonic(), False, f"{exc.__class__.__name__}: {exc}")
            ok = resp.status == 200 and is_success_reply(data)
            return Sent(order_id, due, sent, time.monotonic(), ok, "" if ok else f"{resp.status} {data[:200]!r}")
        raise AssertionError("unreachable")


def run_step(poster: _Poster, pool: ThreadPoolExecutor, bodies: list[tuple[int, bytes]], rate: float,
             t0: float) -> list[Sent]:
    futures = []
    for i, (order_id, body) in enumerate(bodies):
        due = t0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(poster.post, order_id, due, body))
    return [f.result() for f in futures]


def sender_main(conn, base_url: str, creds: Credentials, threads: int, timeout: float = 30.0) -> None:
    """Process entry. Commands on ``conn``: ("step", rate, orders) → ("started", t0) then
    ("done", [Sent...]); ("stop",) ends the process. ``orders`` are tuples
    (order_id, out_trade_no, total_fen, openid, transaction_id)."""
    poster = _Poster(base_url, timeout)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="notify") as pool:
        while True:
            command = conn.recv()
            if command[0] == "stop":
                return
            _, rate, orders = command
            bodies = [
                (order_id, payment_notify(appid=creds.appid, mch_id=creds.mch_id, api_key=creds.api_key,
                                          out_trade_no=out_trade_no, total_fen=total_fen, openid=openid,
                                          transaction_id=transaction_id))
                for order_id, out_trade_no, total_fen, openid, transaction_id in orders
            ]
            t0 = time.monotonic() + 0.05
            conn.send(("started", t0))
            conn.send(("done", run_step(poster, pool, bodies, rate, t0)))
