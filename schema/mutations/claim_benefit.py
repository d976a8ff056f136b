from strawberry.file_uploads import Upload
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def read_upload(document: object) -> tuple[str, bytes]:
    if document is None:
        return "", b""
    if isinstance(document, (bytes, bytearray)):
        return "", bytes(document)
    data = await document.read()  # type: ignore[attr-defined]  # Starlette's UploadFile: strawberry types Upload as bytes
    return getattr(document, "filename", "") or "", data


async def claim_benefit(info: Info, category_code: str, document: Upload | None = None) -> ApplicationPayload:
    """A document-backed benefit claim with its scan (PDF, JPEG or PNG; R14)."""

    async def action():
        filename, data = await read_upload(document)
        await journey.claim_benefit(info.context.principal, category_code, filename, data)
        return await journey.load_draft(info.context.principal)

    return await run(info, action)
