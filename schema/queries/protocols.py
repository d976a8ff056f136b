"""Public queries of the two protocols (R25, R32): vacant seats and issued referrals,
with no login and no personal data. `Query` inherits `ProtocolQueries`."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from schema.types import Department, PageInfo
from schema.types.places import OfferReason, reason_text
from server.domain.allocation import Window
from server.domain.referrals import ReferralState
from server.errors import DomainError
from server.services import protocols


@strawberry.type(description="Open seats of one kindergarten group (R25).")
class Vacancy:
    kindergarten_code: str
    kindergarten_name: str = strawberry.field(description="In the caller's language.")
    group_name: str
    cohort: int = strawberry.field(description="The birth year of the children the group takes.")
    language: str = strawberry.field(description="The group's language: kk, ru or other.")
    seats: int = strawberry.field(description="Seats published and not yet offered.")
    since: datetime = strawberry.field(description="When the oldest of these open seats was published.")

    @classmethod
    def of(cls, row: protocols.Vacancy) -> Vacancy:
        return cls(
            kindergarten_code=row.kindergarten_code,
            kindergarten_name=row.kindergarten_name,
            group_name=row.group_name,
            cohort=row.cohort,
            language=row.language,
            seats=row.seats,
            since=row.since,
        )


@strawberry.type
class VacancyEdge:
    cursor: str
    node: Vacancy


@strawberry.type(description="A page of a department's vacant seats by group; `after` takes an `endCursor`.")
class VacancyConnection:
    department: Department
    timezone: str = strawberry.field(description="The department's time zone, for showing times.")
    edges: list[VacancyEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Groups with open seats under these filters, on all pages.")
    total_seats: int = strawberry.field(description="Their open seats.")


@strawberry.type(description="One issued referral as the public protocol shows it (R32): no names, no IINs.")
class IssuedReferral:
    registration_number: str = strawberry.field(description="The application's registration number.")
    kindergarten_code: str
    kindergarten_name: str = strawberry.field(description="In the caller's language.")
    group_name: str
    group_language: str
    cohort: int
    queue_number: int = strawberry.field(description="The child's queue number at the moment of the offer.")
    offered_at: datetime
    offered_on: date = strawberry.field(description="The day of the offer in the department's time zone.")
    state: ReferralState
    staff_child: bool = strawberry.field(description="R32: the child of a kindergarten's staff.")
    explanation: OfferReason

    @classmethod
    def of(cls, row: protocols.IssuedReferral, language: str) -> IssuedReferral:
        return cls(
            registration_number=row.registration_number,
            kindergarten_code=row.kindergarten_code,
            kindergarten_name=row.kindergarten_name,
            group_name=row.group_name,
            group_language=row.group_language,
            cohort=row.cohort,
            queue_number=row.queue_number,
            offered_at=row.offered_at,
            offered_on=row.offered_on,
            state=ReferralState(row.state),
            staff_child=row.staff_child,
            explanation=OfferReason(
                cohort=row.cohort,
                queue_number=row.queue_number,
                kindergarten_code=row.kindergarten_code,
                group_name=row.group_name,
                language=row.group_language,
                rank=row.rank,
                window=Window(row.window),
                text=reason_text(
                    window=row.window,
                    rank=row.rank,
                    number=row.queue_number,
                    cohort=row.cohort,
                    kindergarten=row.kindergarten_code,
                    language=row.group_language,
                    lang=language,
                ),
            ),
        )


@strawberry.type
class IssuedReferralEdge:
    cursor: str
    node: IssuedReferral


@strawberry.type(description="A page of a department's issued referrals, newest first; `after` takes an `endCursor`.")
class IssuedReferralConnection:
    department: Department
    edges: list[IssuedReferralEdge]
    page_info: PageInfo


def _refused(exc: DomainError, info: Info) -> GraphQLError:
    return GraphQLError(exc.message(info.context.language), extensions={"code": exc.code})


@strawberry.type
class ProtocolQueries:
    @strawberry.field(
        description="Public (R25): a department's groups with vacant seats — kindergarten, group, cohort, "
        "language, seats and since when — optionally of one cohort and one group language, by kindergarten "
        "code; `first` (1–100) after the `endCursor` of the page before."
    )
    async def vacancies(
        self,
        info: Info,
        department_code: str,
        cohort: int | None = None,
        language: str | None = None,
        first: int = protocols.MAX_PAGE,
        after: str | None = None,
    ) -> VacancyConnection | None:
        try:
            page = await protocols.vacancies(
                department_code, cohort, language, first=first, after=after, reader=info.context.language
            )
        except DomainError as exc:
            raise _refused(exc, info) from None
        edges = [VacancyEdge(cursor=protocols.vacancy_cursor(r), node=Vacancy.of(r)) for r in page.rows]
        return VacancyConnection(
            department=Department.of(page.department, info.context.language),
            timezone=page.department.timezone,
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
            total_count=page.groups,
            total_seats=page.seats,
        )

    @strawberry.field(
        description="Public (R32): a department's issued referrals, newest first — registration number, "
        "kindergarten, group, queue number at the offer, date, state, staff's children marked, and why; no "
        "names, no IINs. `first` (1–100) after the `endCursor` of the page before."
    )
    async def issued_referrals(
        self,
        info: Info,
        department_code: str,
        cohort: int | None = None,
        first: int = 25,
        after: str | None = None,
    ) -> IssuedReferralConnection | None:
        language = info.context.language
        try:
            page = await protocols.referrals(department_code, cohort, first=first, after=after, reader=language)
        except DomainError as exc:
            raise _refused(exc, info) from None
        edges = [
            IssuedReferralEdge(cursor=protocols.referral_cursor(r), node=IssuedReferral.of(r, language))
            for r in page.rows
        ]
        return IssuedReferralConnection(
            department=Department.of(page.department, language),
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        )
