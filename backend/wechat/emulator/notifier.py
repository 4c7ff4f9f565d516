"""Delivers WeChat's asynchronous notifications to the merchant, with retries.

WeChat keeps re-sending a notify until the merchant acknowledges it; the emulator does
the same on a compressed schedule. Retries always run on background threads so a slow
or failing merchant never holds up an emulator request thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import requests

from backend.wechat.emulator.faults import FaultBook
from backend.wechat.emulator.signing import parse_xml
from backend.wechat.emulator.state import Ledger, now_cn, rfc3339

log = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = "1,2,5,10"
ATTEMPT_TIMEOUT = 5.0


def retry_schedule() -> list[float]:
    raw = os.environ.get("EMULATOR_NOTIFY_RETRY_SECONDS", DEFAULT_RETRY_SECONDS)
    return [float(part) for part in raw.split(",") if part.strip()]


def v2_acknowledged(response: requests.Response) -> bool:
    data = parse_xml(response.content)
    return bool(data) and data.get("return_code") == "SUCCESS"


def v3_acknowledged(response: requests.Response) -> bool:
    return response.status_code in (200, 204)


class Notifier:
    def __init__(self, ledger: Ledger, faults: FaultBook) -> None:
        self._ledger = ledger
        self._faults = faults
        self._stop = threading.Event()
        self.schedule = retry_schedule()

    def stop(self) -> None:
        self._stop.set()

    def send(self, *, kind: str, key: str, url: str, body: bytes, headers: dict,
             acknowledged: Callable[[requests.Response], bool], sync: bool) -> dict:
        """Deliver once now (sync) or in the background; failures are retried in the background.

        Returns {"delivered", "reply", ...} describing the synchronous attempt, if any.
        """
        record = {"kind": kind, "key": key, "url": url, "attempts": 0, "delivered": False,
                  "last_reply": None, "last_status": None, "dropped": False, "created_at": rfc3339(now_cn())}
        with self._ledger.lock:
            self._ledger.notifies.append(record)
        job = (record, url, body, headers, acknowledged)
        fault = self._faults.take("notify")
        if fault is not None and fault.mode == "drop_notify":
            record["dropped"] = True  # lost in transit: WeChat will not try again either
            return {"delivered": False, "reply": None, "dropped": True}
        if fault is not None and fault.mode == "delay_notify":
            self._background(job, first_delay=fault.seconds)
            return {"delivered": False, "reply": None, "scheduled": True}
        if not sync:
            self._background(job, first_delay=0.0)
            return {"delivered": False, "reply": None, "scheduled": True}
        if self._attempt(*job):
            return {"delivered": True, "reply": record["last_reply"]}
        self._background(job, first_delay=None)
        return {"delivered": False, "reply": record["last_reply"], "scheduled": True}

    def _background(self, job: tuple, first_delay: float | None) -> None:
        thread = threading.Thread(target=self._run, args=(job, first_delay), daemon=True, name="emulator-notify")
        thread.start()

    def _run(self, job: tuple, first_delay: float | None) -> None:
        # first_delay None: the first attempt already happened synchronously.
        delays = ([first_delay] if first_delay is not None else []) + list(self.schedule)
        for delay in delays:
            if self._stop.wait(delay):
                return
            if self._attempt(*job):
                return
        log.info("notify %s %s given up after %d attempts", job[0]["kind"], job[0]["key"], job[0]["attempts"])

    def _attempt(self, record: dict, url: str, body: bytes, headers: dict, acknowledged) -> bool:
        try:
            response = requests.post(url, data=body, headers=headers, timeout=ATTEMPT_TIMEOUT)
        except requests.RequestException as exc:
            ok, status, reply = False, None, f"{type(exc).__name__}: {exc}"
        else:
            ok, status, reply = acknowledged(response), response.status_code, response.text
        with self._ledger.lock:
            record["attempts"] += 1
            record["last_status"] = status
            record["last_reply"] = reply
            record["delivered"] = record["delivered"] or ok
            record["last_attempt_at"] = rfc3339(now_cn())
        return ok
