"""The referral's life (R27–R30, R33): the parent's answer, the kindergarten's
enrolment, staff cancellation, and the deadlines a cron checks.

Every move is one transition of `server.domain.referrals` under the referral's and the
application's row locks, recorded as an application event with actor, time and reason,
and audited when staff made it. A referral that closes without enrolment gives its seat
back (the cohort's allocation runs again); an expired or refused one puts the
application on the stop-list for the department's [10] days (R30), and the daily job
restores it at its original place. The deadline job is idempotent and catches up: what
fell due while the worker was off is expired (once) the next time it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.auth.principal import Principal
from server.db import flat_ints
from server.domain import referrals as rules
from server.domain.benefits import STANDING, ClaimStatus
from server.domain.deadlines import extended, local_date, passed, previous_working_day, working_deadline
from server.domain.ordering import BenefitClass
from server.domain.places import SeatState
from server.domain.referrals import ReferralMove, ReferralState
from server.domain.states import State, Transition
from server.errors import DomainError
from server.models import Application, BenefitClaim, Department, Group, Referral, Seat
from server.services import allocation, backoffice, benefits, events, notifications, queue

log = logging.getLogger("kezek.referrals")

SYSTEM = "system:deadlines"


@dataclass(frozen=True)
class Actor:
    """Who moves a referral: a parent in the cabinet, staff, or the system."""

    name: str
    ip: str = ""
    staff: bool = False


@dataclass
class Moved:
    """What one move did, for the follow-ups after commit."""

    referral: Referral
    application: Application
    seat_opened: bool = False
    queue_moved: bool = False


def chosen(referral: Referral) -> bool:
    """Whether the parent chose this kindergarten (listed it, or asked for any in the
    priority window): only then does refusing it cost the stop-list (R27)."""
    return referral.rank is not None or referral.window == "chosen"


def today_in(department: Department, as_of: date | None = None) -> date:
    return as_of or local_date(datetime.now(UTC), department.timezone)


# --- one move ------------------------------------------------------------------------


def _public_id(value: object) -> UUID:
    """A referral's public id from a caller; anything malformed is simply not known."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        raise DomainError("referral.unknown") from None


async def _move(
    referral_id: object,
    move: ReferralMove,
    actor: Actor,
    reason: str = "",
    *,
    check: Callable[[Referral, Application, Department], Awaitable[None]] | None = None,
    as_of: date | None = None,
    lookup: str = "public_id",
) -> Moved:
    key = _public_id(referral_id) if lookup == "public_id" else referral_id
    async with in_transaction():
        referral = await Referral.select_for_update().get_or_none(**{lookup: key})
        if referral is None:
            raise DomainError("referral.unknown")
        application = await Application.select_for_update().get(id=referral.application_id)
        department = await Department.get(id=referral.department_id)
        if check is not None:
            await check(referral, application, department)
        before = ReferralState(referral.state)
        try:
            after = rules.apply(before, move)
        except rules.IllegalReferralMove:
            raise DomainError("referral.move") from None
        today = today_in(department, as_of)
        now = datetime.now(UTC)
        result = Moved(referral, application)
        referral.state = after.value
        referral.version += 1
        if move is ReferralMove.ACCEPT:
            referral.present_by = working_deadline(today, department.presentation_working_days)
        if after not in rules.OPEN:
            referral.closed_at = now
            referral.reason = reason
            referral.open_application = None
            referral.open_seat = None
            result.seat_opened = await _close_seat(referral, filled=after is ReferralState.ENROLLED, actor=actor.name)
        await referral.save()
        await events.record_event(
            application,
            f"referral_{move.value}",
            actor.name,
            from_state=before.value,
            to_state=after.value,
            reason=reason,
            data={"referral": str(referral.public_id), "present_by": _iso(referral.present_by)},
        )
        if actor.staff:
            await _audit(actor, referral, "state", before.value, after.value, reason)
        result.queue_moved = await _follow(referral, application, department, move, actor, reason, today)
        application.version += 1
        await application.save()
    await _after_commit(result)
    return result


