"""`kezek deadlines --as-of DAY`: the daily jobs as of a day, from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

from server.demo_data import BY_KEY
from server.domain.deadlines import local_date
from tests.helpers import cli_env, run_cli


def test_deadlines_as_of_a_day_runs_the_daily_jobs(tmp_path):
    env = cli_env(KEZEK_VAR_DIR=str(tmp_path), KEZEK_SECRET_KEY="test")
    assert run_cli(env, "migrate").returncode == 0
    seeded = run_cli(env, "seed")
    assert seeded.returncode == 0, seeded.stderr

    today = local_date(datetime.now(UTC), "Asia/Almaty").isoformat()
    early = run_cli(env, "deadlines")
    assert early.returncode == 0, early.stderr
    assert f"as of ALA {today}, AST {today}:" in early.stdout
    assert "0 closed at the maximum age (R31)" in early.stdout

    # Two seeded Almaty children were born in January 2021, 12 days apart: both are six
    # on the later one's birthday.
    assert (BY_KEY["q0c"].born.isoformat(), BY_KEY["q12c"].born.isoformat()) == ("2021-01-02", "2021-01-14")
    sixth = BY_KEY["q12c"].born.replace(year=2027).isoformat()
    late = run_cli(env, "deadlines", "--as-of", sixth)
    assert late.returncode == 0, late.stderr
    assert f"as of ALA {sixth}, AST {sixth}:" in late.stdout
    assert "2 closed at the maximum age (R31)" in late.stdout
    again = run_cli(env, "deadlines", "--as-of", sixth)
    assert "0 closed at the maximum age (R31)" in again.stdout  # once

    wrong = run_cli(env, "deadlines", "--as-of", "15.01.2027")
    assert wrong.returncode != 0 and "--as-of takes a date like" in wrong.stderr


def test_make_run_prints_the_demo_accounts_and_the_walk(base_settings, capsys):
    from server.cli import _print_demo
    from server.demo_data import DEMO_PASSWORD

    _print_demo(base_settings)
    printed = capsys.readouterr().out
    assert f"/staff/login (password {DEMO_PASSWORD})" in printed
    assert "ast-kg01   kindergarten of AST-KG01" in printed and "ast-admin  admin of AST" in printed
    assert "kezek deadlines --as-of 20" in printed and "/dev/outbox" in printed
    assert BY_KEY["q5p"].iin in printed and BY_KEY["asel"].iin in printed
