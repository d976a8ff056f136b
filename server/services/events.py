"""The application's history (R33) and its state machine's writer: every transition and
every other recorded fact is an event row, written in the change's transaction."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from server.domain import states
from server.domain.states import State, Transition
from server.errors import DomainError
from server.models import Application, ApplicationEvent
from server.services import notifications, queue

# R34: the transitions the parent is told of, and the message kind.
TOLD = {
    Transition.WITHDRAW: "closed",
    Transition.CLOSE: "closed",
    Transition.SUSPEND: "suspended",
    Transition.RESTORE: "restored",
}


async def record_event(
    application: Application,
    kind: str,
    actor: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> ApplicationEvent:
    return await ApplicationEvent.create(
        application=application,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        data=data or {},
    )


async def transition(
    application: Application, move: Transition, actor: str, reason: str = "", *, tell: bool = True
) -> bool:
    """Applies one transition of the state machine and records it (R33). Returns True
    when it moved the application's cohort: the caller then asks for the cohort's
    refresh after commit (`queue.request_refresh_for`)."""
    before = State(application.state)
    after = states.apply(before, move)
    application.state = after.value
    if after not in states.ACTIVE:
        application.active_key = None  # R5: the child may apply again
    if after is not State.SUSPENDED:
        application.suspended_until = None
    if before is State.OFFERED and after is not State.ENROLLED:
        # Leaving an offer any other way (staff suspend, withdrawal…) gives the seat back.
        from server.services import referrals

        await referrals.release(application, actor, reason)
    event = await record_event(
        application, move.value, actor, from_state=before.value, to_state=after.value, reason=reason
    )
    message = TOLD.get(move) if tell else None
    if message and application.registration_number:  # R34, sent after commit (notifications.deliver_soon)
        await notifications.queue_for_application(
            application, message, str(event.id), number=application.registration_number
        )
    return await queue.note_transition(application, move)


async def move(application_id: int, move_: Transition, actor: str, reason: str = "") -> Application:
    """One transition of a registered application (suspend, restore, offer, withdraw,
    close…) by staff or the system, recorded (R33), with its cohort refreshed."""
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if application is None:
            raise DomainError("application.unknown")
        try:
            moved = await transition(application, move_, actor, reason)
        except states.IllegalTransition:
            raise DomainError("application.transition") from None
        application.version += 1
        await application.save()
    if moved:
        await queue.request_refresh_for(application)
    await notifications.deliver_soon(application.id)
    return application
