"""Child processes started, waited for and stopped in one way, by everything that runs
Kezek as separate processes: `kezek run` (web server + worker), the browser tests (a
real server for Playwright) and the benchmarks (bench/_server.py).

    with Supervisor(env=env, cwd=ROOT) as children:
        children.start("web", [sys.executable, "-m", "server.cli", "web"], log=var / "web.log")
        children.start("worker", [sys.executable, "-m", "server.cli", "worker"], log=var / "worker.log")
        children.wait_for_http(f"{base_url}/healthz")
        ...
    # leaving the block stops every child: SIGTERM, a grace period, then SIGKILL

Waiting fails early, with `ChildExited` (and the end of the child's log), as soon as a
child dies, rather than at the timeout. Only the standard library is used, and HTTP
checks go straight to the child (no proxy from the environment). `free_port()` picks the
port a child is to listen on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["Child", "ChildExited", "HttpCheck", "NotReady", "Supervisor", "SupervisorError", "free_port"]

# HTTP checks only ever talk to a child on this machine: never through a proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SupervisorError(RuntimeError):
    """Something about the supervised children went wrong."""


@dataclass(eq=False)
class Child:
    """One started process: its name, command, log file (None: it writes to our terminal)."""

    name: str
    command: tuple[str, ...]
    process: subprocess.Popen[bytes]
    log: Path | None

    @property
    def returncode(self) -> int | None:
        """None while it runs; its exit status (negative: the signal) once it has ended."""
        return self.process.poll()

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self.log is None:
            return ""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ChildExited(SupervisorError):
    """A child ended while it was expected to run (while waiting for readiness)."""

    def __init__(self, child: Child) -> None:
        self.child = child
        message = f"{child.name} ({' '.join(child.command)}) exited with {child.returncode}"
        tail = child.log_tail()
        super().__init__(f"{message}; the end of {child.log}:\n{tail}" if tail else message)


class NotReady(SupervisorError):
    """What was waited for did not happen within the timeout."""


class HttpCheck:
    """A readiness predicate: does `url` answer with `status`? `last` says what it got."""

    def __init__(self, url: str, *, status: int = 200, timeout: float = 2.0) -> None:
        self.url = url
        self.status = status
        self.timeout = timeout
        self.last = "no attempt yet"

    def __call__(self) -> bool:
        try:
            with _DIRECT.open(self.url, timeout=self.timeout) as response:
                self.last = str(response.status)
                return bool(response.status == self.status)
        except urllib.error.HTTPError as exc:
            self.last = str(exc.code)
            exc.close()
            return exc.code == self.status
        except OSError as exc:
            self.last = repr(exc)
            return False


class Supervisor:
    """Starts named children, waits until they are ready and stops them all.

    `env` is the base environment of every child (None: this process's environment at
    the time of `start`); `start(env=...)` adds to it. `new_session` starts each child
    in a session (and process group) of its own: Ctrl-C at the terminal then does not
    reach it, and the SIGKILL of last resort goes to its whole group (uvicorn's worker
    processes too). `stop_timeout` is how long each child has to exit after SIGTERM,
    `kill_timeout` how long to wait for it after SIGKILL. `notify` hears about kills.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        new_session: bool = False,
        stop_timeout: float = 10.0,
        kill_timeout: float = 5.0,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.env: dict[str, str] | None = dict(env) if env is not None else None
        self.cwd = cwd
        self.new_session = new_session
        self.stop_timeout = stop_timeout
        self.kill_timeout = kill_timeout
        self.notify = notify
        self._children: dict[str, Child] = {}

    # -- the children -------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._children

    def start(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        append: bool = False,
    ) -> Child:
        """Starts `command` as the child `name`. With `log`, its stdout and stderr go to
        that file (truncated, or appended to with `append`); without, to ours."""
        if name in self._children:
            raise SupervisorError(f"a child named {name} is already supervised; stop it first")
        base = self.env if self.env is not None else os.environ
        child_env = {**base, **(env or {})}
        with contextlib.ExitStack() as stack:
            output = stack.enter_context(log.open("ab" if append else "wb")) if log is not None else None
            process = subprocess.Popen(  # the child keeps its own copy of the log's descriptor
                list(command),
                cwd=self.cwd,
                env=child_env,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=self.new_session,
            )
        child = Child(name, tuple(command), process, log)
        self._children[name] = child
        return child

    def check(self) -> None:
        """Raises `ChildExited` for the first child that is no longer running."""
        exited = self._exited()
        if exited is not None:
            raise ChildExited(exited)

    def _exited(self) -> Child | None:
        return next((child for child in self._children.values() if not child.running()), None)

    # -- waiting ------------------------------------------------------------------------

    def wait_until(
        self,
        ready: Callable[[], bool],
        *,
        timeout: float = 30.0,
        interval: float = 0.2,
        what: str = "",
    ) -> None:
        """Polls `ready()` until it holds; `ChildExited` at once if a child dies,
        `NotReady` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            if ready():
                return
            time.sleep(interval)
        raise NotReady(what or f"not ready within {timeout:g} s")

    def wait_for_http(self, url: str, *, status: int = 200, timeout: float = 30.0, interval: float = 0.2) -> None:
        """Waits until `url` answers with `status` (e.g. a /healthz)."""
        probe = HttpCheck(url, status=status)
        try:
            self.wait_until(probe, timeout=timeout, interval=interval)
        except NotReady:
            raise NotReady(f"{url} did not answer {status} within {timeout:g} s (last: {probe.last})") from None

    def watch(self, *, interval: float = 0.5) -> Child:
        """Blocks while every child runs; returns the one that ended first."""
        while (exited := self._exited()) is None:
            time.sleep(interval)
        return exited

    # -- stopping -----------------------------------------------------------------------

    def stop(self, name: str) -> Child | None:
        """Stops one child (SIGTERM, then SIGKILL after `stop_timeout`) and forgets it."""
        child = self._children.pop(name, None)
        if child is not None:
            self._terminate([child])
        return child

    def stop_all(self) -> list[Child]:
        """Sends SIGTERM to every child first, then waits for each in turn (SIGKILL
        after `stop_timeout`); returns them, ended, in the order they were started."""
        children = list(self._children.values())
        self._children.clear()
        self._terminate(children)
        return children

    def _terminate(self, children: list[Child]) -> None:
        for child in children:
            if child.running():
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
        for child in children:
            try:
                child.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                if self.notify is not None:
                    self.notify(f"{child.name} did not stop in {self.stop_timeout:g} s: killing it")
                self._kill(child)

    def _kill(self, child: Child) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.new_session:
                os.killpg(child.process.pid, signal.SIGKILL)
            else:
                child.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=self.kill_timeout)

    # -- as a context manager -----------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()
