"""Staff accounts: Argon2 password hashes, throttled log-ins, one department and one role
each. Accounts are created and managed from the command line (`kezek staff …`)."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server import runtime
from server.auth import ratelimit
from server.auth.principal import Principal
from server.domain.roles import KINDERGARTEN_ROLES, ROLES, Role
from server.errors import DomainError
from server.models import Department, Kindergarten, StaffAccount

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not-a-password-of-anyone")


def principal_of(account: StaffAccount) -> Principal:
    return Principal(
        kind="staff",
        name=account.username,
        department_id=account.department_id,
        role=account.role,
        staff_id=account.id,
        kindergarten_id=account.kindergarten_id,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError("staff.password_short", "password", min=MIN_PASSWORD)


async def create(
    username: str, full_name: str, role: str, department_code: str, password: str, kindergarten_code: str = ""
) -> StaffAccount:
    """A new account. A `kindergarten` account names its kindergarten, whose department
    it then belongs to (`department_code` may be left empty)."""
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise DomainError("staff.username", "username")
    if role not in ROLES:
        raise DomainError("staff.role", "role")
    kindergarten = None
    if Role(role) in KINDERGARTEN_ROLES:
        kindergarten = await Kindergarten.get_or_none(code=kindergarten_code.strip().upper()).prefetch_related(
            "department"
        )
        if kindergarten is None:
            raise DomainError("kindergarten.required", "kindergarten")
        department_code = department_code or kindergarten.department.code
    department = await Department.get_or_none(code=department_code.strip().upper())
    if department is None or (kindergarten is not None and kindergarten.department_id != department.id):
        raise DomainError("department.unknown", "department")
    _check_password(password)
    if await StaffAccount.filter(username=username).exists():
        raise DomainError("staff.exists", "username")
    return await StaffAccount.create(
        username=username,
        full_name=full_name.strip() or username,
        role=role,
        department=department,
        kindergarten=kindergarten,
        password_hash=_hasher.hash(password),
    )


async def set_password(username: str, password: str) -> None:
    _check_password(password)
    updated = await StaffAccount.filter(username=username.strip().lower()).update(
        password_hash=_hasher.hash(password), failed_logins=0, locked_until=None
    )
    if not updated:
        raise DomainError("staff.unknown", "username")


async def set_active(username: str, active: bool) -> None:
    if not await StaffAccount.filter(username=username.strip().lower()).update(active=active):
        raise DomainError("staff.unknown", "username")


async def authenticate(username: str, password: str, ip: str) -> StaffAccount:
    """The account, or DomainError("staff.login") — the same for a wrong name, a wrong
    password and a disabled account. Attempts are limited per account and per IP."""
    settings = runtime.get().settings
    name = username.strip().lower()[:64]
    limit = settings.staff_logins_per_15_minutes
    by_name = await ratelimit.hit(f"kezek:staff-login:user:{name}", limit, 900)
    by_ip = await ratelimit.hit(f"kezek:staff-login:ip:{ratelimit.ip_key(ip)}", limit * 3, 900)
    if not (by_name and by_ip):
        raise DomainError("staff.throttled", "username")
    account = await StaffAccount.get_or_none(username=name)
    try:
        _hasher.verify(account.password_hash if account else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        if account is not None:
            await StaffAccount.filter(id=account.id).update(failed_logins=account.failed_logins + 1)
        raise DomainError("staff.login", "username") from None
    if account is None or not account.active:
        raise DomainError("staff.login", "username")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.failed_logins = 0
    account.last_login_at = datetime.now(UTC)
    await account.save()
    return account


async def active_account(account_id: int) -> StaffAccount | None:
    return await StaffAccount.get_or_none(id=account_id, active=True)
