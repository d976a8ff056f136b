"""Who is acting: a parent in a web session, an integrator with a token, the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | applicant | staff | integrator | system
    name: str = ""
    draft_id: UUID | None = None  # the applicant's draft in this session
    application_ids: frozenset[int] = field(default_factory=frozenset)  # submitted in this session
    scopes: frozenset[str] = field(default_factory=frozenset)
    department_id: int | None = None
    role: str | None = (
        None  # staff: operator | verifier | admin | kindergarten (integrators: from a staff:<role> scope)
    )
    staff_id: int | None = None
    kindergarten_id: int | None = None  # staff of one kindergarten (role `kindergarten`)
    # Applications of the applicant who logged in to the cabinet with a one-time password.
    cabinet_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal(kind="anonymous")
SYSTEM = Principal(kind="system", name="worker")
