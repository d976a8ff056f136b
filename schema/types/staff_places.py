"""GraphQL types of the back-office for kindergartens, groups, seats and referrals
(issue 9): what the department's staff and a kindergarten's staff see."""

from __future__ import annotations

import strawberry

from schema.types import FieldError, PageInfo
from schema.types.places import Referral
from server.auth.principal import Principal
from server.domain import referrals as referral_rules
from server.domain.allocation import Window
from server.domain.referrals import ReferralState
from server.models import Department as DepartmentModel
from server.models import Kindergarten as KindergartenModel
from server.models import Referral as ReferralModel
from server.services import backoffice, registry


@strawberry.type(description="A kindergarten as its department's staff manage it (R25).")
class StaffKindergarten:
    code: str
    name: str = strawberry.field(description="In the caller's language.")
    name_kk: str
    name_ru: str
    name_en: str
    address: str
    languages: list[str] = strawberry.field(description="The languages of its groups: kk, ru, other.")
    active: bool
    version: int = strawberry.field(description="Pass it back with a change: a change on an old version is refused.")

    @classmethod
    def of(cls, model: KindergartenModel, language: str) -> StaffKindergarten:
        return cls(
            code=model.code,
            name=model.name(language),
            name_kk=model.name_kk,
            name_ru=model.name_ru,
            name_en=model.name_en,
            address=model.address,
            languages=[x for x in model.languages.split(",") if x],
            active=model.active,
            version=model.version,
        )


def _visible(principal: Principal, referral: ReferralModel, operation: str) -> bool:
    if not backoffice.may(principal, operation, referral.department_id):
        return False
    return principal.kindergarten_id is None or principal.kindergarten_id == referral.kindergarten_id


@strawberry.type(
    description="A referral as staff see it: the child's name and registration number (to enrol the child who "
    "presents it) and what this caller may do with it now."
)
class StaffReferral:
    referral: Referral
    registration_number: str
    child_name: str
    benefit_class: str
    can_enrol: bool = strawberry.field(description="R31: accepted, presented, and the R29 benefit confirmed if due.")
    can_no_show: bool
    can_cancel: bool
    can_confirm_benefit: bool = strawberry.field(description="R29: an extraordinary benefit waiting for staff.")

    @classmethod
    async def of(
        cls, model: ReferralModel, principal: Principal, department: DepartmentModel, language: str
    ) -> StaffReferral:
        """`model` with its kindergarten, group and application fetched."""
        state = ReferralState(model.state)
        application = model.application
        child = await registry.cached(application.child_iin) if application.child_iin else None
        presentable = state in referral_rules.PRESENTABLE
        open_ = state in referral_rules.OPEN
        benefit_due = model.confirm_by is not None and model.benefit_confirmed_at is None
        return cls(
            referral=Referral.of(
                model,
                kindergarten_code=model.kindergarten.code,
                group_name=model.group.name,
                group_language=model.group.language,
                department=department,
                language=language,
                registration_number=application.registration_number,
            ),
            registration_number=application.registration_number or "",
            child_name=registry.full_name(child),
            benefit_class=model.benefit_class,
            can_enrol=presentable and not benefit_due and _visible(principal, model, "referral.enrol"),
            can_no_show=presentable and _visible(principal, model, "referral.enrol"),
            can_cancel=open_ and _visible(principal, model, "referral.cancel"),
            can_confirm_benefit=open_ and benefit_due and _visible(principal, model, "referral.confirm_benefit"),
        )


@strawberry.type
class StaffReferralEdge:
    cursor: str
    node: StaffReferral


@strawberry.type(description="A page of referrals, newest first; `after` takes `endCursor` (keyset).")
class StaffReferralConnection:
    edges: list[StaffReferralEdge]
    page_info: PageInfo


@strawberry.input(description="Seats of one group, as if they were published now (the dry run).")
class SeatsInput:
    group_id: strawberry.ID
    count: int


@strawberry.type(description="One offer the allocation would make now: who, which group, why (R26, R27).")
class DryRunRow:
    registration_number: str
    queue_number: int
    kindergarten_code: str
    group_id: strawberry.ID
    group_name: str
    group_language: str
    rank: int | None = strawberry.field(description="The kindergarten's place in the parent's list; null if unlisted.")
    window: Window
    hypothetical: bool = strawberry.field(description="On one of the seats asked about, not on a published one.")


@strawberry.type(description="The dry run: the offers the allocation would make now. Nothing is written.")
class AllocationDryRun:
    cohort: int
    rows: list[DryRunRow] = strawberry.field(default_factory=list)
    errors: list[FieldError] = strawberry.field(default_factory=list)
