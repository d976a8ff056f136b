"""Seats offered recently in a waiting child's cohort, and why not to this child (issue 9:
"a parent passed over can see why").

For an application in the queue (or on the stop-list), the referrals issued in its
department and cohort in the last [30] days to other children: those for kindergartens
the parent listed first, and when they are few, the others too. Each is explained by
`server.domain.passed_over` from where the application stood at the moment of the offer:
its queue number then (from its recorded changes, R24), whether it had an offer of its
own then, whether it was suspended (its recorded transitions, R33). Only what the public
protocol of issued referrals shows of the other child is used (R32: its number at the
offer, the kindergarten, the group), never who it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.domain import passed_over as rules
from server.domain.allocation import Window
from server.domain.states import State
from server.i18n import N_, gettext
from server.models import Application, ApplicationEvent, Kindergarten, Preference, Referral
from server.services import lookup

RECENT_DAYS = 30
LISTED_LIMIT = 10  # offers for kindergartens the parent listed, newest first
FEW = 5  # fewer listed ones than this: others are shown too, up to this many in all
WAITING = frozenset({State.QUEUED, State.SUSPENDED})


@dataclass(frozen=True)
class Seen:
    """One offer to another child of the cohort, and why it was not this child's."""

    referral_id: str
    kindergarten: Kindergarten
    group_name: str
    group_language: str
    queue_number: int  # the other child's, at the moment of the offer
    offered_at: datetime
    window: Window
    my_number: int | None  # this application's, at that moment
    result: rules.PassedOver

    @property
    def reason(self) -> rules.Reason:
        return self.result.reason

    @property
    def rank(self) -> int | None:
        return self.result.rank


# --- where the application stood at a moment -------------------------------------------


@dataclass(frozen=True)
class History:
    """What is recorded of one application, read once for all the offers explained."""

    registered_at: datetime | None
    current_number: int | None
    changes: Sequence[lookup.Change]  # newest first
    offers: Sequence[tuple[datetime, datetime | None]]  # its own referrals: offered, closed
    states: Sequence[tuple[datetime, str]]  # its transitions, oldest first: when, to which state

    def number_at(self, moment: datetime) -> int | None:
        """The queue number at `moment`: the last change up to then, else the number
        before the first recorded change, else the number now."""
        for change in self.changes:
            if change.at <= moment:
                return change.new_number
        if self.changes:
            return self.changes[-1].old_number
        return self.current_number

    def standing_at(self, moment: datetime) -> rules.Standing:
        if self.registered_at is None or self.registered_at > moment:
            return rules.Standing.NOT_REGISTERED
        if any(offered <= moment and (closed is None or closed > moment) for offered, closed in self.offers):
            return rules.Standing.OFFERED
        state = State.QUEUED.value
        for at, to_state in self.states:
            if at > moment:
                break
            state = to_state
        if state == State.QUEUED.value:
            return rules.Standing.WAITING
        if state == State.OFFERED.value:
            return rules.Standing.OFFERED
        return rules.Standing.SUSPENDED


async def _history(application: Application, current_number: int | None) -> History:
    offers = await Referral.filter(application_id=application.id).values_list("offered_at", "closed_at")
    states = (
        await ApplicationEvent.filter(application_id=application.id, to_state__not_isnull=True)
        .order_by("id")
        .values_list("created_at", "to_state")
    )
    return History(
        registered_at=application.registered_at,
        current_number=current_number,
        changes=await lookup.recent_changes(application.id, 50),
        offers=[(o, c) for o, c in offers],
        states=[(at, str(to)) for at, to in states],
    )


# --- the list ---------------------------------------------------------------------------


