import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.domain.languages import GroupLanguage, Language
from server.domain.messages import Channel
from server.services import submission


@strawberry.input(description="A whole application, for an integrator that has identified the parent.")
class SubmitApplicationInput:
    department_code: str
    applicant_iin: str
    child_iin: str
    phones: list[str]
    email: str | None = None
    kindergarten_codes: list[str] = strawberry.field(default_factory=list)
    any_kindergarten: bool = False
    group_language: str = GroupLanguage.KK.value
    desired_start: str = ""
    notify_channel: str = Channel.SMS.value
    notify_language: str = Language.KK.value


async def submit_application(info: Info, input: SubmitApplicationInput, idempotency_key: str) -> ApplicationPayload:
    """Submits a whole application at once (scope `applications:submit`). Repeating a call
    with the same idempotency key returns the same application."""
    data = submission.SubmitInput(
        department_code=input.department_code,
        applicant_iin=input.applicant_iin,
        child_iin=input.child_iin,
        phones=list(input.phones),
        email=input.email,
        kindergarten_codes=list(input.kindergarten_codes),
        any_kindergarten=input.any_kindergarten,
        group_language=input.group_language,
        desired_start=input.desired_start,
        notify_channel=input.notify_channel,
        notify_language=input.notify_language,
    )
    return await run(info, lambda: submission.submit(info.context.principal, data, idempotency_key))
