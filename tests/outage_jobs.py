"""Jobs for tests/test_worker_outage.py, imported by the worker it starts (tests/ on PYTHONPATH)."""

from __future__ import annotations

import time
from pathlib import Path


def slow(seconds: float, started: str) -> str:
    """Say it started (a file), then take its time: Redis is killed meanwhile."""
    Path(started).write_text("started")
    time.sleep(seconds)
    return "done"


def touch(path: str) -> str:
    Path(path).write_text("ran")
    return "ran"
