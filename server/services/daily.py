"""The daily jobs (a cron, and `kezek deadlines --as-of DAY`): each idempotent, each
catching up on what fell due while the worker was off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from server.services import referrals


@dataclass
class Daily:
    deadlines: referrals.Deadlines = field(default_factory=referrals.Deadlines)

    def summary(self) -> str:
        d = self.deadlines
        days = ", ".join(f"{code} {day}" for code, day in sorted(d.as_of.items())) or "no departments"
        return (
            f"as of {days}: {d.expired} referrals expired, {d.cancelled} cancelled (R29), "
            f"{d.reminded} reminders, {d.restored} restored from the stop-list"
        )


async def run(as_of: date | None = None) -> Daily:
    return Daily(deadlines=await referrals.run_deadlines(as_of))
