"""Messages to parents (R34–R36): an outbox row per message and channel, keyed by the
event so that a retry never makes a second one; delivery is a job."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server import runtime
from server.db import flat_ints
from server.domain.messages import Channel, DeliveryState, sent_by
from server.gateways import GatewayError
from server.i18n import N_, gettext
from server.models import Application, Contact, Notification

log = logging.getLogger("kezek.notifications")

# Each SMS text fits one segment (70 Cyrillic characters) with realistic values.
TEXTS = {
    "otp": (
        N_("Kezek: one-time password"),
        N_("Kezek code: %(code)s. Do not tell it to anyone."),
    ),
    "registered": (
        N_("Kezek: application %(number)s registered"),
        N_("Kezek: application %(number)s registered, queue number %(queue)s."),
    ),
    "closed": (
        N_("Kezek: application closed"),
        N_("Kezek: application %(number)s is closed and left the queue."),
    ),
    "suspended": (
        N_("Kezek: application suspended"),
        N_("Kezek: application %(number)s is suspended for now (stop list)."),
    ),
    "restored": (
        N_("Kezek: application restored"),
        N_("Kezek: application %(number)s is back in the queue at its place."),
    ),
    "offered": (
        N_("Kezek: a kindergarten place is offered"),
        N_("Kezek: a place in %(kindergarten)s. Answer by %(deadline)s in the cabinet."),
    ),
    "offer_expiring": (
        N_("Kezek: the offer ends tomorrow"),
        N_("Kezek: the place in %(kindergarten)s waits until %(deadline)s only."),
    ),
    "referral_expired": (
        N_("Kezek: the referral expired"),
        N_("Kezek: referral to %(kindergarten)s expired; stop list till %(until)s."),
    ),
    "referral_cancelled": (
        N_("Kezek: the referral was cancelled"),
        N_("Kezek: referral to %(kindergarten)s cancelled. See the cabinet."),
    ),
    "enrolled": (
        N_("Kezek: the child is enrolled"),
        N_("Kezek: the child is enrolled in %(kindergarten)s. Application closed."),
    ),
    "queue_moved": (
        N_("Kezek: your queue number changed"),
        N_("Kezek: %(number)s is now number %(queue)s in the queue."),
    ),
    "benefit_confirmed": (
        N_("Kezek: benefit confirmed"),
        N_("Kezek: your benefit for application %(number)s is confirmed."),
    ),
    "benefit_rejected": (
        N_("Kezek: benefit not confirmed"),
        N_("Kezek: your benefit for %(number)s is rejected. See the cabinet."),
    ),
    # R17: the daily re-check no longer finds a registry-backed benefit.
    "benefit_lost": (
        N_("Kezek: benefit no longer in the registry"),
        N_("Kezek: the registry no longer shows the benefit of %(number)s."),
    ),
}


def render(kind: str, language: str, **params: object) -> tuple[str, str]:
    subject, body = TEXTS[kind]
    return gettext(subject, language, **params), gettext(body, language, **params)


async def _create(event_key: str, **fields: Any) -> Notification | None:
    """Creates the outbox row unless this event already has one."""
    existing = await Notification.get_or_none(event_key=event_key)
    if existing is not None:
        return None
    try:
        return await Notification.create(event_key=event_key, **fields)
    except IntegrityError:
        return None


async def queue_otp(
    application: Application | None, phone: str, code: str, challenge_id: str, language: str
) -> Notification | None:
    subject, body = render("otp", language, code=code)
    return await _create(
        f"otp:{challenge_id}",
        application=application,
        kind="otp",
        channel=Channel.SMS.value,
        recipient=phone,
        language=language,
        subject=subject,
        body=body,
    )


async def queue_for_application(
    application: Application, kind: str, event_id: str, **params: object
) -> list[Notification]:
    """One row per channel the parent chose, in the parent's language."""
    language = application.notify_language
    subject, body = render(kind, language, **params)
    contacts = await Contact.filter(application=application, confirmed_at__not_isnull=True)
    phones = [c.value for c in contacts if c.kind == "phone"]
    emails = [c.value for c in contacts if c.kind == "email"]
    created = []
    for channel in sent_by(application.notify_channel):
        recipients = phones if channel == Channel.SMS else emails
        if not recipients:
            continue
        row = await _create(
            f"{kind}:{event_id}:{channel.value}",
            application=application,
            kind=kind,
            channel=channel.value,
            recipient=recipients[0],
            language=language,
            subject=subject,
            body=body,
        )
        if row is not None:
            created.append(row)
    return created


