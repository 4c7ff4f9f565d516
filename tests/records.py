"""What the whole suite saw, checked at its end (conftest ``pytest_sessionfinish``)."""

from __future__ import annotations

# Every error answered, as (rule, method, status, code): each must be one the OpenAPI
# document lists for that operation.
SEEN_ERRORS: set[tuple[str, str, int, str]] = set()
# Times in responses that carry no offset (a browser in China would show them 8 h off).
NAIVE_TIMES: set[tuple[str, str, str]] = set()
# Every function enqueued on RQ, by name: each must be a @job.
ENQUEUED: dict[str, object] = {}
