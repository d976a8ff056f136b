"""Staff accounts: the command line, Argon2, throttled log-ins, shorter sessions."""

from __future__ import annotations

import subprocess
import time

import pytest

from server.auth import staff
from server.auth.sessions import COOKIE, dumps_for_test
from server.errors import DomainError
from server.models import StaffAccount
from tests.helpers import cli_env, run_cli
from tests.helpers.graphql import gql

PASSWORD = "a long enough password"
VIEWER = "{ viewer { kind name role departmentCode } }"


def test_the_command_line_creates_and_manages_accounts(tmp_path):
    env = cli_env(KEZEK_VAR_DIR=str(tmp_path), KEZEK_SECRET_KEY="test")

    def kezek(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return run_cli(env, *args, stdin=stdin)

    assert kezek("migrate").returncode == 0
    assert kezek("seed").returncode == 0
    made = kezek(
        "staff",
        "create",
        "Aida",
        "--role",
        "verifier",
        "--department",
        "ast",
        "--name",
        "Аида Сейтова",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created aida (verifier, department AST)" in made.stdout
    short = kezek("staff", "create", "bob", "--department", "AST", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    again = kezek("staff", "create", "aida", "--department", "AST", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "already an account" in again.stderr
    assert kezek("staff", "disable", "aida").returncode == 0
    listed = kezek("staff", "list")
    assert "aida\tverifier\tAST\t-\tdisabled" in listed.stdout
    kg = kezek(
        "staff",
        "create",
        "kg01",
        "--role",
        "kindergarten",
        "--kindergarten",
        "ast-kg01",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert kg.returncode == 0 and "created kg01 (kindergarten, department AST, kindergarten AST-KG01)" in kg.stdout
    nowhere = kezek("staff", "create", "kg99", "--role", "kindergarten", "--password-stdin", stdin=PASSWORD + "\n")
    assert nowhere.returncode != 0 and "names its kindergarten" in nowhere.stderr
    assert "kg01\tkindergarten\tAST\tAST-KG01\tactive" in kezek("staff", "list").stdout
    assert PASSWORD not in listed.stdout + made.stdout


async def test_passwords_are_argon2_and_logins_are_throttled(reference, rt):
    account = await staff.create("olga", "Ольга", "operator", "AST", PASSWORD)
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
    assert (await staff.authenticate("OLGA ", PASSWORD, "10.1.1.1")).id == account.id
    for _ in range(rt.settings.staff_logins_per_15_minutes - 1):
        with pytest.raises(DomainError) as err:
            await staff.authenticate("olga", "wrong password!", "10.1.1.1")
        assert err.value.code == "staff.login"
    with pytest.raises(DomainError) as err:
        await staff.authenticate("olga", PASSWORD, "10.1.1.1")  # right, but too many tries
    assert err.value.code == "staff.throttled"
    assert (await StaffAccount.get(id=account.id)).failed_logins == rt.settings.staff_logins_per_15_minutes - 1


async def test_unknown_and_disabled_accounts_get_the_same_answer(reference):
    await staff.create("olga", "Ольга", "operator", "AST", PASSWORD)
    await staff.set_active("olga", False)
    for name in ("olga", "nobody"):
        with pytest.raises(DomainError) as err:
            await staff.authenticate(name, PASSWORD, "10.1.1.2")
        assert err.value.code == "staff.login"


async def _staff_cookie(settings, account_id: int, logged_in: float, seen: float) -> str:
    now = int(time.time())
    return dumps_for_test(
        settings.secret_key,
        {"_c": now - 60, "_t": now - 5, "staff": {"id": account_id, "at": int(logged_in), "seen": int(seen)}},
    )


async def test_staff_sessions_are_shorter_than_parents(client, settings):
    account = await staff.create("olga", "Ольга", "operator", "AST", PASSWORD)
    now = time.time()
    client.cookies.set(COOKIE, await _staff_cookie(settings, account.id, now - 600, now - 30))
    assert (await gql(client, VIEWER))["data"]["viewer"] == {
        "kind": "staff",
        "name": "olga",
        "role": "operator",
        "departmentCode": "AST",
    }

    idle = settings.staff_session_idle_minutes * 60 + 5
    assert idle < settings.session_idle_minutes * 60  # shorter than a parent's
    client.cookies.set(COOKIE, await _staff_cookie(settings, account.id, now - 900, now - idle))
    assert (await gql(client, VIEWER))["data"]["viewer"]["kind"] == "anonymous"

    client.cookies.set(
        COOKIE, await _staff_cookie(settings, account.id, now - settings.staff_session_max_hours * 3600 - 5, now - 10)
    )
    assert (await gql(client, VIEWER))["data"]["viewer"]["kind"] == "anonymous"

    await staff.set_active("olga", False)  # a disabled account is out at once
    client.cookies.set(COOKIE, await _staff_cookie(settings, account.id, now - 60, now - 10))
    assert (await gql(client, VIEWER))["data"]["viewer"]["kind"] == "anonymous"
