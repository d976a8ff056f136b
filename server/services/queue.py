"""Queue numbers of a cohort (R19–R20), computed by the ordering rules of server/domain
and stored on the applications."""

from __future__ import annotations

from server.domain.ordering import BenefitClass, Entry, Rule, queue_numbers
from server.models import Application, Department

COUNTED_STATES = ("queued", "suspended")


async def recompute_cohort(department: Department, cohort: int) -> dict[int, int]:
    """Stores the queue number of every registered application of the cohort; returns
    {application id: number}. Call inside the registering transaction."""
    rows = await Application.filter(
        department_id=department.id, cohort=cohort, state__in=COUNTED_STATES, registered_at__not_isnull=True
    ).values("id", "benefit_class", "registered_at", "state", "queue_number")
    entries = [
        Entry(
            key=row["id"],
            benefit_class=BenefitClass(row["benefit_class"]),
            registered_at=row["registered_at"],
            suspended=row["state"] == "suspended",
        )
        for row in rows
    ]
    numbers = queue_numbers(entries, Rule(department.priority_ratio, department.priority_slot))
    for row in rows:
        new = numbers.get(row["id"])
        if new != row["queue_number"]:
            await Application.filter(id=row["id"]).update(queue_number=new)
    return numbers
