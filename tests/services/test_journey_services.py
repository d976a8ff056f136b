"""The journey's services: R1–R9, R13, R14 and the one-time-password rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.auth.principal import ANONYMOUS, Principal
from server.errors import DomainError, ValidationErrors
from server.models import Application, ApplicationEvent, BenefitClaim, Contact, Notification, OtpChallenge
from server.services import journey, registration, submission
from tests.helpers import PHONE1, PHONE2, iin, last_code


def applicant(draft: Application) -> Principal:
    return Principal(kind="applicant", draft_id=draft.public_id)


async def started(parent: str = "aigerim") -> tuple[Principal, str]:
    result = await journey.start(ANONYMOUS, "AST", iin(parent), PHONE1, "10.0.0.1")
    return applicant(result.draft), result.challenge_id


async def through_phones(parent: str = "aigerim", email: str = "") -> Principal:
    principal, challenge = await started(parent)
    await journey.confirm_phone(principal, 1, challenge, await last_code(PHONE1))
    _, challenge2 = await journey.set_contacts(principal, PHONE2, email, "10.0.0.1")
    await journey.confirm_phone(principal, 2, challenge2, await last_code(PHONE2))
    return principal


async def complete(principal: Principal, child: str = "dana") -> Application:
    await journey.set_child(principal, iin(child))
    await journey.set_preferences(principal, ["AST-KG02"], False, "ru", "2027-09-01")
    await journey.finish_benefits(principal)
    return await journey.set_notifications(principal, "sms", "kk")


async def test_codes_are_stored_only_as_keyed_hashes(reference):
    _principal, challenge_id = await started()
    code = await last_code(PHONE1)
    row = await OtpChallenge.get(id=challenge_id)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at <= timedelta(seconds=301)


async def test_five_wrong_codes_kill_the_code(reference):
    principal, challenge_id = await started()
    code = await last_code(PHONE1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(DomainError) as err:
            await journey.confirm_phone(principal, 1, challenge_id, wrong)
        assert err.value.code == "otp.invalid"
    with pytest.raises(DomainError) as err:
        await journey.confirm_phone(principal, 1, challenge_id, wrong)
    assert err.value.code == "otp.exhausted"
    # Even the right code is refused now.
    with pytest.raises(DomainError) as err:
        await journey.confirm_phone(principal, 1, challenge_id, code)
    assert err.value.code == "otp.exhausted"
    assert not await Contact.filter(confirmed_at__not_isnull=True).exists()


async def test_expired_code_is_refused(reference):
    principal, challenge_id = await started()
    await OtpChallenge.filter(id=challenge_id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(DomainError) as err:
        await journey.confirm_phone(principal, 1, challenge_id, await last_code(PHONE1))
    assert err.value.code == "otp.expired"


async def test_code_works_once_and_only_for_its_draft(reference):
    principal, challenge_id = await started()
    code = await last_code(PHONE1)
    other = Principal(
        kind="applicant",
        draft_id=(await journey.start(ANONYMOUS, "AST", iin("marat"), "+77019998877", "10.0.0.2")).draft.public_id,
    )
    with pytest.raises(DomainError):
        await journey.confirm_phone(other, 1, challenge_id, code)
    await journey.confirm_phone(principal, 1, challenge_id, code)
    with pytest.raises(DomainError) as err:
        await journey.confirm_phone(principal, 1, challenge_id, code)
    assert err.value.code == "otp.expired"


async def test_sends_are_rate_limited_per_phone(reference, rt):
    principal, _ = await started()
    for _ in range(rt.settings.otp_sends_per_phone_per_hour - 1):
        await journey.resend_code(principal, 1, "10.0.0.1")
    with pytest.raises(DomainError) as err:
        await journey.resend_code(principal, 1, "10.0.0.1")
    assert err.value.code == "otp.rate_limited"
    assert await Notification.filter(kind="otp").count() == rt.settings.otp_sends_per_phone_per_hour


async def test_sends_are_rate_limited_per_ip(reference, rt, monkeypatch):

    monkeypatch.setattr(rt, "settings", rt.settings.model_copy(update={"otp_sends_per_ip_per_hour": 3}))
    for n in range(3):
        await journey.start(ANONYMOUS, "AST", iin("aigerim"), f"+7701000000{n}", "10.9.9.9")
    with pytest.raises(DomainError) as err:
        await journey.start(ANONYMOUS, "AST", iin("aigerim"), "+77010000009", "10.9.9.9")
    assert err.value.code == "otp.rate_limited"


async def test_start_reports_every_bad_field_and_writes_nothing(reference):
    with pytest.raises(ValidationErrors) as err:
        await journey.start(ANONYMOUS, "XXX", "123456789012", "+1 555 0100", "10.0.0.1")
    assert {e.code for e in err.value.errors} == {"department.unknown", "iin.invalid", "phone.invalid"}
    assert await Application.all().count() == 0
    assert await Notification.all().count() == 0


async def test_two_distinct_phones_are_required(reference):
    principal, challenge = await started()
    await journey.confirm_phone(principal, 1, challenge, await last_code(PHONE1))
    with pytest.raises(ValidationErrors) as err:
        await journey.set_contacts(principal, "8 (701) 111-22-33", "", "10.0.0.1")
    assert [e.code for e in err.value.errors] == ["phone.same"]
    with pytest.raises(DomainError) as err:
        await journey.set_child(principal, iin("dana"))  # phone 2 not confirmed yet
    assert err.value.code == "draft.step"


async def test_registry_checks_r4_r5_r6(demo):
    principal = await through_phones("aigerim")
    with pytest.raises(DomainError) as err:
        await journey.set_child(principal, iin("alikhan"))
    assert err.value.code == "child.not_represented"
    with pytest.raises(DomainError) as err:
        await journey.set_child(principal, iin("aigerim"))
    assert err.value.code == "child.same_as_applicant"
    with pytest.raises(DomainError) as err:
        await journey.set_child(principal, "220315600147")
    assert err.value.code == "iin.invalid"

    old = await through_phones("erlan")
    with pytest.raises(DomainError) as err:
        await journey.set_child(old, iin("dias"))
    assert err.value.code == "child.too_old" and err.value.params == {"years": 6}

    queued = await through_phones("asel")
    with pytest.raises(DomainError) as err:
        await journey.set_child(queued, iin("adil"))
    existing = await Application.get(child_iin=iin("adil"))
    assert err.value.code == "child.already_queued"
    assert err.value.params["number"] == existing.registration_number


async def test_registry_benefits_are_detected(reference):
    principal = await through_phones("gulnara")
    draft = await journey.set_child(principal, iin("yerasyl"))
    claims = await BenefitClaim.filter(application=draft).prefetch_related("category")
    assert [(c.category.code, c.source, c.status) for c in claims] == [("LARGE_FAMILY", "registry", "confirmed")]


async def test_pending_document_claim_does_not_change_the_order(reference):
    principal = await through_phones("ainur")
    await journey.set_child(principal, iin("kamila"))
    await journey.set_preferences(principal, [], True, "kk", "2027-09-01")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    claim = await journey.claim_benefit(principal, "TEACHER_PARENT", "cert.png", png)
    assert claim.status == "pending"
    with pytest.raises(DomainError) as err:
        await journey.claim_benefit(principal, "TEACHER_PARENT", "cert.png", png)
    assert err.value.code == "benefit.duplicate"
    with pytest.raises(DomainError) as err:
        await journey.claim_benefit(principal, "LARGE_FAMILY", "x.png", png)
    assert err.value.code == "benefit.not_by_document"
    await journey.finish_benefits(principal)
    await journey.set_notifications(principal, "sms", "kk")
    submitted = await submission.confirm(principal, "k1")
    assert submitted.benefit_class == "general"


async def test_too_large_document_is_refused(reference, rt):
    principal = await through_phones("ainur")
    await journey.set_child(principal, iin("kamila"))
    await journey.set_preferences(principal, [], True, "kk", "2027-09-01")
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)
    with pytest.raises(DomainError) as err:
        await journey.claim_benefit(principal, "MILITARY", "big.pdf", big)
    assert err.value.code == "document.too_large"
    assert not list(rt.settings.upload_dir.glob("*")) if rt.settings.upload_dir.exists() else True


async def test_preferences_rules(reference):
    principal = await through_phones()
    await journey.set_child(principal, iin("dana"))
    for codes, any_garden, code in (
        (["AST-KG01", "AST-KG02", "AST-KG03", "AST-KG04", "AST-KG05"], False, "preferences.too_many"),
        ([], False, "preferences.none"),
        (["ALA-KG01"], False, "preferences.unknown"),
        (["AST-KG01", "AST-KG01"], False, "preferences.duplicate"),
    ):
        with pytest.raises(ValidationErrors) as err:
            await journey.set_preferences(principal, codes, any_garden, "kk", "2027-09-01")
        assert code in {e.code for e in err.value.errors}
    with pytest.raises(ValidationErrors) as err:
        await journey.set_preferences(principal, ["AST-KG01"], False, "fr", "2001-01-01")
    assert {e.code for e in err.value.errors} == {"language.invalid", "start.invalid"}


async def test_email_channel_needs_an_email(reference):
    principal = await through_phones()
    await complete(principal)
    with pytest.raises(ValidationErrors) as err:
        await journey.set_notifications(principal, "email", "ru")
    assert [e.code for e in err.value.errors] == ["email.required_for_channel"]


async def test_confirm_is_idempotent_and_events_follow_the_state_machine(reference):
    principal = await through_phones()
    await complete(principal)
    first = await submission.confirm(principal, "same-key")
    second = await submission.confirm(principal, "same-key")
    third = await submission.confirm(principal, "other-key")
    assert first.id == second.id == third.id
    assert first.state == "submitted" and first.confirmed_at is not None
    registered = await registration.register(first.id)
    again = await registration.register(first.id)  # a redelivered job changes nothing
    assert registered.registration_number == again.registration_number
    kinds = [
        (e.kind, e.from_state, e.to_state)
        for e in await ApplicationEvent.filter(application_id=first.id, from_state__not_isnull=True)
    ]
    assert kinds == [("submit", "draft", "submitted"), ("register", "submitted", "queued")]
    assert registered.registered_at == registered.confirmed_at


async def test_submitted_draft_cannot_be_edited(reference):
    principal = await through_phones()
    await complete(principal)
    await submission.confirm(principal, None)
    with pytest.raises(DomainError) as err:
        await journey.set_preferences(principal, ["AST-KG01"], False, "kk", "2027-09-01")
    assert err.value.code == "draft.not_editable"


async def test_unknown_draft(reference):
    with pytest.raises(DomainError) as err:
        await journey.set_child(Principal(kind="applicant", draft_id=uuid.uuid4()), iin("dana"))
    assert err.value.code == "draft.missing"
