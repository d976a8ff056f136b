"""server/domain/passed_over.py: why a seat offered to another child was not this child's,
by example and as properties, and against the allocation itself: for every child of a
random queue who did not get a seat that went to someone else, the explanation is one the
records support, never `UNEXPLAINED` for a single child waiting in the queue."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.allocation import Child, Vacancy, Window, allocate
from server.domain.passed_over import Applicant, OfferSeen, PassedOver, Reason, Standing, rank_of, why_not

GARDENS = ("KG01", "KG02", "KG03", "KG04", "KG05")
LANGS = ("kk", "ru")


def seen(
    number: int = 3, kindergarten: str = "KG02", language: str = "ru", window: Window = Window.CHOSEN
) -> OfferSeen:
    return OfferSeen(number=number, kindergarten=kindergarten, language=language, window=window)


def me(number: int | None = 7, language: str = "ru", choices: tuple[str, ...] = ("KG01", "KG02"), **kw) -> Applicant:
    return Applicant(number=number, language=language, choices=choices, **kw)


# --- by example ----------------------------------------------------------------------------


def test_the_child_ahead_chose_it_and_you_listed_it_second():
    assert why_not(me(), seen()) == PassedOver(Reason.AHEAD, 2)


def test_you_did_not_list_it():
    assert why_not(me(choices=("KG01",)), seen()) == PassedOver(Reason.NOT_LISTED, None)
    # "any kindergarten" lists them all, after the named ones
    assert why_not(me(choices=("KG01",), any_kindergarten=True), seen()) == PassedOver(Reason.AHEAD, None)


def test_another_language_comes_first():
    assert why_not(me(language="kk"), seen()) == PassedOver(Reason.OTHER_LANGUAGE, 2)
    assert why_not(me(language="kk", choices=()), seen(window=Window.OPEN)).reason is Reason.OTHER_LANGUAGE


def test_after_the_window_a_child_ahead_takes_it_listed_or_not():
    assert why_not(me(choices=()), seen(window=Window.OPEN)) == PassedOver(Reason.OPEN_WINDOW_AHEAD, None)
    assert why_not(me(), seen(window=Window.OPEN)) == PassedOver(Reason.OPEN_WINDOW_AHEAD, 2)


def test_a_child_behind_got_it_because_you_were_out_of_the_running():
    behind = seen(number=9)
    assert why_not(me(standing=Standing.OFFERED), behind).reason is Reason.HAD_OFFER
    assert why_not(me(standing=Standing.SUSPENDED), behind).reason is Reason.NOT_WAITING
    assert why_not(me(standing=Standing.NOT_REGISTERED, number=None), behind).reason is Reason.NOT_REGISTERED
    assert why_not(me(twins=True), behind).reason is Reason.TWINS
    assert why_not(me(), behind).reason is Reason.UNEXPLAINED  # serial choice forbids it: the records disagree
    assert why_not(me(number=None), behind).reason is Reason.UNEXPLAINED


def test_registered_after_the_offer():
    assert why_not(me(standing=Standing.NOT_REGISTERED, number=None), seen()).reason is Reason.NOT_REGISTERED


# --- as properties ---------------------------------------------------------------------------

applicants = st.builds(
    Applicant,
    number=st.one_of(st.none(), st.integers(1, 50)),
    language=st.sampled_from(LANGS),
    choices=st.lists(st.sampled_from(GARDENS), unique=True, max_size=4).map(tuple),
    any_kindergarten=st.booleans(),
    standing=st.sampled_from(list(Standing)),
    twins=st.booleans(),
)
offers = st.builds(
    OfferSeen,
    number=st.integers(1, 50),
    kindergarten=st.sampled_from(GARDENS),
    language=st.sampled_from(LANGS),
    window=st.sampled_from(list(Window)),
)


@given(applicants, offers)
def test_the_rank_is_the_place_in_the_list(applicant, offer):
    result = why_not(applicant, offer)
    assert result.rank == rank_of(applicant.choices, offer.kindergarten)
    if result.rank is not None:
        assert applicant.choices[result.rank - 1] == offer.kindergarten


@given(applicants, offers)
def test_each_reason_holds_what_it_says(applicant, offer):
    reason = why_not(applicant, offer).reason
    if offer.language != applicant.language:
        assert reason is Reason.OTHER_LANGUAGE
        return
    assert reason is not Reason.OTHER_LANGUAGE
    listed = offer.kindergarten in applicant.choices or applicant.any_kindergarten
    if reason is Reason.NOT_LISTED:
        assert offer.window is Window.CHOSEN and not listed
    elif reason is Reason.NOT_REGISTERED:
        assert applicant.standing is Standing.NOT_REGISTERED
    elif reason in (Reason.AHEAD, Reason.OPEN_WINDOW_AHEAD):
        assert applicant.number is not None and offer.number < applicant.number
        assert (reason is Reason.AHEAD) == (offer.window is Window.CHOSEN)
        assert listed or offer.window is Window.OPEN
    elif reason is Reason.HAD_OFFER:
        assert applicant.standing is Standing.OFFERED
    elif reason is Reason.NOT_WAITING:
        assert applicant.standing is Standing.SUSPENDED
    elif reason is Reason.TWINS:
        assert applicant.twins and applicant.standing is Standing.WAITING
    else:
        assert reason is Reason.UNEXPLAINED
        assert applicant.standing is Standing.WAITING and not applicant.twins
        assert applicant.number is None or offer.number >= applicant.number


@given(applicants, offers)
def test_a_seat_you_could_never_have_had_is_explained_so_whatever_your_standing(applicant, offer):
    """Language and the list decide before the queue does: a parent is told the seat was
    never theirs to have before being told who stood ahead."""
    # Built to the case rather than filtered to it: same language, the priority window, a
    # kindergarten the parent did not list, no "any kindergarten".
    unlisted = next((g for g in GARDENS if g not in applicant.choices[:3]), GARDENS[-1])
    applicant = replace(
        applicant, choices=tuple(c for c in applicant.choices[:3] if c != unlisted), any_kindergarten=False
    )
    offer = replace(offer, language=applicant.language, window=Window.CHOSEN, kindergarten=unlisted)
    assert why_not(applicant, offer).reason is Reason.NOT_LISTED


# --- against the allocation ------------------------------------------------------------------

children = st.lists(
    st.tuples(
        st.sampled_from(LANGS),
        st.lists(st.sampled_from(GARDENS), unique=True, max_size=3).map(tuple),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)
vacancies = st.lists(
    st.tuples(st.sampled_from(GARDENS), st.sampled_from(LANGS), st.integers(1, 3)), min_size=1, max_size=5
)


@settings(max_examples=300, deadline=None)
@given(children, vacancies, st.sampled_from(list(Window)))
def test_every_child_passed_over_by_a_run_is_told_a_reason_the_run_bears_out(kids, seats, window):
    queue = [Child(key, lang, choices, any_) for key, (lang, choices, any_) in enumerate(kids, start=1)]
    groups = [Vacancy(group, garden, lang, count) for group, (garden, lang, count) in enumerate(seats, start=1)]
    made = allocate(queue, groups, window)
    got = {o.key for o in made}
    by_key = {c.key: c for c in queue}
    group_language = {v.group: v.language for v in groups}
    for child in queue:
        for o in made:
            if o.key == child.key:
                continue
            applicant = Applicant(
                number=child.key,  # the queue number is the place in this queue
                language=child.language,
                choices=child.choices,
                any_kindergarten=child.any_kindergarten,
                standing=Standing.OFFERED if child.key in got else Standing.WAITING,
            )
            result = why_not(applicant, OfferSeen(o.key, o.kindergarten, group_language[o.group], o.window))
            assert result.reason is not Reason.UNEXPLAINED, (child, o, made)
            if result.reason is Reason.HAD_OFFER:
                # Serial choice: what the child got it wanted at least as much.
                mine = next(m for m in made if m.key == child.key)
                theirs_rank = rank_of(child.choices, o.kindergarten) or len(child.choices) + 1
                mine_rank = mine.rank or len(child.choices) + 1
                assert mine_rank <= theirs_rank, (child, mine, o)
            if result.reason in (Reason.AHEAD, Reason.OPEN_WINDOW_AHEAD):
                assert o.key < child.key and by_key[o.key].language == child.language
