"""server/domain/explain.py: why a queue number changed (R24), and twins (R21)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.age import are_twins
from server.domain.explain import ChangeKind, Moved, explain
from server.domain.ordering import BenefitClass, Entry, Rule, standings

T0 = datetime(2026, 1, 5, 9, 0, 0)
G, P, E = BenefitClass.GENERAL, BenefitClass.PRIORITY, BenefitClass.EXTRAORDINARY


def queue_numbers(entries: list[Entry], rule: Rule | None = None) -> dict[int, int]:
    """Each active entry's queue number (the standings' numbers)."""
    return {key: standing.number for key, standing in standings(entries, rule or Rule()).items()}


def test_arrivals_ahead_are_counted_by_class():
    old = {1: 1, 2: 2, 3: 3}
    new = {10: 1, 1: 2, 2: 3, 11: 4, 3: 5}
    changes = {
        10: Moved(ChangeKind.REGISTERED, None, 1, "priority"),
        11: Moved(ChangeKind.REGISTERED, None, 4, "extraordinary"),
    }
    assert explain(old, new, changes) == {
        1: {"registered_priority": 1},
        2: {"registered_priority": 1},
        3: {"registered_priority": 1, "registered_extraordinary": 1},
    }


def test_departures_ahead_are_counted_and_those_behind_are_not():
    old = {1: 1, 2: 2, 3: 3, 4: 4}
    new = {1: 1, 3: 2, 4: 3}
    changes = {2: Moved(ChangeKind.OFFERED, 2, None)}
    assert explain(old, new, changes) == {3: {"offered": 1}, 4: {"offered": 1}}


def test_a_mover_counts_only_for_those_it_crossed():
    # 4 gains a benefit and jumps from 4 to 1: 1..3 each move back by one.
    old = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    new = {4: 1, 1: 2, 2: 3, 3: 4, 5: 5}
    changes = {4: Moved(ChangeKind.BENEFIT_GAINED, 4, 1, "priority")}
    assert explain(old, new, changes) == {
        1: {"benefit_gained": 1},
        2: {"benefit_gained": 1},
        3: {"benefit_gained": 1},
        4: {"own_benefit_gained": 1},
    }


def test_an_unexplained_move_says_the_interleaving_moved_it():
    assert explain({1: 1, 2: 2}, {1: 2, 2: 1}, {}) == {1: {"reordered": 1}, 2: {"reordered": 1}}


def test_unchanged_and_new_numbers_are_not_explained():
    assert explain({1: 1}, {1: 1, 2: 2}, {2: Moved(ChangeKind.REGISTERED, None, 2)}) == {}


@st.composite
def general_histories(draw):
    """A cohort of general applications before and after some arrivals and departures."""
    before = draw(st.integers(1, 30))
    keys = list(range(before))
    leaving = draw(st.sets(st.sampled_from(keys), max_size=before))
    arriving = draw(st.lists(st.integers(-5, 60), max_size=10))  # registration minutes
    return before, leaving, arriving


@settings(max_examples=400, deadline=None)
@given(general_histories())
def test_in_one_stream_every_move_is_exactly_its_arrivals_minus_its_departures(history):
    before, leaving, arriving = history
    old_entries = [Entry(k, G, T0 + timedelta(minutes=2 * k)) for k in range(before)]
    new_entries = [e for e in old_entries if e.key not in leaving] + [
        Entry(1000 + n, G, T0 + timedelta(minutes=m, seconds=1)) for n, m in enumerate(arriving)
    ]
    old, new = queue_numbers(old_entries), queue_numbers(new_entries)
    changes = {k: Moved(ChangeKind.WITHDRAWN, old[k], None) for k in leaving}
    changes |= {k: Moved(ChangeKind.REGISTERED, None, new[k]) for k in new if k >= 1000}
    for key, reasons in explain(old, new, changes).items():
        arrivals = reasons.get("registered_general", 0)
        departures = reasons.get("withdrawn", 0)
        assert new[key] - old[key] == arrivals - departures


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([G, G, G, P, E]), min_size=1, max_size=40), st.data())
def test_every_changed_number_has_a_reason(classes, data):
    entries = [Entry(k, c, T0 + timedelta(minutes=k)) for k, c in enumerate(classes)]
    rule = Rule()
    old = queue_numbers(entries, rule)
    gone = data.draw(st.sets(st.sampled_from(range(len(entries)))))
    extra = data.draw(st.lists(st.sampled_from([G, P, E]), max_size=5))
    after = [e for e in entries if e.key not in gone] + [
        Entry(500 + n, c, T0 + timedelta(minutes=100 + n)) for n, c in enumerate(extra)
    ]
    new = queue_numbers(after, rule)
    changes = {k: Moved(ChangeKind.WITHDRAWN, old[k], None) for k in gone}
    changes |= {
        k: Moved(ChangeKind.REGISTERED, None, new[k], c.value) for k, c in ((500 + n, c) for n, c in enumerate(extra))
    }
    explained = explain(old, new, changes)
    for key in old:
        if key in new and new[key] != old[key]:
            assert explained[key] and all(count > 0 for count in explained[key].values())
        else:
            assert key not in explained


def test_twins_are_born_within_a_month():
    assert are_twins(date(2023, 5, 10), date(2023, 5, 10))
    assert are_twins(date(2023, 5, 10), date(2023, 6, 10))
    assert are_twins(date(2023, 6, 10), date(2023, 5, 10))
    assert not are_twins(date(2023, 5, 10), date(2023, 6, 11))
    assert are_twins(date(2024, 1, 31), date(2024, 2, 29))  # to the month's last day
    assert not are_twins(date(2024, 1, 31), date(2024, 3, 1))
    assert are_twins(date(2022, 12, 20), date(2023, 1, 19))
