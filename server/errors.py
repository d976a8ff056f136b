"""Domain errors with stable codes; messages are translated where the language is known."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server.i18n import N_, N_plural, gettext, ngettext

# A message with plural forms names the parameter that counts.
PLURALS: dict[str, tuple[tuple[str, str], str]] = {
    "child.too_old": (
        N_plural(
            "The child must be younger than %(years)s year on the day of applying.",
            "The child must be younger than %(years)s years on the day of applying.",
        ),
        "years",
    ),
    "page.size": (
        N_plural("Ask for between 1 and %(max)s row.", "Ask for between 1 and %(max)s rows."),
        "max",
    ),
    "preferences.too_many": (
        N_plural("Choose at most %(max)s kindergarten.", "Choose at most %(max)s kindergartens."),
        "max",
    ),
}

MESSAGES: dict[str, str] = {
    "iin.required": N_("Enter the IIN."),
    "iin.invalid": N_("This is not a valid IIN: check the 12 digits."),
    "iin.unknown": N_("The state registry has no person with this IIN."),
    "phone.required": N_("Enter a mobile phone number."),
    "phone.invalid": N_("Enter a Kazakhstan mobile number, like +7 701 234 5678."),
    "phone.same": N_("Enter a different number from the first phone."),
    "email.invalid": N_("Enter an email address like name@example.kz."),
    "email.required_for_channel": N_("Enter an email address to get messages by email."),
    "otp.invalid": N_("The code is not right. Check the SMS and try again."),
    "otp.expired": N_("The code has expired. Ask for a new one."),
    "otp.exhausted": N_("Too many wrong codes. Ask for a new one."),
    "otp.rate_limited": N_("Too many codes were sent. Try again in an hour."),
    "otp.required": N_("Enter the 6-digit code from the SMS."),
    "department.unknown": N_("Choose a department from the list."),
    "child.not_represented": N_("The registry does not show you as a parent or guardian of this child."),
    "child.same_as_applicant": N_("Enter the child's IIN, not your own."),
    "child.already_queued": N_("This child is already in the queue: application %(number)s."),
    "child.not_born": N_("The registry gives a birth date in the future."),
    "preferences.none": N_("Choose at least one kindergarten, or any kindergarten in the district."),
    "preferences.unknown": N_("Choose kindergartens from the list."),
    "preferences.duplicate": N_("Each kindergarten can be chosen once."),
    "language.invalid": N_("Choose the language of the group."),
    "start.invalid": N_("Enter the desired start date as a real date, today or later."),
    "channel.invalid": N_("Choose how to receive messages."),
    "notify_language.invalid": N_("Choose the language of messages."),
    "benefit.unknown": N_("Choose a benefit from the list."),
    "benefit.not_by_document": N_("This benefit is checked in the registry; no document is needed."),
    "benefit.duplicate": N_("This benefit is already claimed."),
    "document.required": N_("Attach the employer's certificate."),
    "document.type": N_("The file must be a PDF, JPEG or PNG."),
    "document.too_large": N_("The file must be at most %(mb)s MB."),
    "claim.unknown": N_("This benefit claim does not exist."),
    "draft.missing": N_("Your application was not found. Start again."),
    "draft.step": N_("Finish the earlier steps first."),
    "draft.not_editable": N_("This application has been submitted and can no longer be changed here."),
    "idempotency.required": N_("The request needs an idempotency key."),
    "auth.required": N_("You are not allowed to do this."),
    "application.unknown": N_("No application has this registration number."),
    "application.transition": N_("This change is not possible in the application's present state."),
    "cursor.invalid": N_("This page link is not valid. Start from the first page."),
    "staff.login": N_("The username or the password is not right."),
    "staff.throttled": N_("Too many attempts. Wait 15 minutes and try again."),
    "staff.username": N_("A username may hold letters, digits, dots, hyphens and underscores."),
    "staff.role": N_("The role must be operator, verifier or admin."),
    "staff.exists": N_("There is already an account with this username."),
    "staff.unknown": N_("There is no account with this username."),
    "staff.password_short": N_("The password must be at least %(min)s characters long."),
    "edit.stale": N_(
        "Someone changed this application while you were editing. The current value is shown: check it and change it again if needed."
    ),
    "reason.required": N_("Give the reason for this change."),
    "contact.unknown": N_("This contact does not exist."),
    "filter.status": N_("Choose a status from the list."),
    "application.closed": N_("This application is no longer in the queue and cannot be changed."),
    "phone.taken": N_("This number is already one of the application's phones."),
    "phone.known": N_("This phone is already confirmed for the application."),
    "phone.last_two": N_("Keep at least two confirmed phones: add another one before removing this one."),
    "csrf": N_("The form has expired. Reload the page and try again."),
    "rate_limited": N_("Too many requests. Wait a minute and try again."),
    "registry.unavailable": N_("The state registry does not answer. Try again in a few minutes."),
    "referral.unknown": N_("There is no such referral."),
    "referral.move": N_("This is not possible in the referral's present state."),
    "referral.late": N_("The deadline of this referral has passed: it can no longer be changed."),
    "referral.extended": N_("This referral has already been extended once: it cannot be extended again."),
    "referral.extension_days": N_("An extension is 1 to %(max)s days."),
    "referral.benefit_unconfirmed": N_("The benefit of this referral must be confirmed before enrolment."),
    "referral.benefit_confirmed": N_("The benefit of this referral is already confirmed."),
    "kindergarten.unknown": N_("There is no such kindergarten in the department."),
    "kindergarten.code": N_(
        "A kindergarten code is the department's code, a hyphen and letters or digits, like AST-KG13."
    ),
    "kindergarten.exists": N_("There is already a kindergarten with this code."),
    "kindergarten.required": N_("A kindergarten account names its kindergarten."),
    "name.required": N_("Enter the name."),
    "group.unknown": N_("There is no such group."),
    "group.exists": N_("The kindergarten already has a group with this name."),
    "group.cohort": N_("Enter the birth year of the group's children, from %(min)s to %(max)s."),
    "group.capacity": N_("The capacity is a whole number from 1 to %(max)s."),
    "group.enrolled": N_("The enrolment is a whole number from 0 to the capacity."),
    "group.published": N_(
        "The group has %(count)s seats published: capacity less enrolment cannot be lower. Withdraw seats first."
    ),
    "seats.count": N_("Publish from 1 to %(max)s seats, no more than the group has free."),
    "seat.unknown": N_("There is no such vacant seat."),
    "cohort.invalid": N_("Enter the birth year as four digits, like 2022."),
    "seats.number": N_("Enter the number of seats as a whole number, like 2."),
    "seats.withdraw_count": N_("Withdraw from 1 to %(max)s seats: the group has that many open seats not offered yet."),
    "seats.none_open": N_(
        "The group has no open seat to withdraw: an offered seat is freed by cancelling its referral."
    ),
    "text.control": N_("Remove the invisible control characters from this field."),
    "name.too_long": N_("The name must be at most %(max)s characters long."),
    "address.too_long": N_("The address must be at most %(max)s characters long."),
    "reason.too_long": N_("The reason must be at most %(max)s characters long."),
    "filter.state": N_("Choose a referral state from the list."),
    "dry_run.cohort": N_(
        "The group %(group)s takes children born in %(cohort)s: choose that year or leave the group out."
    ),
    "dry_run.too_many": N_("Ask about at most %(max)s groups at once."),
    "dry_run.cohort_list": N_("Choose a year of birth from the list."),
}


class DomainError(Exception):
    def __init__(self, code: str, field: str | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params

    def message(self, language: str | None = None) -> str:
        if self.code in PLURALS:
            (singular, plural), counter = PLURALS[self.code]
            return ngettext(singular, plural, int(self.params[counter]), language, **self.params)
        template = MESSAGES.get(self.code, self.code)
        return gettext(template, language, **self.params)


class ValidationErrors(Exception):
    """Several field errors at once; nothing was changed."""

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__(", ".join(e.code for e in errors))
        self.errors = errors


class FieldErrors:
    """Gathers the field errors of one form so it shows all its mistakes at once: each
    check runs in `with errors.catch():` (or its error is `add`ed), then `raise_if_any()`
    raises ValidationErrors with every error gathered, in order."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, error: DomainError) -> None:
        self.errors.append(error)

    @contextmanager
    def catch(self) -> Iterator[None]:
        """Keeps a DomainError raised in the block and goes on after it."""
        try:
            yield
        except DomainError as exc:
            self.errors.append(exc)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationErrors(self.errors)
