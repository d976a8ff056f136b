"""Who is acting: a parent in a web session, an integrator with a token, the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | applicant | integrator | system
    name: str = ""
    draft_id: UUID | None = None  # the applicant's draft in this session
    application_ids: frozenset[int] = field(default_factory=frozenset)  # submitted in this session
    scopes: frozenset[str] = field(default_factory=frozenset)
    department_id: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


ANONYMOUS = Principal(kind="anonymous")
SYSTEM = Principal(kind="system", name="worker")
