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
    can stop as soon as every seat is taken (`exhausted`).

    Indexed for long queues and many groups: a turn looks only at the groups of the
    kindergartens it listed, and otherwise at the first group of its language with room
    (in kindergarten order, the same tie-break as the ranks'). Full groups are skipped
    once and for all (room only ever goes down)."""

    def __init__(self, vacancies: Sequence[Vacancy], window: Window = Window.CHOSEN) -> None:
        self.window = window
        self.room = {v.group: v.seats for v in vacancies if v.seats > 0}
        self.left = sum(self.room.values())
        ordered = sorted((v for v in vacancies if v.group in self.room), key=lambda v: (v.kindergarten, v.group))
        self.by_kindergarten: dict[tuple[str, str], list[Vacancy]] = {}
        # Per language: every group, and those in the open window (for unlisted offers).
        self.any: dict[str, list[Vacancy]] = {}
        self.open: dict[str, list[Vacancy]] = {}
        self.start: dict[tuple[str, str], int] = {}  # first possibly non-full place in a list
        for v in ordered:
            self.by_kindergarten.setdefault((v.kindergarten, v.language), []).append(v)
            self.any.setdefault(v.language, []).append(v)
            if (v.window or window) is Window.OPEN:
                self.open.setdefault(v.language, []).append(v)

    @property
    def exhausted(self) -> bool:
        return self.left <= 0

    def _fits(self, vacancy: Vacancy, turn: Sequence[Child]) -> bool:
        return self.room[vacancy.group] >= len(turn) and all(c.language == vacancy.language for c in turn)

    def _first(self, kind: str, vacancies: list[Vacancy], turn: Sequence[Child]) -> Vacancy | None:
        """The first group in a list that fits the turn, moving the list's start past full ones."""
        key = (kind, turn[0].language)
        index = self.start.get(key, 0)
        while index < len(vacancies) and self.room[vacancies[index].group] == 0:
            index += 1
        self.start[key] = index
        for vacancy in vacancies[index:]:
            if self._fits(vacancy, turn):
                return vacancy
        return None

    def take(self, turn: Sequence[Child]) -> list[Offer]:
        """The offers of one turn: the best-ranked acceptable group with room for all of it."""
        head = turn[0]
        chosen: Vacancy | None = None
        rank: int | None = None
        for position, kindergarten in enumerate(head.choices, start=1):
            for vacancy in self.by_kindergarten.get((kindergarten, head.language), ()):
                if self._fits(vacancy, turn):
                    chosen, rank = vacancy, position
                    break
            if chosen is not None:
                break
        if chosen is None:
            pool = self.any if head.any_kindergarten else self.open
            listed = set(head.choices)
            candidate = self._first("any" if head.any_kindergarten else "open", pool.get(head.language, []), turn)
            # A listed kindergarten without room for the turn was already tried above.
            while candidate is not None and candidate.kindergarten in listed:
                rest = pool[head.language][pool[head.language].index(candidate) + 1 :]
                candidate = next((v for v in rest if self._fits(v, turn) and v.kindergarten not in listed), None)
            chosen = candidate
        if chosen is None:
            return []
        self.room[chosen.group] -= len(turn)
        self.left -= len(turn)
        window = chosen.window or self.window
        return [Offer(child.key, chosen.group, chosen.kindergarten, rank, window) for child in turn]


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
