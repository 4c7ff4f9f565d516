"""What gunicorn answers itself, before the app sees the request (a 10 kB token, a request
line too long, one it cannot read), is the API's JSON error shape with a stable code and
no server banner. A real gunicorn (``gunicorn wsgi:app``, as in production and `make run`),
with the gthread worker `make run` uses and the default sync worker, over raw sockets so
that the client sends exactly the bytes under test."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from helpers import free_port, stop_group

from backend.config import PROJECT_ROOT
from backend.errors import ERROR_CODES
from backend.gunicorn_errors import GUNICORN_ERRORS, error_bytes


def test_every_gunicorn_code_is_an_api_code_with_its_status():
    for status, (code, _) in GUNICORN_ERRORS.items():
        assert ERROR_CODES[code] == status
    assert b'"code": "BAD_REQUEST"' in error_bytes(499) and b'"code": "INTERNAL_ERROR"' in error_bytes(599)


@pytest.fixture(scope="module", params=[["--threads", "2"], []], ids=["gthread", "sync"])
def gunicorn(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {**os.environ, "FISSION_INSTANCE_DIR": str(folder / "instance"),
           "DATABASE_URL": f"sqlite:///{folder}/fission.db", "LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", *request.param,
         "--no-control-socket", "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (folder / "gunicorn.log").read_text()
            with contextlib.suppress(OSError):
                if _send(port, b"GET /api/v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 404:
                    break
            assert time.monotonic() < deadline, (folder / "gunicorn.log").read_text()
            time.sleep(0.3)
        yield port
    finally:
        stop_group(proc)  # its own group: the arbiter and its worker
        log.close()


def _send(port: int, data: bytes) -> tuple[int, dict, bytes]:
    """(status, headers with lower-case names, body) of one raw request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _assert_error(answer, status: int, code: str) -> None:
    got, headers, body = answer
    assert got == status, answer
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    assert "gunicorn" not in headers.get("server", "").lower()
    assert b"<html" not in body.lower() and b"gunicorn" not in body.lower()
    assert headers["x-content-type-options"] == "nosniff"


def test_a_10k_token_is_431_header_too_large_in_json(gunicorn):
    token = "a" * 10_000
    _assert_error(_send(gunicorn, f"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                        .encode()), 431, "HEADER_TOO_LARGE")


def test_too_many_headers_is_431_too(gunicorn):
    headers = "".join(f"X-H{i}: v\r\n" for i in range(200))  # gunicorn's limit: 100 fields
    _assert_error(_send(gunicorn, f"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()),
                  431, "HEADER_TOO_LARGE")


def test_an_unreadable_request_line_is_400_bad_request_in_json(gunicorn):
    _assert_error(_send(gunicorn, b"GARBAGE\r\n\r\n"), 400, "BAD_REQUEST")


def test_a_request_line_too_long_is_414_uri_too_long_in_json(gunicorn):
    _assert_error(_send(gunicorn, b"GET /" + b"a" * 5_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414, "URI_TOO_LONG")


def test_the_app_answers_carry_no_server_banner_either(gunicorn):
    status, headers, body = _send(gunicorn, b"GET /api/v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 404 and json.loads(body)["error"]["code"] == "NOT_FOUND"
    assert "gunicorn" not in headers.get("server", "").lower()
