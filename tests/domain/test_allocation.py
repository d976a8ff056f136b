"""server/domain/allocation.py: serial choice in queue order (R26, R27, R21), against a
separately written reference model (deferred acceptance, which gives the same matching
when every seat ranks children by the one queue) and as properties with twins."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.allocation import Child, Offer, Vacancy, Window, acceptable, allocate, turns

GARDENS = ("KG01", "KG02", "KG03", "KG04", "KG05")
LANGS = ("kk", "ru")


def test_each_child_gets_its_best_choice_that_still_has_a_seat():
    queue = [
        Child(1, "ru", ("KG03", "KG01")),
        Child(2, "ru", ("KG03", "KG02")),
        Child(3, "ru", ("KG03",)),
        Child(4, "kk", ("KG01",)),
    ]
    seats = [Vacancy(10, "KG01", "ru", 1), Vacancy(30, "KG03", "ru", 1), Vacancy(20, "KG02", "ru", 1)]
    offers = allocate(queue, seats)
    assert [(o.key, o.kindergarten, o.rank) for o in offers] == [(1, "KG03", 1), (2, "KG02", 2)]
    # child 3 listed only KG03, taken by the child ahead; child 4 wants a Kazakh group


def test_a_third_choice_is_never_given_while_the_first_stays_open_behind():
    queue = [Child(1, "kk", ("KG01", "KG02", "KG03")), Child(2, "kk", ("KG03",))]
    offers = allocate(queue, [Vacancy(1, "KG03", "kk", 1), Vacancy(2, "KG01", "kk", 1)])
    assert [(o.key, o.kindergarten) for o in offers] == [(1, "KG01"), (2, "KG03")]


def test_any_kindergarten_takes_its_listed_ones_first():
    queue = [Child(1, "ru", ("KG02",), any_kindergarten=True), Child(2, "ru", any_kindergarten=True)]
    offers = allocate(queue, [Vacancy(1, "KG01", "ru", 1), Vacancy(2, "KG02", "ru", 1)])
    assert [(o.key, o.kindergarten, o.rank) for o in offers] == [(1, "KG02", 1), (2, "KG01", None)]


def test_twins_are_offered_together_or_not_at_all():
    queue = [Child(1, "ru", ("KG01",), batch=7), Child(2, "ru", ("KG01",), batch=7), Child(3, "ru", ("KG01",))]
    assert [o.key for o in allocate(queue, [Vacancy(1, "KG01", "ru", 1)])] == [3]
    assert [(o.key, o.group) for o in allocate(queue, [Vacancy(1, "KG01", "ru", 2)])] == [(1, 1), (2, 1)]


def test_after_the_window_seats_go_down_the_queue_to_those_who_did_not_list_them():
    queue = [Child(1, "kk", ("KG02",)), Child(2, "kk", ("KG03",))]
    seats = [Vacancy(1, "KG01", "kk", 1)]
    assert allocate(queue, seats, Window.CHOSEN) == []
    assert allocate(queue, seats, Window.OPEN) == [Offer(1, 1, "KG01", None, Window.OPEN)]


# --- the reference model --------------------------------------------------------------


def deferred_acceptance(queue: list[Child], vacancies: list[Vacancy], window: Window) -> dict[int, int]:
    """Children propose down their lists; each group keeps the earliest in the queue up
    to its seats and rejects the rest, until nobody is rejected. Single children only."""
    position = {c.key: i for i, c in enumerate(queue)}
    seats = {v.group: v.seats for v in vacancies}

    def wishes(child: Child) -> list[int]:
        ranked = []
        for v in vacancies:
            rank = acceptable(child, v.kindergarten, v.window or window)
            if rank is not None and v.language == child.language and v.seats > 0:
                ranked.append((rank, v.kindergarten, v.group))
        return [group for _, _, group in sorted(ranked)]

    lists = {c.key: wishes(c) for c in queue}
    next_wish = dict.fromkeys(lists, 0)
    held: dict[int, list[int]] = {g: [] for g in seats}
    free = [c.key for c in queue]
    while free:
        key = free.pop()
        if next_wish[key] >= len(lists[key]):
            continue
        group = lists[key][next_wish[key]]
        next_wish[key] += 1
        held[group] = sorted([*held[group], key], key=position.__getitem__)
        if len(held[group]) > seats[group]:
            free.append(held[group].pop())
    return {key: group for group, keys in held.items() for key in keys}


children = st.builds(
    Child,
    key=st.just(0),
    language=st.sampled_from(LANGS),
    choices=st.lists(st.sampled_from(GARDENS), max_size=4, unique=True).map(tuple),
    any_kindergarten=st.booleans(),
)
# Some vacancies carry their own window (a seat whose priority window has passed).
vacancy_lists = st.lists(
    st.tuples(st.sampled_from(GARDENS), st.sampled_from(LANGS), st.integers(0, 3), st.sampled_from([None, *Window])),
    max_size=8,
).map(lambda rows: [Vacancy(i + 1, kg, lang, n, w) for i, (kg, lang, n, w) in enumerate(rows)])


def numbered(raw: list[Child]) -> list[Child]:
    return [Child(i + 1, c.language, c.choices, c.any_kindergarten, c.batch) for i, c in enumerate(raw)]


@settings(max_examples=800, deadline=None)
@given(st.lists(children, max_size=25), vacancy_lists, st.sampled_from(Window))
def test_serial_choice_equals_deferred_acceptance(raw, vacancies, window):
    queue = numbered(raw)
    offers = allocate(queue, vacancies, window)
    assert {o.key: o.group for o in offers} == deferred_acceptance(queue, vacancies, window)


# --- properties, with twins -----------------------------------------------------------


@st.composite
def queues_with_twins(draw):
    raw = draw(st.lists(children, max_size=20))
    queue: list[Child] = []
    batch = 0
    for child in raw:
        if draw(st.integers(0, 5)) == 0:  # twins (sometimes triplets): one applicant, one choice
            batch += 1
            for _ in range(draw(st.integers(2, 3))):
                queue.append(Child(0, child.language, child.choices, child.any_kindergarten, batch))
        else:
            queue.append(child)
    return numbered(queue)


@settings(max_examples=800, deadline=None)
@given(queues_with_twins(), vacancy_lists, st.sampled_from(Window))
def test_offers_are_fair_full_and_never_oversold(queue, vacancies, window):
    offers = allocate(queue, vacancies, window)
    by_key = {o.key: o for o in offers}
    assert len(by_key) == len(offers)  # one offer per child
    taken = Counter(o.group for o in offers)
    seats = {v.group: v.seats for v in vacancies}
    assert all(taken[g] <= seats[g] for g in taken)  # no seat offered twice
    left = {g: seats[g] - taken[g] for g in seats}
    order = list(turns(queue))
    for turn in order:  # twins together or not at all
        assert len({by_key[c.key].group if c.key in by_key else None for c in turn}) == 1
    for i, ahead in enumerate(order):
        head = ahead[0]
        got = by_key.get(head.key)
        mine = None if got is None else acceptable(head, got.kindergarten, got.window)
        for v in vacancies:
            rank = acceptable(head, v.kindergarten, v.window or window)
            if rank is None or v.language != head.language:
                continue
            if got is None:  # every seat that could be offered is
                assert left[v.group] < len(ahead), (head, v)
            for behind in order[i + 1 :]:  # nobody ahead envies an offer made behind
                other = by_key.get(behind[0].key)
                if other is not None and other.group == v.group and len(ahead) <= len(behind):
                    assert mine is not None and mine <= rank, (head, other)


def test_each_vacancy_may_carry_its_own_window():
    queue = [Child(1, "kk", ("KG02",)), Child(2, "kk", ("KG01",))]
    seats = [Vacancy(1, "KG01", "kk", 1, Window.OPEN), Vacancy(2, "KG02", "kk", 1)]
    offers = allocate(queue, seats)
    assert [(o.key, o.kindergarten, o.window) for o in offers] == [(1, "KG02", Window.CHOSEN), (2, "KG01", Window.OPEN)]
