"""Every setting comes from the environment, with embedded defaults.

Nothing here opens a connection: the values are read once by ``load_config`` and
handed to ``create_app``. See docs/configuration.md for the table.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from backend.limit_settings import RATE_LIMIT_DEFAULTS, rate_limits_from_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("FISSION_INSTANCE_DIR", PROJECT_ROOT / "instance"))

# Sandbox credentials: used when no real WeChat credentials are configured. The
# emulator reads the same settings, so the app and the emulator always agree; live
# mode refuses to start while any of these is still needed (missing_live_settings).
SANDBOX_APPID = "wx5andb0x0f1ss10n"
SANDBOX_SECRET = "fission-sandbox-app-secret"  # noqa: S105 - a public sandbox value, refused in live mode
SANDBOX_MCH_ID = "1900000109"
SANDBOX_PAY_API_KEY = "FissionSandboxPayV2ApiKey0000000"  # 32 chars, v2 MD5 key
SANDBOX_APIV3_KEY = "FissionSandboxApiV3Key0000000000"  # 32 chars, AES-GCM key
SANDBOX_CORP_ID = "wwf1ss10nsandb0x"
# 企业微信 (WeCom) sandbox: the customer-contact app's secret and the callback's token and EncodingAESKey
# (43 characters of base64, as the 企业微信 console generates them).
SANDBOX_WECOM_SECRET = "fission-sandbox-wecom-contact-secret"  # noqa: S105 - a public sandbox value, refused in live mode
SANDBOX_WECOM_TOKEN = "FissionSandboxWeComToken"  # noqa: S105 - a public sandbox value, refused in live mode
SANDBOX_WECOM_AES_KEY = "F1ss10nSandb0xWeComEncodingAESKey0000000000"
SANDBOX_MCH_CERT_SERIAL = "5A4E1A5D0F1551010000000000000001"
SANDBOX_PLATFORM_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025SANDBOX"

SECRET_KEY_MIN_BYTES = 32  # HMAC-SHA1 (itsdangerous) with less is guessable offline from one token
# Keys and admin passwords this repository publishes (tests, benches, examples): live mode
# refuses them whatever their length, since anyone can read them.
PUBLISHED_SECRET_KEYS = frozenset({"fission-bench-lb-secret-key-not-for-production", "dev", "secret", "change-me",
                                   "changeme"})
PUBLISHED_ADMIN_PASSWORDS = frozenset({
    "test-admin-password", "run-test-password", "bench-password", "bench-password-1", "console-bench-password",
    "recon-console-bench-pw", "bench-finance-password", "admin", "password", "changeme", "change-me", "123456",
})
ADMIN_PASSWORD_MIN_LENGTH = 12


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class WeChatConfig:
    sandbox: bool
    appid: str
    secret: str
    mch_id: str
    pay_api_key: str
    apiv3_key: str
    api_base: str  # wechatpy WeChatClient base (…/cgi-bin/ is appended for cgi calls)
    pay_api_base: str  # wechatpy WeChatPay and wechatpayv3 gateway
    emulator_url: str
    notify_base_url: str  # how WeChat reaches us: notify URLs are built from it
    key_dir: Path  # sandbox RSA keys shared by the app and the emulator
    merchant_cert_serial: str
    merchant_private_key_path: str | None
    platform_public_key_path: str | None
    platform_public_key_id: str
    transfer_scene_id: str
    subscribe_template_id: str
    http_timeout: float
    # 企业微信 (customer groups, join ways, contact ways) and its callback
    wecom_corp_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_api_base_url: str = ""  # empty: the emulator in sandbox mode, qyapi.weixin.qq.com otherwise

    @property
    def wecom_api_base(self) -> str:
        """Where the 企业微信 client sends requests (…/cgi-bin/ is appended)."""
        if self.wecom_api_base_url:
            return self.wecom_api_base_url
        return self.api_base if self.sandbox else "https://qyapi.weixin.qq.com"

    def missing_live_settings(self) -> list[str]:
        """Live mode must not start on sandbox leftovers: name what is missing."""
        if self.sandbox:
            return []
        required = {
            "WECHAT_APPID": self.appid, "WECHAT_SECRET": self.secret, "WECHAT_MCH_ID": self.mch_id,
            "WECHAT_PAY_API_KEY": self.pay_api_key, "WECHAT_APIV3_KEY": self.apiv3_key,
            "WECHAT_MCH_CERT_SERIAL": os.environ.get("WECHAT_MCH_CERT_SERIAL"),
            "WECHAT_MCH_PRIVATE_KEY_PATH": self.merchant_private_key_path,
            "WECHAT_PLATFORM_PUBLIC_KEY_PATH": self.platform_public_key_path,
            "WECHAT_PLATFORM_PUBLIC_KEY_ID": os.environ.get("WECHAT_PLATFORM_PUBLIC_KEY_ID"),
            "WECHAT_NOTIFY_BASE_URL": os.environ.get("WECHAT_NOTIFY_BASE_URL"),
        }
        return [name for name, value in required.items() if not value]

    def unsafe_live_settings(self) -> list[str]:
        """Live mode must not start on sandbox values or the emulator either: one line per problem."""
        if self.sandbox:
            return []
        problems = []
        sandbox_values = {
            "WECHAT_APPID": (self.appid, SANDBOX_APPID), "WECHAT_SECRET": (self.secret, SANDBOX_SECRET),
            "WECHAT_MCH_ID": (self.mch_id, SANDBOX_MCH_ID),
            "WECHAT_PAY_API_KEY": (self.pay_api_key, SANDBOX_PAY_API_KEY),
            "WECHAT_APIV3_KEY": (self.apiv3_key, SANDBOX_APIV3_KEY),
            "WECHAT_MCH_CERT_SERIAL": (self.merchant_cert_serial, SANDBOX_MCH_CERT_SERIAL),
            "WECHAT_PLATFORM_PUBLIC_KEY_ID": (self.platform_public_key_id, SANDBOX_PLATFORM_PUBLIC_KEY_ID),
            "WECOM_CORP_ID": (self.wecom_corp_id, SANDBOX_CORP_ID),
            "WECOM_SECRET": (self.wecom_secret, SANDBOX_WECOM_SECRET),
            "WECOM_CALLBACK_TOKEN": (self.wecom_token, SANDBOX_WECOM_TOKEN),
            "WECOM_ENCODING_AES_KEY": (self.wecom_aes_key, SANDBOX_WECOM_AES_KEY),
        }
        problems += [f"{name} is the sandbox's public value" for name, (value, public) in sandbox_values.items()
                     if value and value == public]
        for name, path in (("WECHAT_MCH_PRIVATE_KEY_PATH", self.merchant_private_key_path),
                           ("WECHAT_PLATFORM_PUBLIC_KEY_PATH", self.platform_public_key_path)):
            if path and Path(path).resolve().is_relative_to(Path(self.key_dir).resolve()):
                problems.append(f"{name} points into the sandbox's key folder ({self.key_dir})")
        emulator = _origin(self.emulator_url)
        for name, url in (("WECHAT_API_BASE", self.api_base), ("WECHAT_PAY_API_BASE", self.pay_api_base),
                          ("WECOM_API_BASE", self.wecom_api_base)):
            if _origin(url) == emulator:
                problems.append(f"{name} is the emulator ({url})")
            elif _is_loopback(url):
                problems.append(f"{name} is on this machine ({url}): WeChat is not")
            elif urlsplit(url).scheme != "https":
                problems.append(f"{name} is not https ({url})")
        if _origin(self.notify_base_url) == emulator or _is_loopback(self.notify_base_url):
            problems.append(f"WECHAT_NOTIFY_BASE_URL is on this machine ({self.notify_base_url}): WeChat cannot "
                            "reach it")
        return problems


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or "").lower(), port


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@dataclass(frozen=True)
class Config:
    database_url: str
    redis_url: str | None  # None: start the embedded Redis
    secret_key: str
    port: int
    admin_username: str
    admin_password: str | None
    token_ttl_seconds: int
    max_content_length: int
    order_payment_ttl_seconds: int
    payout_sweep_after_seconds: int
    payout_lease_seconds: int  # a worker's claim on a transfer; after it the sweeper re-runs the payout
    message_min_interval_seconds: int  # at most one "you earned" message per person per interval
    queue_prefix: str
    wechat: WeChatConfig
    # the built admin console (make console), served at /admin/ by backend/admin/console.py
    console_dist: Path = PROJECT_ROOT / "console" / "dist"
    # the level evaluation after credit batches runs at most once per this many ms (0:
    # after every batch); what arrives meanwhile waits for the next run or the sweeper
    level_evaluate_gap_ms: int = 1000
    testing: bool = False
    # Observability (backend/metrics): GET /metrics needs this bearer token (unset: 404);
    # METRICS_ENABLED=0 turns the event counters off as well
    metrics_token: str | None = None
    metrics_enabled: bool = True
    board_drift_check_seconds: int = 600  # how often the sweeper has the boards checked against the database
    # old signing keys that still verify tokens (not sign them) while SECRET_KEY is rotated
    secret_key_fallbacks: tuple[str, ...] = ()
    # Abuse limits (backend/rate_limits.py): RATE_LIMITS_ENABLED=0 turns them and the admin lock-out off
    rate_limits_enabled: bool = True
    rate_limits: dict = field(default_factory=lambda: dict(RATE_LIMIT_DEFAULTS))
    # The client's address: request.remote_addr unless a proxy we trust names it in this
    # header (X-Forwarded-For, X-Real-IP), as the Nth address from the right (N = hops)
    trusted_proxy_header: str | None = None
    trusted_proxy_hops: int = 1
    # After this many wrong passwords for one admin username within the window, that
    # username is refused (429) for the lock period, even with the right password
    admin_lockout_failures: int = 5
    admin_lockout_window_seconds: int = 900
    admin_lockout_seconds: int = 900
    extra: dict = field(default_factory=dict)

    def live_mode_problems(self) -> list[str]:
        """Everything that keeps live mode from starting (empty in sandbox mode): the
        settings it lacks, sandbox values, the emulator, a weak SECRET_KEY, a published
        admin password. create_app refuses to build the app on any of them."""
        if self.wechat.sandbox:
            return []
        problems = [f"{name} is not set" for name in self.wechat.missing_live_settings()]
        problems += self.wechat.unsafe_live_settings()
        if self.secret_key == _instance_secret_key():
            problems.append("SECRET_KEY is not set: the key generated in the instance folder is for development "
                            "(one per host; every host must sign with the same key)")
        elif self.secret_key in PUBLISHED_SECRET_KEYS:
            problems.append("SECRET_KEY is a value published in this repository")
        elif len(self.secret_key.encode()) < SECRET_KEY_MIN_BYTES:
            problems.append(f"SECRET_KEY is {len(self.secret_key.encode())} bytes: at least "
                            f"{SECRET_KEY_MIN_BYTES} are needed")
        for number, key in enumerate(self.secret_key_fallbacks, 1):
            if key in PUBLISHED_SECRET_KEYS or key == _instance_secret_key():
                problems.append(f"SECRET_KEY_FALLBACKS key {number} is a published or development key")
            elif len(key.encode()) < SECRET_KEY_MIN_BYTES:
                problems.append(f"SECRET_KEY_FALLBACKS key {number} is {len(key.encode())} bytes: at least "
                                f"{SECRET_KEY_MIN_BYTES} are needed")
        password = self.admin_password
        if password is not None:
            if password in PUBLISHED_ADMIN_PASSWORDS or password == self.admin_username:
                problems.append("ADMIN_PASSWORD is a sandbox, demo or published password")
            elif len(password) < ADMIN_PASSWORD_MIN_LENGTH:
                problems.append(f"ADMIN_PASSWORD is shorter than {ADMIN_PASSWORD_MIN_LENGTH} characters")
        return problems

    def flask_mapping(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SECRET_KEY_FALLBACKS": list(self.secret_key_fallbacks),
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(self.database_url),
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "TESTING": self.testing,
            "JSON_SORT_KEYS": False,
            "API_TITLE": "Fission API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": "/docs",
            # served by backend/api_docs.py from the pinned swagger-ui-bundle package (no CDN)
            "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
            "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},  # no badge from validator.swagger.io
            "CONSOLE_DIST": str(self.console_dist),
            "FISSION": self,
        }


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # A busy writer makes others wait instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    # Idle connections are pinged before use by extensions.ping_idle_connections, not every checkout.
    options = {"pool_size": 10, "max_overflow": 20, "pool_recycle": 1800}
    if url.startswith("mysql"):
        # InnoDB's default REPEATABLE READ would let a plain SELECT after a
        # SELECT ... FOR UPDATE see the snapshot from before the lock wait: binding
        # re-reads the chain under its locks and must see what the winner committed.
        options["isolation_level"] = "READ COMMITTED"
    return options


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, mysql://) and pick our drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("mysql://") or url.startswith("mariadb://"):
        url = "mysql+pymysql://" + url.split("://", 1)[1]
    if url.startswith("mysql+pymysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def _instance_secret_key() -> str | None:
    """The development key kept in the instance folder, if one was generated."""
    try:
        return (INSTANCE_DIR / "secret_key").read_text().strip()
    except OSError:
        return None


def _secret_key_fallbacks() -> tuple[str, ...]:
    """SECRET_KEY_FALLBACKS: comma-separated old keys (a key never contains a comma)."""
    return tuple(key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip())


def _secret_key() -> str:
    """A stable secret across restarts of a dev instance, random per instance."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_urlsafe(48)
        fh.write(key)
    return key


