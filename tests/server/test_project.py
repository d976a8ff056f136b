"""Checks that keep the project honest: migrations match the models, every setting is
documented, IINs stay out of logs, masked errors."""

from __future__ import annotations

import logging
import re

import pytest

from server.config import ROOT, load_settings, variables


async def test_migrations_match_the_models(base_settings):
    from tortoise.cli.cli import tortoise_cli_context
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = base_settings.tortoise_config()
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert not writers, (
        "models changed without a migration: run `tortoise -c server.config.TORTOISE_ORM makemigrations`"
    )


def test_every_setting_is_documented():
    names = set(variables())
    assert "DATABASE_URL" in names and "KEZEK_PORT" in names
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert not missing, f"undocumented settings: {missing}"


def test_production_refuses_unsafe_defaults(tmp_path):
    base = {"KEZEK_ENV": "production", "KEZEK_VAR_DIR": str(tmp_path)}
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        load_settings(base | {"KEZEK_SECRET_KEY": "x"})
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        load_settings(base | {"KEZEK_SECRET_KEY": "x", "DATABASE_URL": "postgres://db/kezek"})
    with pytest.raises(RuntimeError, match="KEZEK_SECRET_KEY"):
        load_settings(base | {"DATABASE_URL": "postgres://db/kezek", "REDIS_URL": "redis://r:6379/0"})
    settings = load_settings(
        {
            "KEZEK_ENV": "production",
            "KEZEK_SECRET_KEY": "x",
            "DATABASE_URL": "postgres://db/kezek",
            "REDIS_URL": "redis://r:6379/0",
            "KEZEK_VAR_DIR": str(tmp_path),
        }
    )
    assert settings.secure_cookies and not settings.dev_outbox_enabled


def test_iins_never_reach_the_log(caplog):
    from server.logging import Redact

    logger = logging.getLogger("kezek.test")
    logger.addFilter(Redact())
    with caplog.at_level(logging.INFO, logger="kezek.test"):
        logger.info("looked up %s for %s", "930412400074", "a parent")
    assert "930412400074" not in caplog.text and "[iin]" in caplog.text


def test_no_iin_in_job_arguments():
    """Jobs take row ids only: an IIN never travels in a job argument (docs/architecture.md, Security)."""
    sources = (
        "\n".join(p.read_text() for p in (ROOT / "server").rglob("*.py")) + (ROOT / "jobs" / "worker.py").read_text()
    )
    calls = re.findall(r'enqueue\(\s*"(\w+)",\s*([^,]+),', sources)
    assert calls and all(arg.strip().endswith((".id", "_id", "row.id")) for _, arg in calls), calls


def test_readme_demo_iins_exist_in_the_demo_registry():
    from server.demo_data import REGISTRY

    readme = (ROOT / "README.md").read_text()
    found = re.findall(r"\b\d{12}\b", readme)
    assert len(found) >= 12
    assert [n for n in found if n not in REGISTRY] == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("KEZEK_PORT", "eighty"), ("KEZEK_OTP_MAX_ATTEMPTS", "5.5"), ("KEZEK_SMTP_STARTTLS", "maybe")],
)
def test_a_bad_setting_is_refused_with_its_name(tmp_path, variable, value):
    from server.config import ConfigurationError

    with pytest.raises(ConfigurationError, match=f"^{variable}=") as refused:
        load_settings({"KEZEK_VAR_DIR": str(tmp_path), variable: value})
    assert ";" not in str(refused.value)  # one problem, said once (not the defaults derived from it)


def test_settings_come_from_the_given_environment_only(tmp_path, monkeypatch):
    monkeypatch.setenv("KEZEK_PORT", "1234")
    settings = load_settings({"KEZEK_VAR_DIR": str(tmp_path), "KEZEK_HOST": "0.0.0.0"})
    assert settings.port == 8000 and settings.base_url == "http://0.0.0.0:8000"
    assert settings.upload_dir == tmp_path / "uploads" and load_settings().port == 1234