async def recent(application_id: int, current_number: int | None = None, now: datetime | None = None) -> list[Seen]:
    """The offers to other children of the application's cohort in the last [30] days,
    each with why it was not this application's; newest first, those for kindergartens
    it listed before the others. Empty for an application not waiting for a place."""
    application = await Application.get_or_none(id=application_id)
    if application is None or application.cohort is None or State(application.state) not in WAITING:
        return []
    since = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
    preferences = (
        await Preference.filter(application_id=application.id).order_by("rank").prefetch_related("kindergarten")
    )
    choices = tuple(p.kindergarten.code for p in preferences)
    listed_ids = [p.kindergarten_id for p in preferences]
    cohort = Referral.filter(
        department_id=application.department_id, cohort=application.cohort, offered_at__gte=since
    ).exclude(application_id=application.id)
    newest = ("-offered_at", "-id")
    listed: list[Referral] = []
    if listed_ids:
        listed = (
            await cohort.filter(kindergarten_id__in=listed_ids)
            .order_by(*newest)
            .limit(LISTED_LIMIT)
            .prefetch_related("kindergarten", "group")
        )
    others: list[Referral] = []
    if len(listed) < FEW:
        rest = cohort.exclude(kindergarten_id__in=listed_ids) if listed_ids else cohort
        others = await rest.order_by(*newest).limit(FEW - len(listed)).prefetch_related("kindergarten", "group")
    if not listed and not others:
        return []
    history = await _history(application, current_number)
    result = []
    for referral in [*listed, *others]:
        number = history.number_at(referral.offered_at)
        me = rules.Applicant(
            number=number,
            language=application.group_language or "",
            choices=choices,
            any_kindergarten=application.any_kindergarten,
            standing=history.standing_at(referral.offered_at),
            twins=application.batch_id is not None,
        )
        data = referral.explanation or {}
        language = str(data.get("language", referral.group.language))
        seen = rules.OfferSeen(
            number=referral.queue_number,
            kindergarten=referral.kindergarten.code,
            language=language,
            window=Window(referral.window),
        )
        result.append(
            Seen(
                referral_id=str(referral.public_id),
                kindergarten=referral.kindergarten,
                group_name=referral.group.name,
                group_language=language,
                queue_number=referral.queue_number,
                offered_at=referral.offered_at,
                window=Window(referral.window),
                my_number=number,
                result=rules.why_not(me, seen),
            )
        )
    return result


# --- in words ---------------------------------------------------------------------------

IN_LANGUAGE = {"kk": N_("in Kazakh"), "ru": N_("in Russian"), "other": N_("in another language")}
REASONS = {
    rules.Reason.OTHER_LANGUAGE: N_("The group teaches %(in_language)s, and you asked for a group %(your_language)s."),
    rules.Reason.NOT_LISTED: N_(
        "You did not list %(kindergarten)s: in the priority window its seats go only to children whose parents chose it."
    ),
    rules.Reason.NOT_REGISTERED: N_("Your application was not yet in the queue when this seat was offered."),
    rules.Reason.HAD_OFFER: N_("You had an offer of your own at that moment, and a child has one offer at a time."),
    rules.Reason.NOT_WAITING: N_(
        "Your application was suspended (stop list) at that moment, so it could get no offer."
    ),
    rules.Reason.TWINS: N_("Twins are offered places together, and the group had no room for all of them."),
    rules.Reason.UNEXPLAINED: N_(
        "The records do not explain why this seat did not come to you. The education department can check it: give "
        "them the date and the kindergarten."
    ),
}
AHEAD_LISTED = N_(
    "The child at number %(number)s stood ahead of you (you were number %(mine)s) and chose this kindergarten; "
    "you listed it as choice %(rank)s."
)
AHEAD_ANY = N_(
    "The child at number %(number)s stood ahead of you (you were number %(mine)s) and chose this kindergarten; "
    "you accept any kindergarten."
)
OPEN_AHEAD = N_(
    "After the priority window the seat went on down the queue in order, and the child at number %(number)s stood "
    "ahead of you (you were number %(mine)s)."
)


def reason_text(seen: Seen, your_language: str, language: str | None = None) -> str:
    """Why not to this child, in one sentence of the reader's language."""

    def in_language(code: str) -> str:
        return gettext(IN_LANGUAGE.get(code, IN_LANGUAGE["other"]), language)

    reason = seen.reason
    numbers = {"number": seen.queue_number, "mine": seen.my_number or ""}
    if reason is rules.Reason.AHEAD:
        if seen.rank is None:
            return gettext(AHEAD_ANY, language, **numbers)
        return gettext(AHEAD_LISTED, language, rank=seen.rank, **numbers)
    if reason is rules.Reason.OPEN_WINDOW_AHEAD:
        return gettext(OPEN_AHEAD, language, **numbers)
    if reason is rules.Reason.OTHER_LANGUAGE:
        return gettext(
            REASONS[reason],
            language,
            in_language=in_language(seen.group_language),
            your_language=in_language(your_language),
        )
    if reason is rules.Reason.NOT_LISTED:
        return gettext(REASONS[reason], language, kindergarten=seen.kindergarten.code)
    return gettext(REASONS[reason], language)