async def _close_seat(referral: Referral, *, filled: bool, actor: str) -> bool:
    """The referral's seat: filled by an enrolment, otherwise vacant again (and the
    cohort's allocation wanted). Returns True when the seat opened."""
    seat = await Seat.select_for_update().get(id=referral.seat_id)
    if filled:
        seat.state, seat.closed_at, seat.closed_by = SeatState.FILLED.value, datetime.now(UTC), actor
        await seat.save()
        group = await Group.select_for_update().get(id=referral.group_id)
        group.enrolled += 1
        await group.save()
        return False
    if seat.state != SeatState.OFFERED.value:
        return False
    seat.state = SeatState.OPEN.value
    await seat.save()
    await allocation.note_due(referral.department_id, referral.cohort)
    return True


async def _follow(
    referral: Referral,
    application: Application,
    department: Department,
    move: ReferralMove,
    actor: Actor,
    reason: str,
    today: date,
) -> bool:
    """What the referral's move does to the application (R30, R31), and the message
    (R34). Returns True when it moved the cohort."""
    state = ReferralState(referral.state)
    if state in rules.OPEN or State(application.state) is not State.OFFERED:
        return False
    kindergarten = (await referral.kindergarten).code
    if state is ReferralState.ENROLLED:
        moved = await events.transition(application, Transition.ENROL, actor.name, reason, tell=False)
        await notifications.queue_for_application(
            application, "enrolled", str(referral.public_id), kindergarten=kindergarten
        )
        return moved
    # Once accepted, the parent chose it whatever the window was.
    if rules.suspends(move, chosen=chosen(referral) or referral.present_by is not None):
        until = today + timedelta(days=department.stoplist_days)
        moved = await events.transition(application, Transition.SUSPEND, actor.name, reason or move.value, tell=False)
        application.suspended_until = until
        if move is not ReferralMove.DECLINE:  # the parent who declined knows; the others are told
            await notifications.queue_for_application(
                application,
                "referral_expired",
                str(referral.public_id),
                kindergarten=kindergarten,
                until=until.strftime("%d.%m.%Y"),
            )
        return moved
    moved = await events.transition(application, Transition.RETURN, actor.name, reason or move.value, tell=False)
    if move is ReferralMove.CANCEL:
        await notifications.queue_for_application(
            application, "referral_cancelled", str(referral.public_id), kindergarten=kindergarten
        )
    return moved


async def _after_commit(result: Moved) -> None:
    if result.queue_moved:
        await queue.request_refresh_for(result.application)
    if result.seat_opened:
        await allocation.request_run(result.referral.department_id, result.referral.cohort)
    await notifications.deliver_soon(result.application.id)


