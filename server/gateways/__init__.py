"""Outside systems, each behind a Protocol with an embedded default and a real adapter."""

from __future__ import annotations

from dataclasses import dataclass

from server.config import Settings
from server.gateways.base import GatewayError
from server.gateways.email import EmailGateway, OutboxEmail, SmtpEmail
from server.gateways.registry import DemoRegistry, HttpRegistry, Registry
from server.gateways.sms import HttpSms, OutboxSms, SmsGateway
from server.gateways.storage import LocalStorage, Storage

__all__ = ["GatewayError", "Gateways", "build_gateways"]


@dataclass
class Gateways:
    registry: Registry
    sms: SmsGateway
    email: EmailGateway
    storage: Storage

    async def aclose(self) -> None:
        """Closes pooled connections of the adapters that keep them."""
        for adapter in (self.registry, self.sms, self.email):
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()


def build_gateways(settings: Settings) -> Gateways:
    if settings.registry_backend == "http":
        registry: Registry = HttpRegistry(settings.registry_url, settings.registry_token)
    elif settings.registry_backend == "demo":
        registry = DemoRegistry()
    else:
        raise RuntimeError(f"unknown KEZEK_REGISTRY_BACKEND {settings.registry_backend!r}")
    if settings.sms_backend == "http":
        sms: SmsGateway = HttpSms(settings.sms_url, settings.sms_token, settings.sms_sender)
    elif settings.sms_backend == "outbox":
        sms = OutboxSms()
    else:
        raise RuntimeError(f"unknown KEZEK_SMS_BACKEND {settings.sms_backend!r}")
    if settings.email_backend == "smtp":
        email: EmailGateway = SmtpEmail(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sender=settings.email_from,
        )
    elif settings.email_backend == "outbox":
        email = OutboxEmail()
    else:
        raise RuntimeError(f"unknown KEZEK_EMAIL_BACKEND {settings.email_backend!r}")
    return Gateways(registry=registry, sms=sms, email=email, storage=LocalStorage(settings.upload_dir))
