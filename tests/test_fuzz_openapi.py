"""Fuzzing (issue 15 item 7): schemathesis against the app's own OpenAPI document.

Every operation of ``/api/v1/openapi.json`` is called in-process (WSGI) with generated
requests, valid ones and invalid ones, a consumer token on the mini-program's operations
and an admin token on ``/admin``. Each response must not be a server error, its status
must be one the operation documents, its content type and body must match the document
(the console's typed client is generated from it: a mismatch is a client bug).

Bounded so CI is reproducible and small: ``EXAMPLES`` cases per operation and mode,
derandomized (the same cases on every run), no per-example deadline (tests never assert
on wall time), no shrinking. ``TIME_CAP_SECONDS`` guards against a hung run and is never
a speed assertion: past it, the remaining operations are not fuzzed and the test says so.

No operation is left out: what calls out reaches the WeChat emulator, what starts a job
only enqueues it (no worker runs here), and no operation signs out the tokens in use
(an admin cannot disable or demote their own account: CANNOT_CHANGE_OWN_ACCOUNT). The
test runs last in the suite (tests/conftest.py), since it leaves the shared database as
its requests made it. ``FISSION_FUZZ_REPORT=/tmp/fuzz.txt`` writes every failure with its
curl, and the statuses each operation answered.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import pytest
import schemathesis
from helpers import admin, buy, create_product, distributor
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_check import openapi
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# CI runs the suite on SQLite, PostgreSQL and MariaDB: the full set on the first, a
# smaller one on the servers (slower per request), so each run stays within minutes.
EXAMPLES = int(os.environ.get("FISSION_FUZZ_EXAMPLES", "15" if os.environ.get("DATABASE_URL") else "25"))
TIME_CAP_SECONDS = 900
# Marks the fuzzer's requests: what they echo back is generated text, not a time the
# app wrote (tests/conftest.py's check of naive times in responses skips them).
FUZZ_HEADER = "X-Fission-Fuzz"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


def _fuzz(operation, mode, headers, failures, statuses, path_parameters=None) -> int:
    count = 0

    @given(operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        nonlocal count
        count += 1
        try:
            # buffered: werkzeug's client reads and closes the body (a download's open file)
            response = case.call(headers=headers, buffered=True)
            statuses[(operation.label, response.status_code)] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, together
            failures.append(f"{operation.label} [{mode}]: {exc}")

    try:
        run()
    except Unsatisfiable:
        # Negative mode on an operation with nothing to get wrong (no parameters, no
        # body): there is no invalid request to make.
        if mode is not GenerationMode.NEGATIVE:
            raise
    return count


def _schema(app):
    """The document the app serves, less flask-smorest's ``default`` response on every
    operation: with that catch-all any status would conform, and the console's client
    knows only the statuses an operation lists."""
    document = openapi(app)
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    return schema


def _seed(live, ops, buyer) -> None:
    """A few rows for the generated ids to find on a fresh database (run alone, ids 1, 2…
    exist; at the end of the suite there are plenty)."""
    product = create_product(ops, price_fen=1_000, stock=1_000)
    buy(live, buyer, product["id"])


def test_every_operation_conforms_to_the_document(live, admin_token, capsys):
    schema = _schema(live.app)
    ops = admin(live, admin_token)
    consumer = distributor(live)  # a distributor: its own pages (share QR, team) answer too
    _seed(live, ops, consumer)
    tokens = {"consumer": consumer.token, "admin": admin_token}
    failures: list[str] = []
    statuses: Counter = Counter()
    not_fuzzed: list[str] = []
    cases, started = 0, time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > TIME_CAP_SECONDS:
            not_fuzzed.append(operation.label)
            continue
        token = tokens["admin"] if operation.path.startswith("/api/v1/admin/") else tokens["consumer"]
        headers = {"Authorization": f"Bearer {token}", FUZZ_HEADER: "1"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases += _fuzz(operation, mode, headers, failures, statuses)
        # Generated ids seldom name a row: once more with every id 1, a row that exists
        # (seeded here; at the end of the suite, in every table), so the bodies of real
        # objects are checked too, not only not-found answers.
        ids = dict.fromkeys(re.findall(r"{(\w+_id)}", operation.path), 1)
        if ids:
            cases += _fuzz(operation, GenerationMode.POSITIVE, headers, failures, statuses, ids)
    with capsys.disabled():  # the case count belongs in CI's log
        print(f"\nfuzzing: {cases} cases over {len({label for label, _ in statuses})} operations "
              f"({EXAMPLES} per operation and mode) in {time.monotonic() - started:.0f} s; statuses "
              + ", ".join(f"{code}: {n}" for code, n in sorted(_by_status(statuses).items())))
    if os.environ.get("FISSION_FUZZ_REPORT"):  # a developer's full report: FISSION_FUZZ_REPORT=path
        with open(os.environ["FISSION_FUZZ_REPORT"], "w") as out:
            out.write("\n\n".join(failures))
        with open(os.environ["FISSION_FUZZ_REPORT"] + ".statuses", "w") as out:
            out.writelines(f"{n} {label} {status}\n" for (label, status), n in sorted(statuses.items()))
    assert not failures, f"{len(failures)} failing runs:\n\n" + "\n\n".join(failures[:30])
    if not_fuzzed:
        pytest.skip(f"time cap of {TIME_CAP_SECONDS} s reached: {len(not_fuzzed)} operations not fuzzed: "
                    + ", ".join(not_fuzzed))


def _by_status(statuses: Counter) -> Counter:
    totals: Counter = Counter()
    for (_, status), n in statuses.items():
        totals[status] += n
    return totals
