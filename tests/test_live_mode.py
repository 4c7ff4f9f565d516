"""Live WeChat mode refuses to start on unsafe settings: sandbox keys, the emulator's
URLs, the development or a short SECRET_KEY, a published admin password. create_app
names every problem at once; `make run` and gunicorn exit non-zero with the list. A
proper live configuration starts."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys

import pytest
from conftest import ADMIN_PASSWORD  # at import: tests/wechat has a conftest of its own

from backend import UnsafeLiveConfig, create_app
from backend.config import (
    INSTANCE_DIR,
    PROJECT_ROOT,
    SANDBOX_APIV3_KEY,
    SANDBOX_APPID,
    SANDBOX_CORP_ID,
    SANDBOX_MCH_CERT_SERIAL,
    SANDBOX_MCH_ID,
    SANDBOX_PAY_API_KEY,
    SANDBOX_PLATFORM_PUBLIC_KEY_ID,
    SANDBOX_SECRET,
    SANDBOX_WECOM_AES_KEY,
    SANDBOX_WECOM_SECRET,
    SANDBOX_WECOM_TOKEN,
    load_config,
)

LIVE_ENV = {
    "WECHAT_SANDBOX": "0", "WECHAT_APPID": "wx1234567890abcdef", "WECHAT_SECRET": "a" * 32,
    "WECHAT_MCH_ID": "1650000001", "WECHAT_PAY_API_KEY": "P" * 32, "WECHAT_APIV3_KEY": "V" * 32,
    "WECHAT_MCH_CERT_SERIAL": "7B2F" + "0" * 36, "WECHAT_PLATFORM_PUBLIC_KEY_ID": "PUB_KEY_ID_0116500000012025",
    "WECHAT_NOTIFY_BASE_URL": "https://shop.example.com",
    "WECHAT_API_BASE": "https://api.weixin.qq.com", "WECHAT_PAY_API_BASE": "https://api.mch.weixin.qq.com",
}


@pytest.fixture
def live_env(monkeypatch, tmp_path):
    """The environment of a proper live deployment (key files outside the sandbox's folder)."""
    for name in ("WECHAT_EMULATOR_URL", "WECOM_CORP_ID", "WECOM_SECRET", "WECOM_CALLBACK_TOKEN",
                 "WECOM_ENCODING_AES_KEY", "WECOM_API_BASE", "ADMIN_PASSWORD", "WECHAT_SANDBOX_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    env = {**LIVE_ENV, "WECHAT_MCH_PRIVATE_KEY_PATH": str(tmp_path / "apiclient_key.pem"),
           "WECHAT_PLATFORM_PUBLIC_KEY_PATH": str(tmp_path / "pub_key.pem"), "SECRET_KEY": secrets.token_urlsafe(48),
           "DATABASE_URL": f"sqlite:///{tmp_path}/live.db"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _problems(**overrides) -> list[str]:
    wechat = {k: v for k, v in overrides.items() if k in {f.name for f in dataclasses.fields(load_config().wechat)}}
    rest = {k: v for k, v in overrides.items() if k not in wechat}
    base = load_config()
    config = dataclasses.replace(base, wechat=dataclasses.replace(base.wechat, **wechat), **rest)
    with pytest.raises(UnsafeLiveConfig) as exc:
        create_app(config)
    assert str(exc.value).count("\n  - ") == len(exc.value.problems)  # one line each
    return exc.value.problems


def test_a_proper_live_config_starts(live_env):
    config = load_config(admin_password=secrets.token_urlsafe(16))
    assert not config.wechat.sandbox and config.live_mode_problems() == []
    app = create_app(config)
    answer = app.test_client().get("/api/v1/nowhere")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("field", "value", "name"), [
    ("appid", SANDBOX_APPID, "WECHAT_APPID"), ("secret", SANDBOX_SECRET, "WECHAT_SECRET"),
    ("mch_id", SANDBOX_MCH_ID, "WECHAT_MCH_ID"), ("pay_api_key", SANDBOX_PAY_API_KEY, "WECHAT_PAY_API_KEY"),
    ("apiv3_key", SANDBOX_APIV3_KEY, "WECHAT_APIV3_KEY"),
    ("merchant_cert_serial", SANDBOX_MCH_CERT_SERIAL, "WECHAT_MCH_CERT_SERIAL"),
    ("platform_public_key_id", SANDBOX_PLATFORM_PUBLIC_KEY_ID, "WECHAT_PLATFORM_PUBLIC_KEY_ID"),
    ("wecom_corp_id", SANDBOX_CORP_ID, "WECOM_CORP_ID"), ("wecom_secret", SANDBOX_WECOM_SECRET, "WECOM_SECRET"),
    ("wecom_token", SANDBOX_WECOM_TOKEN, "WECOM_CALLBACK_TOKEN"),
    ("wecom_aes_key", SANDBOX_WECOM_AES_KEY, "WECOM_ENCODING_AES_KEY"),
])
def test_sandbox_keys_are_refused(live_env, field, value, name):
    assert _problems(**{field: value}) == [f"{name} is the sandbox's public value"]


def test_a_key_file_from_the_sandbox_folder_is_refused(live_env):
    key_dir = load_config().wechat.key_dir
    [problem] = _problems(merchant_private_key_path=str(key_dir / "merchant_private.pem"))
    assert problem.startswith("WECHAT_MCH_PRIVATE_KEY_PATH points into the sandbox's key folder")


@pytest.mark.parametrize("url", ["http://127.0.0.1:5055", "http://localhost:5055", "http://127.0.0.1:8080",
                                 "http://api.weixin.qq.com"])
def test_the_emulator_or_this_machine_or_plain_http_is_refused_as_wechat(live_env, url):
    problems = _problems(api_base=url, pay_api_base=url, wecom_api_base_url=url)
    assert [p.split(" is ")[0] for p in problems] == ["WECHAT_API_BASE", "WECHAT_PAY_API_BASE", "WECOM_API_BASE"]
    assert all(url in p for p in problems)


def test_the_emulator_as_wechat_is_named_the_emulator(live_env):
    emulator = load_config().wechat.emulator_url
    assert f"WECHAT_PAY_API_BASE is the emulator ({emulator})" in _problems(pay_api_base=emulator)


def test_a_notify_url_on_this_machine_is_refused(live_env):
    [problem] = _problems(notify_base_url="http://127.0.0.1:5000")
    assert problem.startswith("WECHAT_NOTIFY_BASE_URL is on this machine")


def test_the_development_secret_key_is_refused(live_env, monkeypatch):
    monkeypatch.delenv("SECRET_KEY")
    config = load_config()  # falls back to (and creates) the instance folder's key
    assert config.secret_key == (INSTANCE_DIR / "secret_key").read_text().strip()
    with pytest.raises(UnsafeLiveConfig) as exc:
        create_app(config)
    assert [p.split(":")[0] for p in exc.value.problems] == ["SECRET_KEY is not set"]


@pytest.mark.parametrize(("key", "problem"), [
    ("k" * 31, "SECRET_KEY is 31 bytes: at least 32 are needed"),
    ("fission-bench-lb-secret-key-not-for-production", "SECRET_KEY is a value published in this repository"),
])
def test_a_short_or_published_secret_key_is_refused(live_env, key, problem):
    assert _problems(secret_key=key) == [problem]


@pytest.mark.parametrize("password", ["test-admin-password", "run-test-password", "console-bench-password", "admin"])
def test_a_published_admin_password_is_refused(live_env, password):
    assert _problems(admin_password=password) == ["ADMIN_PASSWORD is a sandbox, demo or published password"]


def test_a_short_admin_password_is_refused(live_env):
    assert _problems(admin_password="Sh0rt!pw") == ["ADMIN_PASSWORD is shorter than 12 characters"]


def test_the_conftest_password_is_one_of_the_published(live_env):
    assert _problems(admin_password=ADMIN_PASSWORD)


def test_every_problem_is_named_at_once_with_the_missing_settings(live_env, monkeypatch):
    monkeypatch.delenv("WECHAT_NOTIFY_BASE_URL")
    problems = _problems(appid=SANDBOX_APPID, secret_key="short", admin_password="admin",
                         pay_api_base="http://127.0.0.1:5055")
    assert problems == [
        "WECHAT_NOTIFY_BASE_URL is not set", "WECHAT_APPID is the sandbox's public value",
        "WECHAT_PAY_API_BASE is the emulator (http://127.0.0.1:5055)",
        "WECHAT_NOTIFY_BASE_URL is on this machine (http://127.0.0.1:5000): WeChat cannot reach it",
        "SECRET_KEY is 5 bytes: at least 32 are needed",
        "ADMIN_PASSWORD is a sandbox, demo or published password",
    ]


def test_sandbox_mode_is_never_refused():
    config = load_config()
    config = dataclasses.replace(config, secret_key="short", admin_password="admin",
                                 wechat=dataclasses.replace(config.wechat, sandbox=True))
    assert config.live_mode_problems() == []


def _child_env(live_env: dict, tmp_path, **changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "QUEUE_PREFIX", "PROMETHEUS_MULTIPROC_DIR"}}
    env.update({**live_env, "FISSION_INSTANCE_DIR": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING", **changes})
    return env


def test_make_run_refuses_live_mode_with_every_problem_and_starts_nothing(live_env, tmp_path):
    env = _child_env(live_env, tmp_path, SECRET_KEY="too-short", WECHAT_APPID=SANDBOX_APPID,
                     ADMIN_PASSWORD="run-test-password")
    done = subprocess.run([sys.executable, "-m", "backend.run"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "live WeChat mode refuses to start" in out
    for problem in ("WECHAT_APPID is the sandbox's public value", "SECRET_KEY is 9 bytes",
                    "ADMIN_PASSWORD is a sandbox, demo or published password"):
        assert problem in out, out
    assert "Fission is running" not in out
    assert not (tmp_path / "instance" / "logs").exists() or not any((tmp_path / "instance" / "logs").iterdir())


def test_gunicorn_refuses_live_mode_and_exits_non_zero(live_env, tmp_path):
    env = _child_env(live_env, tmp_path, WECHAT_API_BASE="http://127.0.0.1:5055")
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1",
                           "--no-control-socket", "wsgi:app"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "WECHAT_API_BASE is the emulator (http://127.0.0.1:5055)" in done.stdout + done.stderr
