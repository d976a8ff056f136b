"""The only module that reads the environment.

Each setting is declared once, below, as a field of `Settings`: its type, its default and
the environment variable it comes from (`KEZEK_` + the field's name in capitals, except
`DATABASE_URL` and `REDIS_URL`). pydantic-settings reads and checks them; a bad value is
refused with the variable's name. Every setting is documented in docs/configuration.md;
a test that walks this declaration fails when one is not.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "KEZEK_"
# While load_settings(env) runs: the mapping to read instead of the process environment.
_GIVEN_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("kezek_given_env", default=None)


class ConfigurationError(RuntimeError):
    """A setting is missing, malformed or unsafe; the message names the variable."""


class Settings(BaseSettings):
    """Kezek's settings. Where a default depends on another setting (`base_url`,
    `database_url`, `upload_dir`, `secure_cookies`, the development `secret_key`), it is
    derived from the fields declared before it."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # an empty variable means "not set": the default applies
        frozen=True,
        extra="ignore",
        validate_default=True,
    )

    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = Field(default_factory=lambda s: f"http://{s['host']}:{s['port']}")
    var_dir: Path = ROOT / "var"
    database_url: str = Field(
        default_factory=lambda s: f"sqlite://{s['var_dir'] / 'kezek.sqlite3'}", validation_alias="DATABASE_URL"
    )
    redis_url: str = Field(default="", validation_alias="REDIS_URL")
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
    upload_dir: Path = Field(default_factory=lambda s: s["var_dir"] / "uploads")
    max_upload_mb: int = 5
    status_wait_seconds: float = 6.0
    lookups_per_ip_per_minute: int = 60
    staff_session_idle_minutes: int = 15
    staff_session_max_hours: int = 8
    staff_logins_per_15_minutes: int = 10
    web_workers: int = 1
    secure_cookies: bool = Field(default_factory=lambda s: s["env"] == "production")
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values given to the constructor, then the environment (or the mapping given to
        # load_settings); no .env or secret files.
        given = _GIVEN_ENV.get()
        return (init_settings, env_settings if given is None else _MappingSource(settings_cls, given))

    @model_validator(mode="after")
    def _safe_and_complete(self) -> Settings:
        if self.production and self.database_url.startswith("sqlite"):
            raise ValueError("DATABASE_URL must name a PostgreSQL database when KEZEK_ENV=production")
        if self.production and not self.redis_url:
            raise ValueError("REDIS_URL must be set when KEZEK_ENV=production")
        if not self.secret_key:
            # frozen: the development key is filled in once, while the settings are built
            object.__setattr__(self, "secret_key", _development_secret(self.var_dir, self.production))
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def dev_outbox_enabled(self) -> bool:
        return not self.production

    @property
    def embedded_redis_path(self) -> Path:
        return self.var_dir / "redis.db"

    def tortoise_config(self) -> dict[str, Any]:
        return tortoise_config(self.database_url)


def variable_of(name: str) -> str:
    """The environment variable a setting is read from."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def variables() -> list[str]:
    """Every environment variable Kezek reads, in the order declared."""
    return [variable_of(name) for name in Settings.model_fields]


class _MappingSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], mapping: Mapping[str, str]) -> None:
        self._mapping = mapping
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._mapping, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment, or from `env` alone when given. A bad or
    unsafe value raises ConfigurationError naming the variable."""
    token = _GIVEN_ENV.set(env)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_explain(exc)) from None
    finally:
        _GIVEN_ENV.reset(token)


def _explain(exc: ValidationError) -> str:
    # An error is located by the field's name, or by its alias (DATABASE_URL, REDIS_URL).
    by_location = {name: variable_of(name) for name in Settings.model_fields}
    by_location |= {variable: variable for variable in by_location.values()}
    problems = []
    for error in exc.errors(include_url=False):
        if error["type"] == "default_factory_not_called":
            continue  # a default derived from a setting that was refused: said once, there
        location = [str(part) for part in error["loc"]]
        if location and location[0] in by_location:
            problems.append(f"{by_location[location[0]]}={error.get('input')!r}: {error['msg']}")
        else:  # a rule across settings: the message names the variables itself
            problems.append(str(error["msg"]).removeprefix("Value error, "))
    return "; ".join(problems)


def _development_secret(var_dir: Path, production: bool) -> str:
    if production:
        raise ValueError("KEZEK_SECRET_KEY must be set when KEZEK_ENV=production")
    # Development: a random key kept under var/ so sessions survive a restart.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def tortoise_config(database_url: str) -> dict[str, Any]:
    connection: str | dict[str, Any] = database_url
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


def __getattr__(name: str) -> Any:
    # For the `tortoise` command line (makemigrations / migrate): read when asked for,
    # not when this module is imported.
    if name == "TORTOISE_ORM":
        return load_settings().tortoise_config()
    raise AttributeError(name)
