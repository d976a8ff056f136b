"""The process supervisor of `kezek run`, the browser tests and the benchmarks: children
started with their log, waited for, and stopped (SIGTERM, then SIGKILL) in every case;
`kezek run` stops its children however it is asked to stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.config import ROOT
from server.supervisor import ChildExited, HttpCheck, NotReady, Supervisor, free_port
from tests.helpers import cli_env

PYTHON = sys.executable


def test_a_child_writes_to_its_log_and_is_stopped_on_leaving(tmp_path):
    log = tmp_path / "child.log"
    code = "import sys, time; print('started', flush=True); print('oops', file=sys.stderr, flush=True); time.sleep(60)"
    with Supervisor(env={"PATH": "/usr/bin:/bin"}) as children:
        child = children.start("sleeper", [PYTHON, "-c", code], log=log)
        children.wait_until(lambda: "oops" in log.read_text(), timeout=20)
        assert "sleeper" in children and child.running()
    assert child.returncode is not None and child.returncode < 0  # ended by SIGTERM
    assert log.read_text().split() == ["started", "oops"]
    assert "sleeper" not in children


def test_the_log_is_appended_to_when_asked(tmp_path):
    log = tmp_path / "child.log"
    log.write_text("before\n")
    with Supervisor() as children:
        echo = children.start("echo", [PYTHON, "-c", "print('after')"], log=log, append=True)
        echo.process.wait(timeout=20)
    assert log.read_text().split() == ["before", "after"]


def test_waiting_fails_at_once_when_a_child_dies(tmp_path):
    log = tmp_path / "dying.log"
    with Supervisor() as children:
        children.start("dying", [PYTHON, "-c", "import sys; print('no database'); sys.exit(3)"], log=log)
        started = time.monotonic()
        with pytest.raises(ChildExited, match=r"dying .* exited with 3") as caught:
            children.wait_until(lambda: False, timeout=60)
        assert time.monotonic() - started < 30
        assert caught.value.child.name == "dying"
        assert "no database" in str(caught.value)


def test_waiting_for_http_times_out_with_what_it_got():
    port = free_port()
    with Supervisor() as children:
        children.start("idle", [PYTHON, "-c", "import time; time.sleep(60)"])
        with pytest.raises(
            NotReady, match=rf"http://127.0.0.1:{port}/healthz did not answer 200 within 0.5 s \(last: "
        ):
            children.wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=0.5)


def test_waiting_for_http_returns_once_the_child_answers(tmp_path):
    port = free_port()
    (tmp_path / "healthz").write_text("ok")
    command = [PYTHON, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with Supervisor() as children:
        children.start("web", command, log=tmp_path / "web.log")
        children.wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
        children.check()


@pytest.mark.parametrize("new_session", [False, True], ids=["kill", "kill-the-group"])
def test_a_child_that_ignores_sigterm_is_killed(tmp_path, new_session):
    heard: list[str] = []
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    children = Supervisor(new_session=new_session, stop_timeout=0.5, notify=heard.append)
    log = tmp_path / "stubborn.log"
    child = children.start("stubborn", [PYTHON, "-c", code], log=log)
    children.wait_until(lambda: "ready" in log.read_text(), timeout=20)  # its handler is installed
    started = time.monotonic()
    assert children.stop("stubborn") is child
    assert time.monotonic() - started < 10
    assert child.returncode == -9
    assert heard == ["stubborn did not stop in 0.5 s: killing it"]
    assert children.stop("stubborn") is None


def test_watch_returns_the_child_that_ended_and_stop_all_stops_the_others():
    with Supervisor() as children:
        children.start("long", [PYTHON, "-c", "import time; time.sleep(60)"])
        children.start("short", [PYTHON, "-c", "pass"])
        ended = children.watch(interval=0.05)
        assert ended is not None and ended.name == "short" and ended.returncode == 0
    with Supervisor() as children:
        children.start("long", [PYTHON, "-c", "import time; time.sleep(60)"])
        assert [c.returncode for c in children.stop_all()] == [-15]


def test_a_name_is_started_once():
    with Supervisor() as children:
        children.start("one", [PYTHON, "-c", "import time; time.sleep(60)"])
        with pytest.raises(RuntimeError, match="already supervised"):
            children.start("one", [PYTHON, "-c", "pass"])


def _started_for(var_dir: str) -> dict[int, str]:
    """pid → command line of every live process of the Kezek that uses `var_dir`: those
    started with it as KEZEK_VAR_DIR, and its embedded Redis, which works in it (and
    writes its process title over its environment)."""
    wanted = f"KEZEK_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            proc = Path("/proc", entry)
            if wanted in (proc / "environ").read_bytes().split(b"\0") or os.readlink(proc / "cwd") == var_dir:
                found[int(entry)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


@pytest.mark.parametrize(
    ("signum", "when"),
    [(signal.SIGTERM, "started"), (signal.SIGINT, "serving")],
    ids=["SIGTERM-as-the-children-start", "SIGINT-once-serving"],
)
def test_kezek_run_stops_everything_it_started_when_only_it_is_signalled(tmp_path, signum, when):
    var_dir = str(tmp_path / "var")
    port = free_port()
    env = cli_env(KEZEK_VAR_DIR=var_dir, KEZEK_PORT=str(port), KEZEK_SECRET_KEY="test")
    log = tmp_path / "run.log"
    with log.open("wb") as output:
        # A session of its own: no signal of ours reaches its children, only the one sent.
        run = subprocess.Popen(
            [PYTHON, "-m", "server.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        healthz = HttpCheck(f"http://127.0.0.1:{port}/healthz")
        while not (
            any("server.cli worker" in command for command in _started_for(var_dir).values())
            and (when == "started" or healthz())
        ):
            assert run.poll() is None, f"kezek run exited with {run.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, (
                f"kezek run did not start in time (last: {healthz.last}):\n{log.read_text()}"
            )
            time.sleep(0.05)
        started = _started_for(var_dir)
        assert all(
            any(what in command for command in started.values()) for what in ("server.cli web", "redis-server")
        ), started
        os.kill(run.pid, signum)
        assert run.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 15
        while (left := _started_for(var_dir)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"still running after kezek run ended: {left}\n{log.read_text()}"
    finally:
        for pid in _started_for(var_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.wait(timeout=10)
