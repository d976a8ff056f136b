from strawberry.file_uploads import Upload
from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from schema.mutations.claim_benefit import read_upload
from server.services import backoffice


async def staff_add_benefit(
    info: Info,
    registration_number: str,
    version: int,
    category_code: str,
    reason: str = "",
    document: Upload | None = None,
) -> StaffPayload:
    """Staff: adds a document-backed benefit on the parent's behalf, confirmed (R15)."""

    async def action():
        filename, data = await read_upload(document)
        return await backoffice.add_benefit(
            edit(info, registration_number, version, reason), category_code, filename, data
        )

    return await run_staff(info, registration_number, action)
