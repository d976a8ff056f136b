"""GraphQL types of groups, vacant seats and referrals (R25–R33), shared by the
cabinet's, the back-office's and the public protocols' queries and mutations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry

from server.domain.allocation import Window
from server.domain.deadlines import days_left, local_date
from server.domain.referrals import ReferralState
from server.models import Department as DepartmentModel
from server.models import Group as GroupModel
from server.models import Referral as ReferralModel

# The domain's value sets, exposed as GraphQL enums (defined once, in server/domain).
strawberry.enum(
    ReferralState,
    description="The referral's state machine (R33): offered → accepted → (extended) → enrolled; "
    "declined, expired, cancelled.",
)
strawberry.enum(
    Window,
    name="OfferWindow",
    description="CHOSEN: the priority window, offered to a child who chose the kindergarten; OPEN: after it, "
    "to any child of the cohort in queue order, free to decline (R27).",
)


@strawberry.type(description="A kindergarten's age group: the cohort (birth year) it takes, its language, its size.")
class Group:
    id: strawberry.ID
    kindergarten_code: str
    name: str
    cohort: int
    language: str
    capacity: int
    enrolled: int
    active: bool
    version: int
    open_seats: int = 0
    offered_seats: int = 0

    @classmethod
    def of(cls, model: GroupModel, kindergarten_code: str, counts: dict[str, int] | None = None) -> Group:
        counts = counts or {}
        return cls(
            id=strawberry.ID(str(model.id)),
            kindergarten_code=kindergarten_code,
            name=model.name,
            cohort=model.cohort,
            language=model.language,
            capacity=model.capacity,
            enrolled=model.enrolled,
            active=model.active,
            version=model.version,
            open_seats=counts.get("open", 0),
            offered_seats=counts.get("offered", 0),
        )


@strawberry.type(description="Why this child was offered this seat, as data (the pages put it into words).")
class OfferReason:
    cohort: int
    queue_number: int = strawberry.field(description="The child's queue number at the moment of the offer.")
    kindergarten_code: str
    group_name: str
    language: str
    rank: int | None = strawberry.field(description="The kindergarten's place in the parent's list; null if unlisted.")
    window: Window


@strawberry.type(
    description="An offer of one seat to one child (R26–R30), with its deadlines in the department's time zone."
)
class Referral:
    id: strawberry.ID = strawberry.field(description="The referral's public id.")
    state: ReferralState
    kindergarten_code: str
    group_name: str
    group_language: str
    cohort: int
    queue_number: int
    window: Window
    rank: int | None
    staff_child: bool = strawberry.field(description="R32: the child of a kindergarten's staff.")
    offered_at: datetime
    accept_by: date = strawberry.field(description="The last day to accept the offer (R27).")
    present_by: date | None = strawberry.field(description="The last day to present the accepted referral (R28).")
    confirm_by: date | None = strawberry.field(description="R29: the extraordinary benefit to be confirmed by then.")
    benefit_confirmed: bool
    days_left: int = strawberry.field(description="Calendar days left until the current deadline, counting its day.")
    can_extend: bool = strawberry.field(description="R28: an accepted referral may be extended once.")
    closed_at: datetime | None
    reason: str
    explanation: OfferReason
    registration_number: str | None = None
    version: int = 1

    @classmethod
    def of(
        cls,
        model: ReferralModel,
        *,
        kindergarten_code: str,
        group_name: str,
        group_language: str,
        department: DepartmentModel,
        registration_number: str | None = None,
    ) -> Referral:
        state = ReferralState(model.state)
        deadline = model.accept_by if state is ReferralState.OFFERED else model.present_by
        today = local_date(datetime.now(UTC), department.timezone)
        data = model.explanation or {}
        return cls(
            id=strawberry.ID(str(model.public_id)),
            state=state,
            kindergarten_code=kindergarten_code,
            group_name=group_name,
            group_language=group_language,
            cohort=model.cohort,
            queue_number=model.queue_number,
            window=Window(model.window),
            rank=model.rank,
            staff_child=model.staff_child,
            offered_at=model.offered_at,
            accept_by=model.accept_by,
            present_by=model.present_by,
            confirm_by=model.confirm_by,
            benefit_confirmed=model.benefit_confirmed_at is not None,
            days_left=days_left(deadline, today)
            if deadline and state.value in ("offered", "accepted", "extended")
            else 0,
            can_extend=state is ReferralState.ACCEPTED,
            closed_at=model.closed_at,
            reason=model.reason,
            explanation=OfferReason(
                cohort=int(data.get("cohort", model.cohort)),
                queue_number=int(data.get("queue_number", model.queue_number)),
                kindergarten_code=str(data.get("kindergarten", kindergarten_code)),
                group_name=str(data.get("group", group_name)),
                language=str(data.get("language", group_language)),
                rank=data.get("rank"),
                window=Window(str(data.get("window", model.window))),
            ),
            registration_number=registration_number,
            version=model.version,
        )


async def referral_of(model: ReferralModel, *, with_number: bool = False) -> Referral:
    """A referral with its kindergarten, group and department loaded (a few queries)."""
    await model.fetch_related("kindergarten", "group")
    department = await DepartmentModel.get(id=model.department_id)
    number = None
    if with_number:
        await model.fetch_related("application")
        number = model.application.registration_number
    return Referral.of(
        model,
        kindergarten_code=model.kindergarten.code,
        group_name=model.group.name,
        group_language=model.group.language,
        department=department,
        registration_number=number,
    )
