from strawberry.types import Info

from schema.context import Context


async def sign_out(info: Info[Context, None]) -> bool:
    """Ends the staff member's or the parent's log-in in this web session."""
    session = info.context.session
    if session is None:
        return False
    session.sign_out()
    return True