async def queue_for_many(
    application_ids: list[int], kind: str, events: dict[int, tuple[str, dict[str, object]]]
) -> list[int]:
    """`queue_for_application` for many applications at once (an allocation run's
    offers): `events` maps each application to its event id and message values.
    Returns the new rows' ids, to deliver after commit."""
    applications = await Application.filter(id__in=application_ids).values("id", "notify_channel", "notify_language")
    recipients: dict[tuple[int, str], str] = {}
    for contact in await Contact.filter(application_id__in=application_ids, confirmed_at__not_isnull=True).order_by(
        "kind", "rank"
    ):
        recipients.setdefault((contact.application_id, contact.kind), contact.value)
    rows = []
    for application in applications:
        event_id, params = events[application["id"]]
        language = application["notify_language"]
        subject, body = render(kind, language, **params)
        for channel in sent_by(application["notify_channel"]):
            recipient = recipients.get((application["id"], "phone" if channel == Channel.SMS else "email"))
            if recipient is None:
                continue
            rows.append(
                Notification(
                    event_key=f"{kind}:{event_id}:{channel.value}",
                    application_id=application["id"],
                    kind=kind,
                    channel=channel.value,
                    recipient=recipient,
                    language=language,
                    subject=subject,
                    body=body,
                )
            )
    return await _insert_many(rows)


async def _insert_many(rows: list[Notification]) -> list[int]:
    """Outbox rows written at once, a row whose event already has one skipped; the new
    rows' ids. On PostgreSQL one INSERT … SELECT FROM unnest … RETURNING per 5,000."""
    if not rows:
        return []
    ids: list[int] = []
    async with in_transaction() as conn:
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            if conn.capabilities.dialect == "postgres":
                columns = [
                    [getattr(r, name) for r in chunk]
                    for name in (
                        "event_key",
                        "application_id",
                        "kind",
                        "channel",
                        "recipient",
                        "language",
                        "subject",
                        "body",
                    )
                ]
                found = await conn.execute_query_dict(
                    "INSERT INTO notification (event_key, application_id, kind, channel, recipient, language, subject, "
                    "body, state, attempts, last_error, provider_id, created_at) "
                    "SELECT t.k, t.a, t.n, t.c, t.r, t.l, t.s, t.b, $9, 0, '', '', now() "
                    "FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
                    "$8::text[]) AS t(k, a, n, c, r, l, s, b) ON CONFLICT (event_key) DO NOTHING RETURNING id",
                    [*columns, DeliveryState.PENDING.value],
                )
                ids += [int(row["id"]) for row in found]
                continue
            await Notification.bulk_create(chunk, ignore_conflicts=True, using_db=conn)
            ids += await flat_ints(
                Notification.filter(event_key__in=[r.event_key for r in chunk])
                .using_db(conn)
                .values_list("id", flat=True)
            )
    return ids


async def deliver_soon(application_id: int) -> None:
    """After commit: queue the delivery of the application's pending messages (the
    sweeper would find them too, only later)."""
    from server.services import jobs

    pending = await flat_ints(
        Notification.filter(application_id=application_id, state=DeliveryState.PENDING.value).values_list(
            "id", flat=True
        )
    )
    for notification_id in pending:
        await jobs.enqueue("deliver_notification", notification_id, job_id=jobs.deliver_job_id(notification_id))


class DeliveryDeferred(Exception):
    """The gateway failed in a way worth retrying."""


async def give_up(notification_id: int) -> str:
    """Out of tries: a row still pending fails for good. Returns the state it ends in."""
    await Notification.filter(id=notification_id, state=DeliveryState.PENDING.value).update(
        state=DeliveryState.FAILED.value
    )
    return DeliveryState.FAILED.value


async def deliver(notification_id: int) -> str:
    """Sends one outbox row once. Returns its state; raises DeliveryDeferred to retry.

    The provider gets the row's event key as an idempotency key, so a retry after a
    crash between sending and recording is dropped by the provider, not sent twice.
    """
    row = await Notification.get_or_none(id=notification_id)
    if row is None or row.state == DeliveryState.SENT:
        return DeliveryState.SENT.value if row else "missing"
    gateways = runtime.get().gateways
    try:
        if row.channel == Channel.SMS:
            provider_id = await gateways.sms.send(row.recipient, row.body, idempotency_key=row.event_key)
        else:
            provider_id = await gateways.email.send(row.recipient, row.subject, row.body, idempotency_key=row.event_key)
    except GatewayError as exc:
        await Notification.filter(id=row.id).update(attempts=row.attempts + 1, last_error=str(exc)[:500])
        raise DeliveryDeferred(str(exc)) from exc
    except Exception as exc:
        await Notification.filter(id=row.id).update(
            attempts=row.attempts + 1, state=DeliveryState.FAILED.value, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        log.error("notification %s failed for good: %s", row.id, type(exc).__name__)
        return DeliveryState.FAILED.value
    await Notification.filter(id=row.id, state=DeliveryState.PENDING.value).update(
        state=DeliveryState.SENT.value,
        attempts=row.attempts + 1,
        provider_id=provider_id[:100],
        sent_at=datetime.now(UTC),
        last_error="",
    )
    return DeliveryState.SENT.value
