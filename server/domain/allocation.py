"""Who is offered which seat (R26, R27, R21): serial choice in queue order.

Pure: the caller reads the cohort's order through the queue service and the open seats
from the database, and writes what this returns. The dry run of the back-office calls
the same function and writes nothing.

Go down the queue; each turn (one child, or twins standing together as one batch) takes
the best-ranked of its choices that still has room for the whole turn in a group of its
language. So nobody ahead envies an offer made to someone behind: whatever a child behind
received, a child ahead either did not want, or it was full when the child ahead chose.

Two windows (R27). While seats are `CHOSEN` (the priority window), a turn may take only
kindergartens it listed, or any kindergarten when it said "any". Once the window has
passed, seats still open are `OPEN`: they go on down the same cohort in queue order to
turns that did not list that kindergarten, as an offer the parent may decline for free.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Window(StrEnum):
    CHOSEN = "chosen"  # the priority window: only to children who chose the kindergarten
    OPEN = "open"  # after it: to any child of the cohort, declining costs nothing


@dataclass(frozen=True)
class Vacancy:
    """Open seats of one group: a kindergarten's age group of the cohort, in one language."""

    group: int
    kindergarten: str
    language: str
    seats: int
    window: Window | None = None  # None: the window of the run (`allocate(window=…)`)


@dataclass(frozen=True)
class Child:
    """One application waiting for a place, as the queue orders it.

    `choices` are the listed kindergartens, best first; `any_kindergarten` accepts every
    kindergarten after them. Twins share a `batch` and stand next to each other."""

    key: int
    language: str
    choices: tuple[str, ...] = ()
    any_kindergarten: bool = False
    batch: int | None = None


@dataclass(frozen=True)
class Offer:
    key: int
    group: int
    kindergarten: str
    rank: int | None  # 1-based place of the kindergarten in the child's list; None if not listed
    window: Window


def turns(queue: Iterable[Child]) -> Iterator[tuple[Child, ...]]:
    """The queue cut into turns: a child alone, or its batch of twins together."""
    turn: tuple[Child, ...] = ()
    for child in queue:
        if turn and child.batch is not None and turn[0].batch == child.batch:
            turn = (*turn, child)
            continue
        if turn:
            yield turn
        turn = (child,)
    if turn:
        yield turn


def acceptable(child: Child, kindergarten: str, window: Window) -> int | None:
    """How much the child wants a kindergarten: its 1-based rank (smaller is better),
    len(choices) + 1 for any other one it accepts, None when it may not be offered."""
    if kindergarten in child.choices:
        return child.choices.index(kindergarten) + 1
    if child.any_kindergarten or window is Window.OPEN:
        return len(child.choices) + 1
    return None


class Allocator:
    """Serial choice one turn at a time, so that a caller reading a long queue in pages
    can stop as soon as every seat is taken (`exhausted`)."""

    def __init__(self, vacancies: Sequence[Vacancy], window: Window = Window.CHOSEN) -> None:
        self.room = {v.group: v.seats for v in vacancies if v.seats > 0}
        self.groups = sorted((v for v in vacancies if v.group in self.room), key=lambda v: (v.kindergarten, v.group))
        self.window = window

    @property
    def exhausted(self) -> bool:
        return not any(self.room.values())

    def take(self, turn: Sequence[Child]) -> list[Offer]:
        """The offers of one turn: the best-ranked acceptable group with room for all of it."""
        head = turn[0]
        best: tuple[int, str, int, Window] | None = None
        for vacancy in self.groups:
            if self.room[vacancy.group] < len(turn) or any(c.language != vacancy.language for c in turn):
                continue
            window = vacancy.window or self.window
            rank = acceptable(head, vacancy.kindergarten, window)
            if rank is None:
                continue
            candidate = (rank, vacancy.kindergarten, vacancy.group, window)
            if best is None or candidate[:3] < best[:3]:
                best = candidate
        if best is None:
            return []
        rank, kindergarten, group, window = best
        self.room[group] -= len(turn)
        listed = rank if rank <= len(head.choices) else None
        return [Offer(child.key, group, kindergarten, listed, window) for child in turn]


def allocate(queue: Iterable[Child], vacancies: Sequence[Vacancy], window: Window = Window.CHOSEN) -> list[Offer]:
    """The offers to make now, in queue order. `queue` holds only the children that may
    receive an offer (active, not suspended, no open offer), in queue order; a vacancy
    without a window of its own is in `window`."""
    allocator = Allocator(vacancies, window)
    offers: list[Offer] = []
    for turn in turns(queue):
        if allocator.exhausted:
            break
        offers.extend(allocator.take(turn))
    return offers
