"""A program change (asimilasi -> pembebasan bersyarat) starts a new supervision period: the cadence switch
(`compliance.new_period`) and the compliance of each period (`compliance.by_period`)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.compliance import (
    Contact,
    ContactKind,
    Schedule,
    State,
    by_period,
    evaluate,
    new_period,
)
from tests.unit.test_compliance import (
    COUNTED,
    EXCUSED,
    bounded,
    instant,
    instants_in_period,
    local,
    midnight,
    schedules,
    thorough,
)

JKT = "Asia/Jakarta"
START = date(2027, 1, 4)  # a Monday


@st.composite
def changes(draw):
    """An old schedule, what was recorded, when the change is made and the new period's dates."""
    old = draw(schedules(max_days=150))
    kinds = st.sampled_from([COUNTED, COUNTED, EXCUSED, ContactKind.INACTIVE, ContactKind.ATTEMPT])
    span = (old.end - old.start).days
    # Made during the old period or up to 20 days after its end, never on its first day.
    made_offset = draw(st.integers(1, span + 20)) if span else draw(st.integers(1, 20))
    as_of = instant(old, made_offset, draw(st.integers(0, 86_399)))
    today = as_of.astimezone(old._zone).date()
    # The decree's start: after the old start, not after today nor after the day after the old end.
    latest = min(today, old.end + timedelta(days=1))
    start_date = old.start + timedelta(days=draw(st.integers(1, max(1, (latest - old.start).days))))
    end = max(start_date, today) + timedelta(days=draw(st.integers(0, 200)))
    interval = draw(st.sampled_from([7, 30, draw(st.integers(1, 45))]))
    contacts = draw(st.lists(st.builds(Contact, at=instants_in_period(old), kind=kinds), max_size=15))
    return old, contacts, as_of, start_date, end, interval


@bounded
@given(changes())
def test_a_program_change_recounts_no_closed_window_and_leaves_no_gap(case):
    old, contacts, as_of, start_date, end, interval = case
    switch, new = new_period(old, start_date, end, interval, as_of)
    assert start_date <= switch and new.end == end
    old_closed = [w for w in old.windows() if w.closes_at <= as_of]
    new_windows = new.windows()
    # Every window closed when the change was made is still there, same days, same missability (no recount).
    for w in old_closed:
        assert w.first_day < switch
        assert new_windows[w.index] == w
    # The new cadence starts exactly where the old windows stop: the windows tile the whole supervision.
    assert new_windows[0].first_day == old.start and new_windows[-1].last_day == end
    for a, b in itertools.pairwise(new_windows):
        assert a.last_day + timedelta(days=1) == b.first_day and a.closes_at == b.opens_at
    first_new = next(w for w in new_windows if w.first_day == switch)
    assert first_new.last_day == min(switch + timedelta(days=interval - 1), end)
    # Nothing that was missed becomes met or neutral, and nothing new is missed by the change itself.
    before, after = evaluate(old, contacts, as_of), evaluate(new, contacts, as_of)
    assert after.missed_windows == before.missed_windows
    assert after.consecutive_missed == before.consecutive_missed


@thorough
@given(changes(), st.integers(0, 400))
def test_periods_partition_the_windows(case, later_days):
    old, contacts, as_of, start_date, end, interval = case
    switch, new = new_period(old, start_date, end, interval, as_of)
    when = as_of + timedelta(days=later_days)
    periods = by_period(new, contacts, when, [new.start, switch])
    # No window counted twice, none left out; the periods' days tile the supervision.
    assert sum(p.windows for p in periods) == new.window_count
    assert periods[0].first_day == new.start and periods[-1].last_day == new.end
    assert periods[0].last_day + timedelta(days=1) == periods[1].first_day == switch
    for p in periods:
        assert p.closed == p.met + p.excused + p.missed + p.neutral <= p.windows
    result = evaluate(new, contacts, when)
    assert sum(p.missed for p in periods) == result.missed_windows
    if result.state is State.ENDED:
        assert periods[-1].consecutive_missed == result.consecutive_missed
    else:  # the current window, once counted, ends the streak
        assert result.consecutive_missed in (0, periods[-1].consecutive_missed)
    # Every window of the old period has closed by the time the change is made, so its compliance is final:
    # later, with the same records, it is exactly what it was (only a late record of its own days changes it).
    known = [c for c in contacts if c.at <= as_of]
    at_change = by_period(new, known, as_of, [new.start, switch])[0]
    assert at_change.closed == at_change.windows
    assert by_period(new, known, when, [new.start, switch])[0] == at_change


