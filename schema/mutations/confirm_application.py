from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, remember_submitted, run
from server.services import submission


async def confirm_application(info: Info, idempotency_key: str | None = None) -> ApplicationPayload:
    """The parent confirms the summary (R9). Repeating it returns the same application."""

    async def action():
        model = await submission.confirm(info.context.principal, idempotency_key)
        remember_submitted(info, model)
        return model

    return await run(info, action)
