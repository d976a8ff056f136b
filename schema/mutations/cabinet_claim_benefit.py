from strawberry.file_uploads import Upload
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from schema.mutations.claim_benefit import read_upload
from server.services import cabinet


async def cabinet_claim_benefit(
    info: Info, registration_number: str, category_code: str, document: Upload | None = None
) -> ApplicationPayload:
    """Cabinet: a document-backed benefit claimed later (R14, R15), pending until staff decide."""

    async def action():
        filename, data = await read_upload(document)
        return await cabinet.claim_benefit(info.context.principal, registration_number, category_code, filename, data)

    return await run(info, action)
