"""The steps of the application journey, in order."""

from __future__ import annotations

STEPS = ("start", "phone1", "contacts", "phone2", "child", "preferences", "benefits", "notifications")
PAGES = (*STEPS, "summary")  # a page for each step, then the summary to confirm


def step_index(step: str) -> int:
    return STEPS.index(step)


def next_step(step: str) -> str:
    """The page that follows a completed step ("summary" after the last)."""
    index = step_index(step) + 1
    return STEPS[index] if index < len(STEPS) else "summary"


def needs(page: str) -> str | None:
    """The step a page needs completed before it can be shown (none for the first)."""
    index = PAGES.index(page)
    return PAGES[index - 1] if index else None
