"""Queued faults, so tests and manual runs can make WeChat misbehave on purpose.

A fault names an operation and fires on its next `times` calls. With apply=true the
operation is carried out first and only the answer is spoiled: the caller cannot know
it succeeded, which is exactly the case idempotency keys exist for.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import asdict, dataclass

OPERATIONS = (
    "unifiedorder", "orderquery", "closeorder", "refund", "refundquery",
    "legacy_transfer", "legacy_transfer_query",
    "transfer_bills.create", "transfer_bills.query", "transfer_bills.cancel",
)
OPERATION_MODES = ("systemerror", "timeout", "refuse")
# "refuse" answers a definite-looking refusal (a v2 return_code FAIL, a v3 4xx); with
# apply=true the transfer is made all the same: the answer lies. Only the transfers know it.
REFUSABLE = ("legacy_transfer", "transfer_bills.create")
NOTIFY_MODES = ("delay_notify", "drop_notify")


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    id: int
    target: str
    mode: str
    times: int
    seconds: float
    apply: bool


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict) -> Fault:
        target, mode = spec.get("target"), spec.get("mode")
        if target == "notify":
            if mode not in NOTIFY_MODES:
                raise FaultSpecError(f"notify faults are {', '.join(NOTIFY_MODES)}")
        elif target in OPERATIONS:
            if mode not in OPERATION_MODES:
                raise FaultSpecError(f"operation faults are {', '.join(OPERATION_MODES)}")
            if mode == "refuse" and target not in REFUSABLE:
                raise FaultSpecError(f"refuse applies to {', '.join(REFUSABLE)}")
        else:
            raise FaultSpecError(f"unknown target {target!r}; one of notify, {', '.join(OPERATIONS)}")
        try:
            times = int(spec.get("times", 1))
            seconds = float(spec.get("seconds", 3))
        except (TypeError, ValueError) as exc:
            raise FaultSpecError("times and seconds must be numbers") from exc
        if times < 1 or seconds < 0:
            raise FaultSpecError("times must be >= 1 and seconds >= 0")
        fault = Fault(next(self._ids), target, mode, times, seconds, bool(spec.get("apply", False)))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, target: str) -> Fault | None:
        """Consume one firing of the oldest fault queued for `target`."""
        with self._lock:
            for fault in self._faults:
                if fault.target == target:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return Fault(**{**asdict(fault), "times": 1})
        return None

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def guarded(book: FaultBook, target: str, handler, system_error, refusal=None):
    """Run `handler` (which builds the real answer) under whatever fault is queued.

    systemerror: answer `system_error()` (after applying, if apply).
    timeout: sleep first; with apply, the real answer follows (too late for the
    caller); without, the request is treated as lost and a system error follows.
    refuse: answer `refusal()` (after applying, if apply).
    """
    fault = book.take(target)
    if fault is None:
        return handler()
    answer = handler() if fault.apply else None
    if fault.mode == "refuse" and refusal is not None:
        return refusal()
    if fault.mode == "timeout":
        time.sleep(fault.seconds)
        if answer is not None:
            return answer
    return system_error()