def test_asimilasi_to_pembebasan_bersyarat_switches_from_weekly_to_monthly_on_the_decree_date():
    # Asimilasi, weekly from Monday 4 January; the PB decree's period starts Thursday 25 February.
    old = Schedule(start=START, end=date(2027, 6, 30), interval_days=7, tz=JKT)
    made = local(JKT, date(2027, 2, 25), 10)
    contacts = [Contact(local(JKT, START + timedelta(days=7 * i + 2)), COUNTED) for i in range(5)]  # weeks 0-4
    switch, new = new_period(old, date(2027, 2, 25), date(2028, 2, 24), 30, made)
    assert switch == date(2027, 2, 25)
    weeks = new.windows()[:8]
    assert [(w.first_day, w.last_day) for w in weeks[:7]] == [
        (START + timedelta(days=7 * i), START + timedelta(days=7 * i + 6)) for i in range(7)]
    # The week the decree cut short (Monday 22 .. Wednesday 24 February) is never missed.
    assert (weeks[7].first_day, weeks[7].last_day, weeks[7].missable) == (date(2027, 2, 22), date(2027, 2, 24), False)
    monthly = new.windows()[8]
    assert (monthly.first_day, monthly.last_day) == (date(2027, 2, 25), date(2027, 3, 26))
    old_period, pb = by_period(new, contacts, made, [START, switch])
    # Weeks 0-4 met, weeks 5 and 6 missed (a streak of two), the cut week neutral: history kept as it was.
    assert (old_period.windows, old_period.met, old_period.missed, old_period.neutral) == (8, 5, 2, 1)
    assert old_period.consecutive_missed == 2 and old_period.last_day == date(2027, 2, 24)
    assert (pb.windows, pb.closed, pb.first_day, pb.last_day) == (13, 0, switch, date(2028, 2, 24))
    assert evaluate(new, contacts, made).missed_windows == evaluate(old, contacts, made).missed_windows == 2
    # A month later, nothing reported in the PB period: one missed window, the old streak goes on (3: unreachable).
    later = evaluate(new, contacts, midnight(JKT, date(2027, 3, 27)) + timedelta(hours=9))
    assert later.missed_windows == 3 and later.consecutive_missed == 3 and later.state is State.UNREACHABLE


def test_a_period_that_ran_to_its_end_keeps_its_last_short_window():
    # Asimilasi ended Sunday 28 February after a 5-day last week; PB starts the next day, recorded on 3 March.
    old = Schedule(start=date(2027, 1, 6), end=date(2027, 2, 28), interval_days=7, tz=JKT)
    made = local(JKT, date(2027, 3, 3), 9)
    switch, new = new_period(old, date(2027, 3, 1), date(2027, 12, 31), 30, made)
    assert switch == date(2027, 3, 1)
    last_old = next(w for w in new.windows() if w.last_day == date(2027, 2, 28))
    assert last_old.first_day == date(2027, 2, 24) and last_old.missable  # missed it stays, as it was on 1 March
    assert evaluate(new, [], made).missed_windows == evaluate(old, [], made).missed_windows == 8


def test_a_decree_dated_back_keeps_the_closed_weeks_and_switches_at_the_current_window():
    old = Schedule(start=START, end=date(2027, 6, 30), interval_days=7, tz=JKT)
    made = local(JKT, date(2027, 3, 10), 9)  # a Wednesday; the decree's period began on 1 March
    switch, new = new_period(old, date(2027, 3, 1), date(2027, 12, 31), 30, made)
    assert switch == date(2027, 3, 8)  # the Monday the open week began: the week of 1 March is closed and kept
    assert new.window_at(local(JKT, date(2027, 3, 3))) == old.window_at(local(JKT, date(2027, 3, 3)))


@pytest.mark.parametrize("start_date,end,message", [
    (START, date(2027, 12, 31), "must start after"),
    (date(2027, 2, 25), date(2027, 2, 20), "before its windows start"),
])
def test_new_period_refuses_impossible_dates(start_date, end, message):
    old = Schedule(start=START, end=date(2027, 6, 30), interval_days=7, tz=JKT)
    with pytest.raises(ValueError, match=message):
        new_period(old, start_date, end, 30, local(JKT, START, 10))


def test_by_period_needs_starts_on_window_boundaries():
    s = Schedule(start=START, end=date(2027, 6, 30), interval_days=7, tz=JKT, changes=((date(2027, 2, 3), 30),))
    with pytest.raises(ValueError, match="first day of a window"):
        by_period(s, [], local(JKT, START), [START, date(2027, 2, 4)])
    with pytest.raises(ValueError, match="schedule's start"):
        by_period(s, [], local(JKT, START), [date(2027, 2, 3)])
    assert [p.windows for p in by_period(s, [], local(JKT, START), [START, date(2027, 2, 3)])] == [5, 5]
