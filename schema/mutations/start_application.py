import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, remember_draft, run
from server.services import journey


@strawberry.input
class StartApplicationInput:
    department_code: str
    applicant_iin: str
    phone: str


async def start_application(info: Info, input: StartApplicationInput) -> ApplicationPayload:
    """Step 1: the applicant's IIN and first phone; sends a one-time password to it."""
    result: dict = {}

    async def action():
        started = await journey.start(
            info.context.principal, input.department_code, input.applicant_iin, input.phone, info.context.ip
        )
        remember_draft(info, started.draft)
        result["challenge"] = started.challenge_id
        return started.draft

    return await run(info, action, challenge=lambda: result.get("challenge"))