async def _audit(actor: Actor, referral: Referral, field: str, before: object, after: object, reason: str) -> None:
    await backoffice.audit_row(
        actor.name,
        actor.ip,
        referral.department_id,
        referral.application_id,
        "referral",
        referral.public_id,
        field,
        before,
        after,
        reason,
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


async def release(application: Application, actor: str, reason: str) -> None:
    """Inside a transaction that takes an offered application out of its offer another
    way (staff suspend it, the parent withdraws it): its open referral is cancelled and
    the seat given back. Nothing to do when the referral closed first."""
    referral = await Referral.select_for_update().get_or_none(open_application=application.id)
    if referral is None:
        return
    before = referral.state
    referral.state = ReferralState.CANCELLED.value
    referral.closed_at = datetime.now(UTC)
    referral.reason = reason
    referral.open_application = None
    referral.open_seat = None
    referral.version += 1
    await referral.save()
    await _close_seat(referral, filled=False, actor=actor)
    await events.record_event(
        application,
        "referral_cancel",
        actor,
        from_state=before,
        to_state=ReferralState.CANCELLED.value,
        reason=reason,
        data={"referral": str(referral.public_id)},
    )


# --- the parent ----------------------------------------------------------------------


def _parent_check(principal: Principal) -> Callable[[Referral, Application, Department], Awaitable[None]]:
    """The parent's own referral, answered before its deadline's day is over (checked
    under the row lock: the cron may not have expired it yet)."""

    async def check(referral: Referral, application: Application, department: Department) -> None:
        if application.id not in principal.cabinet_ids:
            raise DomainError("referral.unknown")
        deadline = referral.accept_by if referral.state == ReferralState.OFFERED.value else referral.present_by
        if deadline is not None and passed(deadline, today_in(department)):
            raise DomainError("referral.late")

    return check


async def accept(principal: Principal, referral_id: object) -> Moved:
    """The parent accepts the offer (R27): to be presented within [5] working days (R28)."""
    return await _move(referral_id, ReferralMove.ACCEPT, Actor("applicant"), check=_parent_check(principal))


async def decline(principal: Principal, referral_id: object) -> Moved:
    """The parent declines: the stop-list for a kindergarten they chose (R30), nothing
    for one they did not (R27)."""
    return await _move(
        referral_id, ReferralMove.DECLINE, Actor("applicant"), "declined by the parent", check=_parent_check(principal)
    )


async def extend(principal: Principal, referral_id: object, days: int) -> Moved:
    """R28: the presentation deadline moved once, by up to [30] calendar days, before it passes."""
    parent = _parent_check(principal)

    async def check(referral: Referral, application: Application, department: Department) -> None:
        if referral.state == ReferralState.EXTENDED.value and application.id in principal.cabinet_ids:
            raise DomainError("referral.extended", "days")
        await parent(referral, application, department)
        if referral.present_by is None or referral.state != ReferralState.ACCEPTED.value:
            raise DomainError("referral.move")
        moved = extended(referral.present_by, days, department.extension_days)
        if moved is None:
            raise DomainError("referral.extension_days", "days", max=department.extension_days)
        referral.present_by = moved

    return await _move(referral_id, ReferralMove.EXTEND, Actor("applicant"), f"+{days} days", check=check)


# --- staff ---------------------------------------------------------------------------


def _staff_check(
    principal: Principal, operation: str
) -> Callable[[Referral, Application, Department], Awaitable[None]]:
    async def check(referral: Referral, application: Application, department: Department) -> None:
        if not backoffice.may(principal, operation, referral.department_id):
            raise DomainError("referral.unknown")
        if principal.kindergarten_id is not None and principal.kindergarten_id != referral.kindergarten_id:
            raise DomainError("referral.unknown")

    return check


async def enrol(principal: Principal, referral_id: object, ip: str = "") -> Moved:
    """R31: the kindergarten enrols the child who presented the referral."""
    staff = _staff_check(principal, "referral.enrol")

    async def check(referral: Referral, application: Application, department: Department) -> None:
        await staff(referral, application, department)
        if referral.confirm_by is not None and referral.benefit_confirmed_at is None:
            raise DomainError("referral.benefit_unconfirmed")

    return await _move(referral_id, ReferralMove.ENROL, Actor(principal.actor, ip, staff=True), "enrolled", check=check)


async def no_show(principal: Principal, referral_id: object, reason: str, ip: str = "") -> Moved:
    """The child did not come with the referral: expired, the stop-list (R30)."""
    if not reason.strip():
        raise DomainError("reason.required", "reason")
    return await _move(
        referral_id,
        ReferralMove.NO_SHOW,
        Actor(principal.actor, ip, staff=True),
        reason.strip(),
        check=_staff_check(principal, "referral.enrol"),
    )


async def cancel(principal: Principal, referral_id: object, reason: str, ip: str = "") -> Moved:
    """Staff cancel an open referral with a reason: the child goes back to its place."""
    if not reason.strip():
        raise DomainError("reason.required", "reason")
    return await _move(
        referral_id,
        ReferralMove.CANCEL,
        Actor(principal.actor, ip, staff=True),
        reason.strip(),
        check=_staff_check(principal, "referral.cancel"),
    )


async def confirm_benefit(principal: Principal, referral_id: object, ip: str = "") -> Referral:
    """R29: staff confirm the extraordinary benefit of a referral in time."""
    public_id = _public_id(referral_id)
    async with in_transaction():
        referral = await Referral.select_for_update().get_or_none(public_id=public_id)
        if referral is None or not backoffice.may(principal, "referral.confirm_benefit", referral.department_id):
            raise DomainError("referral.unknown")
        if referral.confirm_by is None or referral.benefit_confirmed_at is not None:
            raise DomainError("referral.benefit_confirmed")
        if ReferralState(referral.state) not in rules.OPEN:
            raise DomainError("referral.move")
        referral.benefit_confirmed_at = datetime.now(UTC)
        referral.version += 1
        await referral.save()
        application = await Application.get(id=referral.application_id)
        await events.record_event(
            application, "referral_benefit_confirmed", principal.actor, data={"referral": str(referral.public_id)}
        )
        await _audit(Actor(principal.actor, ip, staff=True), referral, "benefit_confirmed", None, "true", "")
    return referral


# --- the deadlines (a cron, and `kezek deadlines --as-of`) ---------------------------


@dataclass
class Deadlines:
    as_of: dict[str, str] = field(default_factory=dict)  # department code → the day checked
    expired: int = 0
    cancelled: int = 0  # R29: the extraordinary benefit not confirmed in time
    reminded: int = 0
    restored: int = 0


async def run_deadlines(as_of: date | None = None) -> Deadlines:
    """Everything that fell due by `as_of` (default: today in each department's time
    zone): offers and referrals past their deadline expire, unconfirmed extraordinary
    referrals are cancelled (R29), reminders go out a working day before a deadline,
    stop-listed applications whose days are over are restored (R30)."""
    report = Deadlines()
    for department in await Department.all():
        today = today_in(department, as_of)
        report.as_of[department.code] = today.isoformat()
        open_ = Referral.filter(department_id=department.id, state__in=[s.value for s in rules.OPEN])
        for referral in await open_.filter(confirm_by__lt=today, benefit_confirmed_at__isnull=True):
            if await _expire(referral.id, ReferralMove.CANCEL, today, extraordinary=True):
                report.cancelled += 1
        for referral in await open_.filter(state=ReferralState.OFFERED.value, accept_by__lt=today):
            if await _expire(referral.id, ReferralMove.EXPIRE, today):
                report.expired += 1
        for referral in await open_.filter(state__in=[s.value for s in rules.PRESENTABLE], present_by__lt=today):
            if await _expire(referral.id, ReferralMove.EXPIRE, today):
                report.expired += 1
        report.reminded += await _remind(department, today)
        report.restored += await _restore(department, today)
    return report


async def _expire(referral_id: int, move: ReferralMove, today: date, *, extraordinary: bool = False) -> bool:
    """One referral past a deadline; False when someone else moved it first."""
    reason = "extraordinary benefit not confirmed in time (R29)" if extraordinary else "deadline passed"

    async def check(referral: Referral, application: Application, department: Department) -> None:
        if extraordinary:
            await _remove_extraordinary(application)

    try:
        await _move(referral_id, move, Actor(SYSTEM), reason, check=check, as_of=today, lookup="id")
    except DomainError:
        return False
    return True


async def _remove_extraordinary(application: Application) -> None:
    """R29 with R16: the unconfirmed extraordinary benefit is removed; the child goes
    back to the general order at its original registration time."""
    claims = await BenefitClaim.filter(
        application=application, status__in=[s.value for s in STANDING], category__benefit_class="extraordinary"
    )
    for claim in claims:
        claim.status = ClaimStatus.WITHDRAWN.value
        claim.reason = "not confirmed for the referral in time (R29)"
        claim.decided_by, claim.decided_at = SYSTEM, datetime.now(UTC)
        await claim.save()
    if application.benefit_class == BenefitClass.EXTRAORDINARY.value:
        await benefits.apply_benefit_class(application, SYSTEM, "R29")


async def _remind(department: Department, today: date) -> int:
    """R34: one reminder a working day before the answer's or the presentation's
    deadline (once per deadline: the message is keyed by it)."""
    count = 0
    open_ = await Referral.filter(
        department_id=department.id, state__in=[s.value for s in rules.OPEN]
    ).prefetch_related("kindergarten", "application")
    for referral in open_:
        deadline = referral.accept_by if referral.state == ReferralState.OFFERED.value else referral.present_by
        if deadline is None or passed(deadline, today) or today < previous_working_day(deadline):
            continue
        rows = await notifications.queue_for_application(
            referral.application,
            "offer_expiring",
            f"{referral.public_id}:{deadline.isoformat()}",
            kindergarten=referral.kindergarten.code,
            deadline=deadline.strftime("%d.%m.%Y"),
        )
        if rows:
            count += 1
            await notifications.deliver_soon(referral.application_id)
    return count


async def _restore(department: Department, today: date) -> int:
    """R30: stop-listed applications whose days are over go back to their place."""
    count = 0
    due = await flat_ints(
        Application.filter(
            Q(department_id=department.id, state=State.SUSPENDED.value, suspended_until__lt=today)
        ).values_list("id", flat=True)
    )
    for application_id in due:
        try:
            await events.move(application_id, Transition.RESTORE, SYSTEM, "stop-list days are over (R30)")
        except DomainError:
            continue
        count += 1
    return count


# --- reading ---------------------------------------------------------------------------


async def of_application(application_id: int) -> list[Referral]:
    """An application's referrals, newest first."""
    return (
        await Referral.filter(application_id=application_id).order_by("-id").prefetch_related("kindergarten", "group")
    )
