"""One-time passwords: 6 digits, keyed hash only, limited lifetime and tries, sends
rate-limited per phone and per IP (Redis counters)."""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from server import runtime
from server.auth import ratelimit
from server.auth.keyed import keyed
from server.errors import DomainError
from server.models import OtpChallenge


def _hash(challenge_id: uuid.UUID, code: str) -> str:
    return keyed(f"otp:{challenge_id}:{code}")


async def check_send_allowed(phone: str, ip: str) -> None:
    settings = runtime.get().settings
    phone_ok = await ratelimit.hit(f"kezek:otp:phone:{phone}", settings.otp_sends_per_phone_per_hour, 3600)
    ip_ok = await ratelimit.hit(f"kezek:otp:ip:{ratelimit.ip_key(ip)}", settings.otp_sends_per_ip_per_hour, 3600)
    if not (phone_ok and ip_ok):
        raise DomainError("otp.rate_limited", "phone")


async def create(phone: str, purpose: str, subject: str) -> tuple[OtpChallenge, str]:
    """A new challenge and its code (the code is returned once, to be sent, never stored)."""
    settings = runtime.get().settings
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge_id = uuid.uuid4()
    challenge = await OtpChallenge.create(
        id=challenge_id,
        phone=phone,
        purpose=purpose,
        subject=subject,
        code_hash=_hash(challenge_id, code),
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.otp_ttl_seconds),
    )
    return challenge, code


async def verify(challenge_id: uuid.UUID, code: str, purpose: str, subject: str) -> OtpChallenge:
    """Consumes the challenge when the code is right; raises a DomainError otherwise.

    The attempt counter is bumped atomically in the database before the comparison, so
    parallel guesses cannot get more than the allowed number of tries.
    """
    settings = runtime.get().settings
    code = (code or "").strip()
    if not code:
        raise DomainError("otp.required", "code")
    challenge = await OtpChallenge.get_or_none(id=challenge_id, purpose=purpose, subject=subject)
    if challenge is None or challenge.consumed_at is not None:
        raise DomainError("otp.expired", "code")
    if challenge.expires_at <= datetime.now(UTC):
        raise DomainError("otp.expired", "code")
    from tortoise.expressions import F

    updated = await OtpChallenge.filter(
        id=challenge_id, consumed_at=None, attempts__lt=settings.otp_max_attempts
    ).update(attempts=F("attempts") + 1)
    if not updated:
        raise DomainError("otp.exhausted", "code")
    if not hmac.compare_digest(challenge.code_hash, _hash(challenge_id, code)):
        if challenge.attempts + 1 >= settings.otp_max_attempts:
            raise DomainError("otp.exhausted", "code")
        raise DomainError("otp.invalid", "code")
    consumed = await OtpChallenge.filter(id=challenge_id, consumed_at=None).update(consumed_at=datetime.now(UTC))
    if not consumed:
        raise DomainError("otp.expired", "code")
    return challenge