def load_wechat_config() -> WeChatConfig:
    real = bool(os.environ.get("WECHAT_APPID") and os.environ.get("WECHAT_SECRET"))
    sandbox = _env_bool("WECHAT_SANDBOX", default=not real)
    emulator_url = os.environ.get("WECHAT_EMULATOR_URL", "http://127.0.0.1:5055").rstrip("/")
    port = _env_int("PORT", 5000)
    default_api = emulator_url if sandbox else "https://api.weixin.qq.com"
    default_pay = emulator_url if sandbox else "https://api.mch.weixin.qq.com"
    return WeChatConfig(
        sandbox=sandbox,
        appid=os.environ.get("WECHAT_APPID", SANDBOX_APPID if sandbox else ""),
        secret=os.environ.get("WECHAT_SECRET", SANDBOX_SECRET if sandbox else ""),
        mch_id=os.environ.get("WECHAT_MCH_ID", SANDBOX_MCH_ID if sandbox else ""),
        pay_api_key=os.environ.get("WECHAT_PAY_API_KEY", SANDBOX_PAY_API_KEY if sandbox else ""),
        apiv3_key=os.environ.get("WECHAT_APIV3_KEY", SANDBOX_APIV3_KEY if sandbox else ""),
        api_base=os.environ.get("WECHAT_API_BASE", default_api).rstrip("/"),
        pay_api_base=os.environ.get("WECHAT_PAY_API_BASE", default_pay).rstrip("/"),
        emulator_url=emulator_url,
        notify_base_url=os.environ.get("WECHAT_NOTIFY_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        key_dir=Path(os.environ.get("WECHAT_SANDBOX_KEY_DIR", INSTANCE_DIR / "wechat-sandbox")),
        merchant_cert_serial=os.environ.get("WECHAT_MCH_CERT_SERIAL", SANDBOX_MCH_CERT_SERIAL),
        merchant_private_key_path=os.environ.get("WECHAT_MCH_PRIVATE_KEY_PATH"),
        platform_public_key_path=os.environ.get("WECHAT_PLATFORM_PUBLIC_KEY_PATH"),
        platform_public_key_id=os.environ.get("WECHAT_PLATFORM_PUBLIC_KEY_ID", SANDBOX_PLATFORM_PUBLIC_KEY_ID),
        transfer_scene_id=os.environ.get("WECHAT_TRANSFER_SCENE_ID", "1000"),
        subscribe_template_id=os.environ.get("WECHAT_SUBSCRIBE_TEMPLATE_ID", "commission-earned"),
        http_timeout=float(os.environ.get("WECHAT_HTTP_TIMEOUT", "5")),
        wecom_corp_id=os.environ.get("WECOM_CORP_ID", SANDBOX_CORP_ID if sandbox else ""),
        wecom_secret=os.environ.get("WECOM_SECRET", SANDBOX_WECOM_SECRET if sandbox else ""),
        wecom_token=os.environ.get("WECOM_CALLBACK_TOKEN", SANDBOX_WECOM_TOKEN if sandbox else ""),
        wecom_aes_key=os.environ.get("WECOM_ENCODING_AES_KEY", SANDBOX_WECOM_AES_KEY if sandbox else ""),
        wecom_api_base_url=os.environ.get("WECOM_API_BASE", "").rstrip("/"),
    )


def load_config(**overrides) -> Config:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'fission.db'}"
    values = {
        "database_url": normalise_database_url(database_url),
        "redis_url": os.environ.get("REDIS_URL") or None,
        "secret_key": _secret_key(),
        "secret_key_fallbacks": _secret_key_fallbacks(),
        "port": _env_int("PORT", 5000),
        "admin_username": os.environ.get("ADMIN_USERNAME", "admin"),
        "admin_password": os.environ.get("ADMIN_PASSWORD") or None,
        "token_ttl_seconds": _env_int("TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        "max_content_length": _env_int("MAX_CONTENT_LENGTH", 256 * 1024),
        "order_payment_ttl_seconds": _env_int("ORDER_PAYMENT_TTL_SECONDS", 30 * 60),
        "payout_sweep_after_seconds": _env_int("PAYOUT_SWEEP_AFTER_SECONDS", 5),
        "payout_lease_seconds": _env_int("PAYOUT_LEASE_SECONDS", 30),
        "message_min_interval_seconds": _env_int("MESSAGE_MIN_INTERVAL_SECONDS", 60),
        "level_evaluate_gap_ms": _env_int("LEVEL_EVALUATE_GAP_MS", 1000),
        "queue_prefix": os.environ.get("QUEUE_PREFIX", "fission"),
        "console_dist": Path(os.environ.get("CONSOLE_DIST") or PROJECT_ROOT / "console" / "dist"),
        "wechat": load_wechat_config(),
        "metrics_token": os.environ.get("METRICS_TOKEN") or None,
        "metrics_enabled": _env_bool("METRICS_ENABLED", default=True),
        "board_drift_check_seconds": _env_int("BOARD_DRIFT_CHECK_SECONDS", 600),
        "rate_limits_enabled": _env_bool("RATE_LIMITS_ENABLED", default=True),
        "rate_limits": rate_limits_from_env(),
        "trusted_proxy_header": os.environ.get("TRUSTED_PROXY_HEADER", "").strip() or None,
        "trusted_proxy_hops": _env_int("TRUSTED_PROXY_HOPS", 1),
        "admin_lockout_failures": _env_int("ADMIN_LOCKOUT_FAILURES", 5),
        "admin_lockout_window_seconds": _env_int("ADMIN_LOCKOUT_WINDOW_SECONDS", 900),
        "admin_lockout_seconds": _env_int("ADMIN_LOCKOUT_SECONDS", 900),
    }
    values.update(overrides)
    return Config(**values)
