"""server/domain/ordering.py: the order of a cohort (R20, R22, R23)."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.ordering import BenefitClass, Entry, Rule, order, standings

E, P, G = BenefitClass.EXTRAORDINARY, BenefitClass.PRIORITY, BenefitClass.GENERAL
T0 = datetime(2026, 1, 5, 9, 0, 0)


def cohort(*specs: str, suspended: tuple[str, ...] = ()) -> tuple[list[Entry], dict[int, str]]:
    """Entries named like "G1", "P2", "E1", registered in the order given."""
    classes = {"E": E, "P": P, "G": G}
    entries, names = [], {}
    for n, name in enumerate(specs):
        entries.append(
            Entry(
                key=100 + n,
                benefit_class=classes[name[0]],
                registered_at=T0 + timedelta(microseconds=n),
                suspended=name in suspended,
            )
        )
        names[100 + n] = name
    return entries, names


def names_in_order(specs: tuple[str, ...] | list[str], rule: Rule | None = None, **kw) -> list[str]:
    entries, names = cohort(*specs, **kw)
    return [names[e.key] for e in order(entries, rule or Rule())]


G5 = ("G1", "G2", "G3", "G4", "G5")
P3 = ("P1", "P2", "P3")


def test_worked_example_of_r20():
    # General G1…G5 registered first, then priority P1…P3, then extraordinary E1.
    assert names_in_order((*G5, *P3, "E1")) == ["E1", "P1", "G1", "G2", "G3", "P2", "G4", "G5", "P3"]


def test_worked_example_does_not_depend_on_input_order():
    entries, names = cohort(*G5, *P3, "E1")
    shuffled = entries[::-1]
    assert [names[e.key] for e in order(shuffled)] == ["E1", "P1", "G1", "G2", "G3", "P2", "G4", "G5", "P3"]


def test_default_rule_is_one_priority_to_three_general_slot_first():
    assert Rule() == Rule(ratio=3, priority_slot=0)


def test_priority_slot_last():
    rule = Rule(ratio=3, priority_slot=3)
    assert names_in_order((*G5, *P3, "E1"), rule) == ["E1", "G1", "G2", "G3", "P1", "G4", "G5", "P2", "P3"]


def test_priority_slot_in_the_middle():
    rule = Rule(ratio=3, priority_slot=1)
    assert names_in_order((*G5, "G6", *P3), rule) == ["G1", "P1", "G2", "G3", "G4", "P2", "G5", "G6", "P3"]


def test_ratio_one_alternates():
    assert names_in_order(("G1", "G2", "G3", "P1", "P2", "P3"), Rule(ratio=1)) == (["P1", "G1", "P2", "G2", "P3", "G3"])
    assert names_in_order(("G1", "G2", "G3", "P1", "P2", "P3"), Rule(ratio=1, priority_slot=1)) == (
        ["G1", "P1", "G2", "P2", "G3", "P3"]
    )


def test_when_general_runs_out_priority_continues_alone():
    assert names_in_order(("G1", "P1", "P2", "P3", "P4")) == ["P1", "G1", "P2", "P3", "P4"]


def test_when_priority_runs_out_general_continues_alone():
    assert names_in_order(("P1", *G5, "G6", "G7")) == ["P1", "G1", "G2", "G3", "G4", "G5", "G6", "G7"]


def test_single_streams():
    assert names_in_order(G5) == list(G5)
    assert names_in_order(P3) == list(P3)
    assert names_in_order(("E2", "E1")) == ["E2", "E1"]  # by registration time, not by name
    assert names_in_order(()) == []


def test_every_extraordinary_comes_first_by_registration_time():
    got = names_in_order(("P1", "E1", "G1", "E2", "G2", "E3"))
    assert got == ["E1", "E2", "E3", "P1", "G1", "G2"]


def test_suspended_entries_are_skipped_and_the_rest_close_up():
    got = names_in_order((*G5, *P3, "E1"), suspended=("P1", "G2", "E1"))
    assert got == ["P2", "G1", "G3", "G4", "P3", "G5"]


def test_a_restored_entry_keeps_its_registration_time():
    suspended = names_in_order((*G5, *P3), suspended=("G1",))
    restored = names_in_order((*G5, *P3))
    assert "G1" not in suspended
    assert restored.index("G1") == 1  # back at its original place, right after P1


def test_ties_in_registration_time_are_broken_by_key():
    same = T0
    entries = [Entry(key=k, benefit_class=G, registered_at=same) for k in (3, 1, 2)]
    assert [e.key for e in order(entries)] == [1, 2, 3]


def test_queue_numbers_are_one_based_positions_of_active_entries():
    entries, names = cohort(*G5, *P3, "E1", suspended=("G3",))
    numbers = {names[k]: s.number for k, s in standings(entries).items()}
    assert numbers == {"E1": 1, "P1": 2, "G1": 3, "G2": 4, "G4": 5, "P2": 6, "G5": 7, "P3": 8}


@pytest.mark.parametrize(("ratio", "slot"), [(0, 0), (-1, 0), (3, 4), (3, -1), (1, 2)])
def test_rules_outside_a_block_are_refused(ratio, slot):
    with pytest.raises(ValueError, match=r"ratio|priority_slot"):
        Rule(ratio=ratio, priority_slot=slot)


# --- An obviously correct reference model. ----------------------------------------


def reference_order(entries: list[Entry], ratio: int, slot: int) -> list[Entry]:
    """Build the blocks one by one: each is `ratio` generals with one priority at `slot`.
    The moment a block asks for an empty stream, the other stream follows alone.
    Twins: a batch is one turn, in the stream of its strongest member, at the time of
    its earliest member; its members follow each other in registration order."""
    active = [e for e in entries if not e.suspended]
    groups: dict[object, list[Entry]] = {}
    for e in active:
        groups.setdefault(("batch", e.batch) if e.batch is not None else ("alone", e.key), []).append(e)
    turns = []
    for members in groups.values():
        members.sort(key=lambda e: (e.registered_at, e.key))
        strongest = (
            E if any(m.benefit_class == E for m in members) else P if any(m.benefit_class == P for m in members) else G
        )
        turns.append((strongest, members))

    def stream(cls: BenefitClass) -> deque[list[Entry]]:
        mine = [members for c, members in turns if c == cls]
        return deque(sorted(mine, key=lambda m: (m[0].registered_at, m[0].key)))

    extraordinary, priority, general = stream(E), stream(P), stream(G)
    result = list(extraordinary)
    pattern = ["G"] * ratio
    pattern.insert(slot, "P")
    exhausted = False
    while not exhausted and (priority or general):
        for label in pattern:
            source = priority if label == "P" else general
            if not source:
                exhausted = True
                break
            result.append(source.popleft())
    result.extend(priority)
    result.extend(general)
    return [e for members in result for e in members]


entry_specs = st.lists(
    st.tuples(
        st.sampled_from([E, P, G, G, G]),
        st.integers(0, 30),  # small range: ties in time happen
        st.sampled_from([False, False, False, True]),  # suspended
    ),
    max_size=40,
)


@st.composite
def cohorts(draw) -> list[Entry]:
    specs = draw(entry_specs)
    keys = draw(st.permutations(range(len(specs))))
    # A few batches of twins (or triplets) among the entries.
    batches = draw(
        st.lists(st.sampled_from([None, None, None, None, 1, 2, 3]), min_size=len(specs), max_size=len(specs))
    )
    return [
        Entry(key=key, benefit_class=cls, registered_at=T0 + timedelta(seconds=t), suspended=s, batch=b)
        for key, (cls, t, s), b in zip(keys, specs, batches, strict=False)
    ]


@st.composite
def rules(draw) -> Rule:
    ratio = draw(st.integers(1, 5))
    return Rule(ratio=ratio, priority_slot=draw(st.integers(0, ratio)))


@settings(max_examples=3000, deadline=None)
@given(cohorts(), rules())
def test_order_matches_the_reference_model(entries, rule):
    got = order(entries, rule)
    assert got == reference_order(entries, rule.ratio, rule.priority_slot)


@settings(max_examples=500, deadline=None)
@given(cohorts(), rules())
def test_order_is_a_permutation_of_the_active_entries_keeping_each_stream_in_time(entries, rule):
    got = order(entries, rule)
    active = [e for e in entries if not e.suspended]
    assert sorted(e.key for e in got) == sorted(e.key for e in active)
    alone = [e for e in got if e.batch is None]
    for cls in (E, P, G):
        times = [(e.registered_at, e.key) for e in alone if e.benefit_class == cls]
        assert times == sorted(times)
    for batch in {e.batch for e in got if e.batch is not None}:
        places = [i for i, e in enumerate(got) if e.batch == batch]
        assert places == list(range(places[0], places[0] + len(places)))  # R21: side by side
    if not any(e.batch is not None for e in active):
        n_extra = sum(e.benefit_class == E for e in active)
        assert all(e.benefit_class == E for e in got[:n_extra])
    numbers = {k: s.number for k, s in standings(entries, rule).items()}
    assert sorted(numbers.values()) == list(range(1, len(active) + 1))
    assert [numbers[e.key] for e in got] == list(range(1, len(got) + 1))


@settings(max_examples=500, deadline=None)
@given(cohorts(), rules())
def test_standings_count_who_stands_ahead_by_class(entries, rule):
    got = order(entries, rule)
    places = standings(entries, rule)
    for index, entry in enumerate(got):
        ahead = got[:index]
        s = places[entry.key]
        assert s.number == index + 1
        assert (s.ahead_extraordinary, s.ahead_priority, s.ahead_general) == (
            sum(e.benefit_class == E for e in ahead),
            sum(e.benefit_class == P for e in ahead),
            sum(e.benefit_class == G for e in ahead),
        )


def twins(*specs: str, batch_of: dict[str, int], suspended: tuple[str, ...] = ()) -> list[str]:
    entries, names = cohort(*specs, suspended=suspended)
    entries = [Entry(e.key, e.benefit_class, e.registered_at, e.suspended, batch_of.get(names[e.key])) for e in entries]
    return [names[e.key] for e in order(entries)]


def test_twins_stand_together_at_the_earlier_twin_s_place():
    # G1 and G4 are twins: G4 stands right behind G1, the others move back by one.
    assert twins("G1", "G2", "G3", "G4", batch_of={"G1": 1, "G4": 1}) == ["G1", "G4", "G2", "G3"]


def test_a_batch_takes_one_turn_in_the_stream_of_its_strongest_member():
    # P-twin with a general twin: the batch stands in the priority stream, both at once.
    got = twins("G1", "G2", "G3", "G4", "P1", "G5", batch_of={"P1": 1, "G5": 1})
    assert got == ["P1", "G5", "G1", "G2", "G3", "G4"]


def test_a_suspended_twin_is_skipped_and_the_other_stands_at_its_own_time():
    got = twins("G1", "G2", "G3", batch_of={"G1": 1, "G3": 1}, suspended=("G1",))
    assert got == ["G2", "G3"]


def test_benefit_class_is_the_strongest_confirmed_one():
    from server.domain.benefits import class_of

    assert class_of([]) is BenefitClass.GENERAL
    assert class_of(["priority"]) is BenefitClass.PRIORITY
    assert class_of(["priority", "extraordinary", "priority"]) is BenefitClass.EXTRAORDINARY
