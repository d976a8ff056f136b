"""What the journey steps, the integrator's submission, the cabinet and the back-office
check alike (R2–R8): IINs, phones, emails, the child, the preferences and the
notification settings. Reads only: nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.domain import age, emails, phones
from server.domain import iin as iin_rules
from server.domain.languages import GroupLanguage, Language
from server.domain.messages import Channel, needs_email
from server.domain.preferences import start_allowed
from server.errors import DomainError, FieldErrors
from server.models import Application, Department, Kindergarten
from server.services import registry


def today_in(department: Department) -> date:
    return datetime.now(ZoneInfo(department.timezone)).date()


def clean_iin(raw: str, field: str) -> str:
    value = iin_rules.normalize(raw)
    if not value:
        raise DomainError("iin.required", field)
    if not iin_rules.is_valid(value):
        raise DomainError("iin.invalid", field)
    return value


def clean_phone(raw: str, field: str) -> str:
    if not (raw or "").strip():
        raise DomainError("phone.required", field)
    try:
        return phones.normalize_mobile(raw)
    except phones.InvalidPhone as exc:
        raise DomainError("phone.invalid", field) from exc


def clean_email(raw: str, field: str = "email") -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not emails.is_valid(value):
        raise DomainError("email.invalid", field)
    return value


async def department_by_code(code: str) -> Department:
    department = await Department.get_or_none(code=(code or "").strip().upper())
    if department is None:
        raise DomainError("department.unknown", "department")
    return department


def active_key(department_id: int, child_iin: str) -> str:
    """The unique key an active application holds (R5): one per child and department."""
    return f"{department_id}:{child_iin}"


@dataclass
class ChildFacts:
    child_iin: str
    birth_date: date
    cohort: int
    registry_benefits: list[str]


async def check_child(department: Department, applicant_iin: str, raw_child_iin: str) -> ChildFacts:
    """R3–R6: the child exists, the applicant represents it, it is young enough, and it
    has no active application in this department."""
    child_iin = clean_iin(raw_child_iin, "child_iin")
    if child_iin == applicant_iin:
        raise DomainError("child.same_as_applicant", "child_iin")
    child = await registry.lookup(child_iin, "child_iin")
    applicant = await registry.cached(applicant_iin) or await registry.lookup(applicant_iin, "applicant_iin")
    represented = {c.get("iin") for c in applicant.get("children", [])}
    if child_iin not in represented:
        raise DomainError("child.not_represented", "child_iin")
    born = date.fromisoformat(child["birth_date"])
    today = today_in(department)
    if born > today:
        raise DomainError("child.not_born", "child_iin")
    if not age.is_young_enough(born, today, department.max_age_years):
        raise DomainError("child.too_old", "child_iin", years=department.max_age_years)
    existing = await Application.get_or_none(active_key=active_key(department.id, child_iin))
    if existing is not None:
        raise DomainError("child.already_queued", "child_iin", number=existing.registration_number or "…")
    benefits = sorted(set(child.get("benefits", [])) | set(applicant.get("benefits", [])))
    return ChildFacts(child_iin, born, age.cohort_of(born), benefits)


@dataclass
class PreferenceChoice:
    kindergartens: list[Kindergarten]
    any_kindergarten: bool
    group_language: str
    desired_start: date


async def check_preferences(
    department: Department,
    kindergarten_codes: list[str],
    any_kindergarten: bool,
    group_language: str,
    desired_start: str | date | None,
) -> PreferenceChoice:
    """R7: kindergartens of the department in order (or any), the group's language and a
    start date from today to seven years ahead."""
    errors = FieldErrors()
    codes = [c.strip() for c in kindergarten_codes if c and c.strip()]
    gardens: list[Kindergarten] = []
    if len(codes) != len(set(codes)):
        errors.add(DomainError("preferences.duplicate", "kindergartens"))
    elif len(codes) > department.max_preferences:
        errors.add(DomainError("preferences.too_many", "kindergartens", max=department.max_preferences))
    elif not codes and not any_kindergarten:
        errors.add(DomainError("preferences.none", "kindergartens"))
    else:
        found = {k.code: k for k in await Kindergarten.filter(department=department, code__in=codes)}
        if len(found) != len(codes):
            errors.add(DomainError("preferences.unknown", "kindergartens"))
        gardens = [found[c] for c in codes if c in found]
    if group_language not in tuple(GroupLanguage):
        errors.add(DomainError("language.invalid", "group_language"))
    start: date | None = None
    try:
        start = desired_start if isinstance(desired_start, date) else date.fromisoformat((desired_start or "").strip())
    except ValueError:
        start = None
    if start is None or not start_allowed(start, today_in(department)):
        errors.add(DomainError("start.invalid", "desired_start"))
    errors.raise_if_any()
    assert start is not None
    return PreferenceChoice(gardens, any_kindergarten, group_language, start)


def check_notifications(channel: str, language: str, has_email: bool) -> None:
    """R8: a known channel (email only with an address) and a language of the catalogs."""
    errors = FieldErrors()
    if channel not in tuple(Channel):
        errors.add(DomainError("channel.invalid", "channel"))
    elif needs_email(channel) and not has_email:
        errors.add(DomainError("email.required_for_channel", "channel"))
    if language not in tuple(Language):
        errors.add(DomainError("notify_language.invalid", "notify_language"))
    errors.raise_if_any()
