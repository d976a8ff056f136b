"""GraphQL types of groups, vacant seats and referrals (R25–R33), shared by the
cabinet's, the back-office's and the public protocols' queries and mutations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry

from server.domain.allocation import Window
from server.domain.deadlines import days_left, local_date
from server.domain.referrals import ReferralState
from server.i18n import N_, gettext
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
    text: str = strawberry.field(description="The reason in the caller's language.")


# R24's spirit for offers: the reason in one sentence, from the referral's own data.
LANGUAGE_NAMES = {"kk": N_("in Kazakh"), "ru": N_("in Russian"), "other": N_("in another language")}
REASONS = {
    ("chosen", True): N_(
        "Number %(number)s, first in the %(cohort)s queue who chose %(kindergarten)s (choice %(rank)s) %(in_language)s "
        "when the seat was offered."
    ),
    ("chosen", False): N_(
        "Number %(number)s, first in the %(cohort)s queue who accepts any kindergarten %(in_language)s when the seat "
        "was offered."
    ),
    ("open", True): N_(
        "Number %(number)s, first in the %(cohort)s queue %(in_language)s after the priority window; "
        "%(kindergarten)s was choice %(rank)s."
    ),
    ("open", False): N_(
        "Number %(number)s, first in the %(cohort)s queue %(in_language)s after the priority window; the parent did "
        "not list %(kindergarten)s and may decline it without losing the place."
    ),
}


def reason_text(
    *, window: str, rank: int | None, number: int, cohort: int, kindergarten: str, language: str, lang: str
) -> str:
    """Why a child got a seat, in one sentence of the reader's language."""
    template = REASONS[(window, rank is not None)]
    return gettext(
        template,
        lang,
        number=number,
        cohort=cohort,
        kindergarten=kindergarten,
        rank=rank or "",
        in_language=gettext(LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["other"]), lang),
    )


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
        language: str,
        registration_number: str | None = None,
    ) -> Referral:
        state = ReferralState(model.state)
        deadline = model.accept_by if state is ReferralState.OFFERED else model.present_by
        today = local_date(datetime.now(UTC), department.timezone)
        data = model.explanation or {}
        window = str(data.get("window", model.window))
        number = int(data.get("queue_number", model.queue_number))
        group_lang = str(data.get("language", group_language))
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
            can_extend=state is ReferralState.ACCEPTED and deadline is not None and days_left(deadline, today) > 0,
            closed_at=model.closed_at,
            reason=model.reason,
            explanation=OfferReason(
                cohort=model.cohort,
                queue_number=number,
                kindergarten_code=kindergarten_code,
                group_name=group_name,
                language=group_lang,
                rank=model.rank,
                window=Window(window),
                text=reason_text(
                    window=window,
                    rank=model.rank,
                    number=number,
                    cohort=model.cohort,
                    kindergarten=kindergarten_code,
                    language=group_lang,
                    lang=language,
                ),
            ),
            registration_number=registration_number,
            version=model.version,
        )


async def referral_of(model: ReferralModel, language: str, *, with_number: bool = False) -> Referral:
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
        language=language,
        registration_number=number,
    )
