"""Who may see what."""

from __future__ import annotations

from server.auth.principal import Principal
from server.models import Application


def can_read_application(principal: Principal, application: Application) -> bool:
    """Its applicant (the web session that submitted it or holds the draft) or an
    integrator with the read scope for its department."""
    if principal.kind == "applicant":
        return application.id in principal.application_ids or application.public_id == principal.draft_id
    if principal.kind == "integrator" and principal.has_scope("applications:read"):
        return principal.department_id in (None, application.department_id)
    return False
