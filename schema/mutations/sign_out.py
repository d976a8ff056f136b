from strawberry.types import Info


async def sign_out(info: Info) -> bool:
    """Ends the staff member's or the parent's log-in in this web session."""
    session = info.context.session
    if session is None:
        return False
    for key in ("staff", "cabinet", "csrf"):
        session.pop(key)
    return True
