"""The only module that reads the environment.

Every setting is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    default_language: str = "kk"
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_sends_per_phone_per_hour: int = 5
    otp_sends_per_ip_per_hour: int = 30
    registry_backend: str = "demo"
    registry_url: str = ""
    registry_token: str = ""
    sms_backend: str = "outbox"
    sms_url: str = ""
    sms_token: str = ""
    sms_sender: str = "Kezek"
    email_backend: str = "outbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    email_from: str = "Kezek <no-reply@kezek.local>"
    upload_dir: Path = ROOT / "var" / "uploads"
    max_upload_mb: int = 5
    status_wait_seconds: float = 6.0
    lookups_per_ip_per_minute: int = 60
    staff_session_idle_minutes: int = 15
    staff_session_max_hours: int = 8
    staff_logins_per_15_minutes: int = 10
    web_workers: int = 1
    secure_cookies: bool = False
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def dev_outbox_enabled(self) -> bool:
        return not self.production

    @property
    def embedded_redis_path(self) -> Path:
        return self.var_dir / "redis.db"

    def tortoise_config(self) -> dict:
        return tortoise_config(self.database_url)


def tortoise_config(database_url: str) -> dict:
    connection: str | dict = database_url
    if database_url.startswith("sqlite://"):
        connection = {
            "engine": "server.sqlite_backend",
            "credentials": {"file_path": database_url[len("sqlite://") :], "busy_timeout": 15000},
        }
    return {
        "connections": {"default": connection},
        "apps": {
            "kezek": {
                "models": ["server.models"],
                "default_connection": "default",
                "migrations": "server.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _secret(env: Mapping[str, str], var_dir: Path, production: bool) -> str:
    value = env.get("KEZEK_SECRET_KEY", "")
    if value:
        return value
    if production:
        raise RuntimeError("KEZEK_SECRET_KEY must be set when KEZEK_ENV=production")
    # Development: a random key kept under var/ so sessions survive a restart.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    kezek_env = env.get("KEZEK_ENV", "development")
    production = kezek_env == "production"
    var_dir = Path(env.get("KEZEK_VAR_DIR", str(ROOT / "var")))
    host = env.get("KEZEK_HOST", "127.0.0.1")
    port = int(env.get("KEZEK_PORT", "8000"))
    database_url = env.get("DATABASE_URL", "") or f"sqlite://{var_dir / 'kezek.sqlite3'}"
    if production and database_url.startswith("sqlite"):
        raise RuntimeError("DATABASE_URL must name a PostgreSQL database when KEZEK_ENV=production")
    redis_url = env.get("REDIS_URL", "")
    if production and not redis_url:
        raise RuntimeError("REDIS_URL must be set when KEZEK_ENV=production")
    return Settings(
        env=kezek_env,
        host=host,
        port=port,
        base_url=env.get("KEZEK_BASE_URL", f"http://{host}:{port}"),
        var_dir=var_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret(env, var_dir, production),
        default_language=env.get("KEZEK_DEFAULT_LANGUAGE", "kk"),
        session_idle_minutes=int(env.get("KEZEK_SESSION_IDLE_MINUTES", "30")),
        session_max_hours=int(env.get("KEZEK_SESSION_MAX_HOURS", "12")),
        otp_ttl_seconds=int(env.get("KEZEK_OTP_TTL_SECONDS", "300")),
        otp_max_attempts=int(env.get("KEZEK_OTP_MAX_ATTEMPTS", "5")),
        otp_sends_per_phone_per_hour=int(env.get("KEZEK_OTP_SENDS_PER_PHONE_PER_HOUR", "5")),
        otp_sends_per_ip_per_hour=int(env.get("KEZEK_OTP_SENDS_PER_IP_PER_HOUR", "30")),
        registry_backend=env.get("KEZEK_REGISTRY_BACKEND", "demo"),
        registry_url=env.get("KEZEK_REGISTRY_URL", ""),
        registry_token=env.get("KEZEK_REGISTRY_TOKEN", ""),
        sms_backend=env.get("KEZEK_SMS_BACKEND", "outbox"),
        sms_url=env.get("KEZEK_SMS_URL", ""),
        sms_token=env.get("KEZEK_SMS_TOKEN", ""),
        sms_sender=env.get("KEZEK_SMS_SENDER", "Kezek"),
        email_backend=env.get("KEZEK_EMAIL_BACKEND", "outbox"),
        smtp_host=env.get("KEZEK_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("KEZEK_SMTP_PORT", "25")),
        smtp_username=env.get("KEZEK_SMTP_USERNAME", ""),
        smtp_password=env.get("KEZEK_SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env.get("KEZEK_SMTP_STARTTLS"), False),
        email_from=env.get("KEZEK_EMAIL_FROM", "Kezek <no-reply@kezek.local>"),
        upload_dir=Path(env.get("KEZEK_UPLOAD_DIR", str(var_dir / "uploads"))),
        max_upload_mb=int(env.get("KEZEK_MAX_UPLOAD_MB", "5")),
        status_wait_seconds=float(env.get("KEZEK_STATUS_WAIT_SECONDS", "6")),
        lookups_per_ip_per_minute=int(env.get("KEZEK_LOOKUPS_PER_IP_PER_MINUTE", "60")),
        web_workers=int(env.get("KEZEK_WEB_WORKERS", "1")),
        staff_session_idle_minutes=int(env.get("KEZEK_STAFF_SESSION_IDLE_MINUTES", "15")),
        staff_session_max_hours=int(env.get("KEZEK_STAFF_SESSION_MAX_HOURS", "8")),
        staff_logins_per_15_minutes=int(env.get("KEZEK_STAFF_LOGINS_PER_15_MINUTES", "10")),
        secure_cookies=_bool(env.get("KEZEK_SECURE_COOKIES"), production),
        log_level=env.get("KEZEK_LOG_LEVEL", "INFO"),
    )


# For the `tortoise` command line (makemigrations / migrate).
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "") or f"sqlite://{ROOT / 'var' / 'kezek.sqlite3'}")
