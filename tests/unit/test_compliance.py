"""Compliance rules: window geometry, missed windows, unreachable episodes, states."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.compliance import (
    Compliance,
    Contact,
    ContactKind,
    Schedule,
    State,
    Window,
    contact_kind,
    evaluate,
)

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
COUNTED, EXCUSED, INACTIVE, ATTEMPT = (
    ContactKind.COUNTED,
    ContactKind.EXCUSED,
    ContactKind.INACTIVE,
    ContactKind.ATTEMPT,
)

# No example database (keeps the working tree clean), no deadline (the first zoneinfo load is slow).
bounded = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
thorough = settings(bounded, max_examples=100)


def local(tz: str, day: date, hh: int = 12, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss, us), tzinfo=ZoneInfo(tz))


def midnight(tz: str, day: date) -> datetime:
    return local(tz, day, 0)


def c(kind: ContactKind, at: datetime) -> Contact:
    return Contact(at=at, kind=kind)


# A weekly (asimilasi) schedule in WIB: 12 windows, Mon 2026-01-05 .. Sun 2026-03-29.
JKT = "Asia/Jakarta"
START = date(2026, 1, 5)
WEEKLY = Schedule(start=START, end=date(2026, 3, 29), interval_days=7, tz=JKT)


def day(n: int) -> date:
    """The n-th day (0-based) of the WEEKLY period."""
    return START + timedelta(days=n)


def wib(n: int, hh: int = 12, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return local(JKT, day(n), hh, mm, ss, us)


# --------------------------------------------------------------------------------------------------
# Reference model: the rules transcribed literally, with per-window scans of all contacts.
# --------------------------------------------------------------------------------------------------
def reference_windows(schedule: Schedule) -> list[Window]:
    """The windows, walked day by day from the cadence history (no arithmetic on indexes)."""
    cadence = [(schedule.start, schedule.interval_days, schedule.start, None), *schedule.changes]
    tracked = schedule.tracking_from or schedule.start
    ws: list[Window] = []
    d = schedule.start
    while d <= schedule.end:
        _, k, made, _ = [x for x in cadence if x[0] <= d][-1]
        following = [x for x in cadence if x[0] > d][:1]
        next_change = [x[0] for x in following]
        natural_last = d + timedelta(days=k - 1)
        last = min([natural_last, schedule.end, *[n - timedelta(days=1) for n in next_change]])
        # A change that closed a period (previous_end) did not cut a window that already ended with that period.
        owed_until = min([natural_last, *[x[3] for x in following if x[3] is not None]])
        cut_by_change = bool(next_change) and owed_until >= next_change[0]
        closed_before_the_change_was_made = last < made
        ws.append(Window(len(ws), d, last, midnight(schedule.tz, d), midnight(schedule.tz, last + timedelta(days=1)),
                         missable=d >= tracked and not cut_by_change and not closed_before_the_change_was_made))
        d = last + timedelta(days=1)
    return ws


def reference(schedule: Schedule, contacts: list[Contact], as_of: datetime,
              grace: timedelta = timedelta(hours=48)) -> Compliance:
    known = [x for x in contacts if x.at <= as_of]
    counted_times = [x.at for x in known if x.kind is COUNTED]
    last_counted = max(counted_times) if counted_times else None
    ws = reference_windows(schedule)
    if as_of < ws[0].opens_at:
        return Compliance(State.DUE, 0, last_counted, ws[0].last_day, None, ws[0].closes_at, 0)

    def kinds_in(w: Window) -> set[ContactKind]:
        return {x.kind for x in known if w.opens_at <= x.at < w.closes_at}

    closed = [w for w in ws if w.closes_at <= as_of]
    status = []
    for w in closed:
        kinds = kinds_in(w)
        status.append("met" if COUNTED in kinds else "neutral" if EXCUSED in kinds or not w.missable else "missed")
    ended = as_of >= ws[-1].closes_at
    current = None if ended else next(w for w in ws if w.opens_at <= as_of < w.closes_at)
    current_kinds = set() if current is None else kinds_in(current)

    if COUNTED in current_kinds:
        streak_windows: list[int] = []
    else:
        last_met = max((i for i, s in enumerate(status) if s == "met"), default=-1)
        streak_windows = [i for i in range(last_met + 1, len(status)) if status[i] == "missed"]
    streak = len(streak_windows)
    missed_total = status.count("missed")
    if ended:
        return Compliance(State.ENDED, streak, last_counted, None, None, None, missed_total)

    starts = []
    if streak >= 3:
        starts.append(ws[streak_windows[2]].closes_at)
    starts += sorted(
        x.at
        for x in known
        if x.kind is INACTIVE
        and ws[0].opens_at <= x.at < ws[-1].closes_at
        and (last_counted is None or x.at > last_counted)
    )[:1]
    episode = min(starts) if starts else None
    settled = bool(current_kinds & {COUNTED, EXCUSED})
    if episode is not None:
        state = State.UNREACHABLE
    elif streak:
        state = State.MISSED
    elif not settled:
        state = State.DUE
    else:
        state = State.COMPLIANT
    following = [w.last_day for w in ws if w.index == current.index + 1]
    next_due = (following or [schedule.end])[0] if settled else current.last_day
    reason = None if episode is None else "three_missed" if streak >= 3 else "number_inactive"
    due_at = None if episode is None else episode + grace
    return Compliance(state, streak, last_counted, next_due, episode, current.closes_at, missed_total, reason, due_at)


# --------------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------------
# Seconds into a local day, biased to the edges of the day where window boundaries are.
SECOND_OF_DAY = st.one_of(st.sampled_from([0, 1, 60, 43_200, 86_340, 86_399]), st.integers(0, 86_399))
KINDS = st.sampled_from(list(ContactKind))


INTERVALS = st.one_of(st.sampled_from([1, 7, 30]), st.integers(1, 45))


@st.composite
def histories(draw, start: date, end: date) -> dict:
    """tracking_from (or None) and a cadence history (or none), anywhere in the period."""
    span = (end - start).days
    out: dict = {}
    if draw(st.booleans()):
        out["tracking_from"] = start + timedelta(days=draw(st.integers(0, span + 3)))
    if span and draw(st.booleans()):
        offsets = draw(st.lists(st.integers(1, span), min_size=1, max_size=3, unique=True))
        out["changes"] = tuple((start + timedelta(days=o), draw(INTERVALS),
                                start + timedelta(days=o + draw(st.sampled_from([0, 0, 1, 5, 40]))),
                                *draw(st.sampled_from([(), (), (start + timedelta(days=o - 1),),
                                                       (start + timedelta(days=o + 3),)])))
                               for o in sorted(offsets))
    return out


@st.composite
def schedules(draw, max_days: int = 120, history: bool = True) -> Schedule:
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    end = start + timedelta(days=draw(st.integers(0, max_days)))
    extra = draw(histories(start, end)) if history else {}
    return Schedule(start=start, end=end, interval_days=draw(INTERVALS), tz=draw(st.sampled_from(ZONES)), **extra)


def instant(schedule: Schedule, day_offset: int, second: int) -> datetime:
    """An aware instant ``second`` seconds after local midnight of ``start + day_offset``."""
    base = midnight(schedule.tz, schedule.start + timedelta(days=day_offset))
    return base + timedelta(seconds=second)


def instants(schedule: Schedule, before: int = 3, after: int = 8) -> st.SearchStrategy[datetime]:
    """Instants from ``before`` days before the period to ``after`` days after it, in a random offset
    (the rules must only care about the instant)."""
    span = (schedule.end - schedule.start).days
    offsets = st.sampled_from([UTC, ZoneInfo(schedule.tz), ZoneInfo("Asia/Jakarta")])
    return st.builds(
        lambda d, sec, tz: instant(schedule, d, sec).astimezone(tz),
        st.integers(-before, span + after),
        SECOND_OF_DAY,
        offsets,
    )


def instants_in_period(schedule: Schedule) -> st.SearchStrategy[datetime]:
    span = (schedule.end - schedule.start).days
    return st.builds(partial(instant, schedule), st.integers(0, span), SECOND_OF_DAY)


@st.composite
def contact_lists(draw, schedule: Schedule, kinds=KINDS, max_size: int = 25) -> list[Contact]:
    return draw(st.lists(st.builds(Contact, at=instants(schedule), kind=kinds), max_size=max_size))


@st.composite
def sparse_scenarios(draw):
    schedule = draw(schedules())
    return schedule, draw(contact_lists(schedule)), draw(instants(schedule))


@st.composite
def dense_scenarios(draw):
    """Short intervals, contacts inside the period, as_of late: many closed windows and streaks."""
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    end = start + timedelta(days=draw(st.integers(0, 60)))
    extra = draw(st.one_of(st.just({}), histories(start, end)))
    schedule = Schedule(
        start=start,
        end=end,
        interval_days=draw(st.integers(1, 7)),
        tz=draw(st.sampled_from(ZONES)),
        **extra,
    )
    kinds = st.sampled_from([COUNTED, COUNTED, EXCUSED, INACTIVE, ATTEMPT])
    contacts = draw(st.lists(st.builds(Contact, at=instants_in_period(schedule), kind=kinds), max_size=12))
    return schedule, contacts, draw(instants(schedule, before=0, after=2))


def scenarios():
    return st.one_of(sparse_scenarios(), dense_scenarios())


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------
@bounded
@given(schedules(max_days=500))
def test_windows_tile_the_period(schedule):
    ws = schedule.windows()
    zone = ZoneInfo(schedule.tz)
    assert len(ws) == schedule.window_count
    assert ws[0].first_day == schedule.start and ws[-1].last_day == schedule.end
    assert ws[0].opens_at == midnight(schedule.tz, schedule.start)
    assert ws[-1].closes_at == midnight(schedule.tz, schedule.end + timedelta(days=1))
    for i, w in enumerate(ws):
        assert w.index == i
        assert w.opens_at.utcoffset() == timedelta(0) and w.closes_at.utcoffset() == timedelta(0)
        assert w.opens_at == midnight(schedule.tz, w.first_day)
        assert w.closes_at == midnight(schedule.tz, w.last_day + timedelta(days=1))
        assert w.opens_at.astimezone(zone).time() == time(0)
        length = (w.last_day - w.first_day).days + 1
        assert 1 <= length <= max([schedule.interval_days, *(ch[1] for ch in schedule.changes)])
        if i:
            assert w.opens_at == ws[i - 1].closes_at
            assert w.first_day == ws[i - 1].last_day + timedelta(days=1)
        # window_at agrees with [opens_at, closes_at) at both edges.
        assert schedule.window_at(w.opens_at) == w
        assert schedule.window_at(w.closes_at - timedelta(microseconds=1)) == w
        assert schedule.window(i) == w
    assert ws == reference_windows(schedule)
    for frm, *_ in schedule.changes:  # every cadence change starts a window on its own date
        assert any(w.first_day == frm for w in ws)
    assert schedule.window_at(ws[0].opens_at - timedelta(microseconds=1)) is None
    assert schedule.window_at(ws[-1].closes_at) is None


@bounded
@given(st.data())
def test_window_at_matches_a_scan_of_the_windows(data):
    schedule = data.draw(schedules())
    t = data.draw(instants(schedule))
    found = [w for w in schedule.windows() if w.opens_at <= t < w.closes_at]
    assert schedule.window_at(t) == (found[0] if found else None)
    assert len(found) <= 1


@thorough
@given(scenarios())
def test_evaluate_agrees_with_the_reference_model(scenario):
    schedule, contacts, as_of = scenario
    assert evaluate(schedule, contacts, as_of) == reference(schedule, contacts, as_of)
    grace = timedelta(hours=7)
    assert evaluate(schedule, contacts, as_of, grace=grace) == reference(schedule, contacts, as_of, grace)


@bounded
@given(st.data())
def test_result_does_not_depend_on_contact_order(data):
    schedule = data.draw(schedules())
    # Few distinct instants, so ties between kinds at the same instant are common.
    pool = data.draw(st.lists(instants_in_period(schedule), min_size=1, max_size=6))
    contacts = data.draw(st.lists(st.builds(Contact, at=st.sampled_from(pool), kind=KINDS), max_size=20))
    as_of = data.draw(st.one_of(instants(schedule), st.just(max(pool)), st.just(schedule.closes_at)))
    shuffled = data.draw(st.permutations(contacts))
    assert evaluate(schedule, shuffled, as_of) == evaluate(schedule, contacts, as_of)
    assert evaluate(schedule, reversed(contacts), as_of) == evaluate(schedule, contacts, as_of)


@bounded
@given(st.data())
def test_adding_a_counted_contact_never_increases_consecutive_missed(data):
    schedule, contacts, as_of = data.draw(scenarios())
    before = evaluate(schedule, contacts, as_of)
    # One random instant, plus one instant (at a random position) in every window begun by as_of.
    position = data.draw(st.floats(0, 1, exclude_max=True))
    begun = [w for w in schedule.windows() if w.opens_at <= as_of]
    step = max(1, len(begun) // 20)  # at most ~20 windows, always including the latest ones
    candidates = [data.draw(instants(schedule))] + [
        w.opens_at + (w.closes_at - w.opens_at) * position for w in begun[::-step][:21]
    ]
    for at in candidates:
        after = evaluate(schedule, [*contacts, Contact(at=at, kind=COUNTED)], as_of)
        assert after.consecutive_missed <= before.consecutive_missed, at
        assert after.missed_windows <= before.missed_windows, at


@bounded
@given(st.data())
def test_counted_contact_in_every_closed_window_is_never_unreachable_without_a_dead_phone(data):
    schedule = data.draw(schedules())
    as_of = data.draw(instants(schedule))
    contacts = data.draw(contact_lists(schedule, max_size=10))
    closed = [w for w in schedule.windows() if w.closes_at <= as_of]
    positions = data.draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=len(closed), max_size=len(closed)))
    for w, position in zip(closed, positions, strict=True):
        seconds = int((w.closes_at - w.opens_at).total_seconds())
        contacts.append(Contact(at=w.opens_at + timedelta(seconds=int(position * seconds)), kind=COUNTED))
    result = evaluate(schedule, contacts, as_of)
    assert result.consecutive_missed == 0
    assert result.missed_windows == 0

    known_counted = [x.at for x in contacts if x.kind is COUNTED and x.at <= as_of]
    last = max(known_counted, default=None)
    dead_phone_since = any(
        x.kind is INACTIVE and schedule.opens_at <= x.at <= as_of and (last is None or x.at > last) for x in contacts
    )
    in_period = schedule.opens_at <= as_of < schedule.closes_at
    assert (result.state is State.UNREACHABLE) == (in_period and dead_phone_since)


@bounded
@given(st.data())
def test_episode_start_is_stable_while_nothing_counted_happens(data):
    """A later run sees the same episode (same start), so it is not notified twice."""
    schedule, contacts, first = data.draw(scenarios())
    # Only non-counted facts arrive after the first run.
    uncounted = st.sampled_from([EXCUSED, INACTIVE, ATTEMPT])
    arrivals = data.draw(st.lists(st.builds(Contact, at=instants(schedule), kind=uncounted), max_size=4))
    contacts = [x for x in contacts if not (x.kind is COUNTED and x.at > first)] + arrivals
    a = evaluate(schedule, contacts, first)
    later_runs = [w.closes_at for w in schedule.windows() if w.closes_at > first]
    later_runs.append(first + timedelta(hours=data.draw(st.integers(0, 24 * 60))))
    for later in later_runs:
        b = evaluate(schedule, contacts, later)
        if a.state is State.UNREACHABLE and b.state is not State.ENDED:
            assert b.state is State.UNREACHABLE, later
            assert b.episode_started_at == a.episode_started_at, later
        if a.state is State.ENDED:
            assert b.state is State.ENDED


@bounded
@given(scenarios())
def test_result_shape(scenario):
    schedule, contacts, as_of = scenario
    r = evaluate(schedule, contacts, as_of)
    assert (r.episode_started_at is not None) == (r.state is State.UNREACHABLE)
    assert (r.next_due is None) == (r.state is State.ENDED) == (r.window_closes_at is None)
    for t in (r.last_contact_at, r.episode_started_at, r.window_closes_at):
        assert t is None or t.utcoffset() == timedelta(0)
    if r.window_closes_at is not None:
        assert r.window_closes_at > as_of
    if r.next_due is not None:
        assert schedule.start <= r.next_due <= schedule.end
    if r.episode_started_at is not None:
        assert r.episode_started_at <= as_of
        assert r.escalation_due_at == r.episode_started_at + timedelta(hours=48)
        assert r.reason == ("three_missed" if r.consecutive_missed >= 3 else "number_inactive")
    else:
        assert r.reason is None and r.escalation_due_at is None
    assert 0 <= r.consecutive_missed <= r.missed_windows
    json.dumps(r.to_api())


# --------------------------------------------------------------------------------------------------
# Examples at the edges
# --------------------------------------------------------------------------------------------------
def test_contacts_at_2359_and_0001_across_a_boundary_are_in_different_windows():
    late, early = wib(6, 23, 59), wib(7, 0, 1)  # Sun 2026-01-11 23:59, Mon 2026-01-12 00:01 WIB
    assert WEEKLY.window_at(late).index == 0
    assert WEEKLY.window_at(early).index == 1
    assert WEEKLY.window_at(wib(7, 0)).index == 1  # midnight itself opens the next window
    as_of = wib(14, 0)  # the instant window 1 closes
    r_late = evaluate(WEEKLY, [c(COUNTED, late)], as_of)
    assert (r_late.state, r_late.consecutive_missed, r_late.missed_windows) == (State.MISSED, 1, 1)
    r_early = evaluate(WEEKLY, [c(COUNTED, early)], as_of)
    assert (r_early.state, r_early.consecutive_missed, r_early.missed_windows) == (State.DUE, 0, 1)


def test_jayapura_contact_at_1630_utc_on_the_last_day_belongs_to_the_next_window():
    wit = replace(WEEKLY, tz="Asia/Jayapura")
    at = datetime(2026, 1, 11, 16, 30, tzinfo=UTC)  # 2026-01-12 01:30 WIT, 23:30 WIB
    w0 = wit.windows()[0]
    assert w0.last_day == date(2026, 1, 11)
    assert w0.closes_at == datetime(2026, 1, 11, 15, 0, tzinfo=UTC)
    assert wit.window_at(at).index == 1
    assert WEEKLY.window_at(at).index == 0  # the same instant is still Sunday in Jakarta
    r = evaluate(wit, [c(COUNTED, at)], local("Asia/Jayapura", day(14), 9))
    assert (r.consecutive_missed, r.missed_windows, r.state) == (0, 1, State.DUE)


def test_period_ending_mid_window_truncates_the_last_window():
    s = Schedule(start=START, end=date(2026, 1, 15), interval_days=7, tz=JKT)
    ws = s.windows()
    assert [(w.first_day, w.last_day) for w in ws] == [
        (date(2026, 1, 5), date(2026, 1, 11)),
        (date(2026, 1, 12), date(2026, 1, 15)),
    ]
    assert ws[1].closes_at == datetime(2026, 1, 15, 17, 0, tzinfo=UTC)  # 2026-01-16 00:00 WIB
    first = [c(COUNTED, wib(1))]
    r = evaluate(s, first, wib(8))
    assert (r.state, r.next_due, r.window_closes_at) == (State.DUE, date(2026, 1, 15), ws[1].closes_at)
    r = evaluate(s, [*first, c(COUNTED, wib(8, 9))], wib(8, 10))
    assert (r.state, r.next_due) == (State.COMPLIANT, date(2026, 1, 15))  # capped at the end
    r = evaluate(s, first, ws[1].closes_at - timedelta(microseconds=1))
    assert r.state is State.DUE
    r = evaluate(s, first, ws[1].closes_at)
    assert r.state is State.ENDED and r.missed_windows == 1 and r.consecutive_missed == 1


def test_monthly_period_with_a_short_last_window():
    s = Schedule(start=START, end=START + timedelta(days=99), interval_days=30, tz="Asia/Makassar")
    ws = s.windows()
    assert len(ws) == 4 and (ws[-1].last_day - ws[-1].first_day).days + 1 == 10


def test_excused_window_is_skipped_in_the_streak():
    contacts = [c(COUNTED, wib(1)), c(EXCUSED, wib(15))]  # window 0 met, window 2 excused
    r = evaluate(WEEKLY, contacts, wib(29))  # windows 1 (missed), 2 (excused), 3 (missed) closed
    assert (r.state, r.consecutive_missed, r.missed_windows) == (State.MISSED, 2, 2)
    r = evaluate(WEEKLY, contacts, wib(36))  # window 4 missed too: the 3rd missed of the streak
    assert (r.state, r.consecutive_missed) == (State.UNREACHABLE, 3)
    assert r.episode_started_at == WEEKLY.windows()[4].closes_at


def test_excused_current_window_is_settled():
    r = evaluate(WEEKLY, [c(COUNTED, wib(1)), c(EXCUSED, wib(8))], wib(9))
    assert (r.state, r.consecutive_missed) == (State.COMPLIANT, 0)
    assert r.next_due == day(20)  # the last day of the next window
    r = evaluate(WEEKLY, [c(INACTIVE, wib(1)), c(EXCUSED, wib(8))], wib(9))
    assert r.state is State.UNREACHABLE  # excusing is not contact: the phone is still dead


def test_three_consecutive_missed_weekly_windows_make_the_client_unreachable():
    contacts = [c(COUNTED, wib(1, 10))]
    third_close = WEEKLY.windows()[3].closes_at  # 2026-02-02 00:00 WIB
    assert third_close == datetime(2026, 2, 1, 17, 0, tzinfo=UTC)
    r = evaluate(WEEKLY, contacts, third_close - timedelta(microseconds=1))
    assert (r.state, r.consecutive_missed, r.episode_started_at) == (State.MISSED, 2, None)
    assert r.window_closes_at == third_close
    r = evaluate(WEEKLY, contacts, third_close)
    assert (r.state, r.consecutive_missed, r.episode_started_at) == (
        State.UNREACHABLE,
        3,
        third_close,
    )
    assert r.next_due == day(34)
    assert r.last_contact_at == datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    later = evaluate(WEEKLY, contacts, wib(46))  # windows 1..5 missed: still the same episode
    assert (later.state, later.consecutive_missed) == (State.UNREACHABLE, 5)
    assert later.episode_started_at == third_close
    # A counted contact ends the episode.
    back = evaluate(WEEKLY, [*contacts, c(COUNTED, wib(47, 8))], wib(47, 9))
    assert (back.state, back.consecutive_missed, back.episode_started_at) == (State.COMPLIANT, 0, None)
    assert back.missed_windows == 5
    assert back.next_due == day(55)


def test_inactive_phone_makes_the_client_unreachable_at_once():
    at = wib(8, 10)  # 2026-01-13 10:00 WIB
    contacts = [c(COUNTED, wib(1, 10)), c(INACTIVE, at), c(ATTEMPT, wib(8, 11)), c(EXCUSED, wib(8, 12))]
    assert evaluate(WEEKLY, contacts, at - timedelta(microseconds=1)).state is State.DUE
    r = evaluate(WEEKLY, contacts, at)
    assert (r.state, r.consecutive_missed) == (State.UNREACHABLE, 0)
    assert r.episode_started_at == datetime(2026, 1, 13, 3, 0, tzinfo=UTC)
    assert r.episode_started_at.tzinfo is UTC
    r = evaluate(WEEKLY, contacts, wib(9, 18))  # a failed call and an excuse later: still unreachable
    assert r.state is State.UNREACHABLE and r.episode_started_at == at
    visit = c(contact_kind("visit", client_present=True), wib(9, 9))
    r = evaluate(WEEKLY, [*contacts, visit], wib(9, 18))
    assert (r.state, r.episode_started_at) == (State.COMPLIANT, None)
    assert r.last_contact_at == visit.at
    assert r.next_due == day(20)


def test_inactive_phone_without_any_counted_contact_is_unreachable():
    r = evaluate(WEEKLY, [c(INACTIVE, wib(2))], wib(3))
    assert r.state is State.UNREACHABLE and r.episode_started_at == wib(2)


def test_episode_starts_at_the_first_dead_phone_whatever_the_arrival_order():
    first, second = c(INACTIVE, wib(8, 9)), c(INACTIVE, wib(9, 9))
    for contacts in ([first, second], [second, first]):
        r = evaluate(WEEKLY, [c(COUNTED, wib(1)), *contacts], wib(10))
        assert r.episode_started_at == first.at


def test_inactive_before_the_latest_counted_contact_does_not_count():
    r = evaluate(WEEKLY, [c(INACTIVE, wib(2)), c(COUNTED, wib(2, 13))], wib(3))
    assert (r.state, r.episode_started_at) == (State.COMPLIANT, None)


def test_episode_starts_at_the_earliest_trigger():
    contacts = [c(COUNTED, wib(1))]
    third_close = WEEKLY.windows()[3].closes_at
    early_inactive = c(INACTIVE, wib(20))  # before the 3rd missed window closes
    r = evaluate(WEEKLY, [*contacts, early_inactive], wib(30))
    assert r.episode_started_at == early_inactive.at and r.consecutive_missed == 3
    late_inactive = c(INACTIVE, wib(29))  # after it
    r = evaluate(WEEKLY, [*contacts, late_inactive], wib(30))
    assert r.episode_started_at == third_close


def test_counted_contact_in_the_current_window_clears_the_streak():
    contacts = [c(COUNTED, wib(1)), c(COUNTED, wib(30))]  # windows 1..3 missed, window 4 met
    r = evaluate(WEEKLY, contacts, wib(31))
    assert (r.state, r.consecutive_missed, r.missed_windows) == (State.COMPLIANT, 0, 3)
    assert r.next_due == day(41)
    r = evaluate(WEEKLY, contacts, wib(29, 23, 59, 59))  # before that contact: unreachable
    assert (r.state, r.consecutive_missed) == (State.UNREACHABLE, 3)


def test_ended_after_the_period():
    end_close = WEEKLY.windows()[-1].closes_at
    assert end_close == midnight(JKT, date(2026, 3, 30))
    contacts = [c(COUNTED, wib(70))]  # window 10 met; windows 0..9 and 11 missed
    r = evaluate(WEEKLY, contacts, end_close - timedelta(microseconds=1))
    assert (r.state, r.next_due, r.consecutive_missed) == (State.DUE, date(2026, 3, 29), 0)
    r = evaluate(WEEKLY, contacts, end_close)
    assert r.state is State.ENDED
    assert (r.next_due, r.window_closes_at, r.episode_started_at) == (None, None, None)
    assert (r.consecutive_missed, r.missed_windows) == (1, 11)
    assert r.last_contact_at == wib(70)
    assert evaluate(WEEKLY, [], end_close + timedelta(days=400)).state is State.ENDED


def test_before_the_start_nothing_is_owed_yet():
    r = evaluate(WEEKLY, [], wib(-3))
    assert (r.state, r.consecutive_missed, r.missed_windows) == (State.DUE, 0, 0)
    assert r.next_due == date(2026, 1, 11)
    assert r.window_closes_at == WEEKLY.windows()[0].closes_at
    assert r.episode_started_at is None


def test_contacts_after_as_of_are_not_known_yet():
    r = evaluate(WEEKLY, [c(COUNTED, wib(6, 13)), c(INACTIVE, wib(6, 14))], wib(6, 12))
    assert (r.state, r.last_contact_at, r.episode_started_at) == (State.DUE, None, None)


def test_contacts_outside_the_period_do_not_fill_windows():
    r = evaluate(WEEKLY, [c(COUNTED, wib(-1)), c(INACTIVE, wib(-1, 13))], wib(8))
    assert (r.state, r.consecutive_missed) == (State.MISSED, 1)  # window 0 missed, no dead-phone episode
    assert r.last_contact_at == wib(-1)


def test_evaluate_reads_contacts_in_one_pass():
    contacts = [c(COUNTED, wib(n)) for n in range(0, 84, 3)] + [c(INACTIVE, wib(80, 13))]
    once = iter(contacts)
    assert evaluate(WEEKLY, once, wib(81)) == evaluate(WEEKLY, contacts, wib(81))


def test_naive_datetimes_are_rejected():
    naive = datetime(2026, 1, 6, 12)
    with pytest.raises(ValueError):
        Contact(at=naive, kind=COUNTED)
    with pytest.raises(ValueError):
        evaluate(WEEKLY, [], naive)
    with pytest.raises(ValueError):
        WEEKLY.window_at(naive)


def test_contact_is_normalised_to_utc_and_kind_is_coerced():
    x = Contact(at=wib(1, 10), kind="inactive")
    assert x.at == datetime(2026, 1, 6, 3, tzinfo=UTC) and x.at.tzinfo is UTC
    assert x.kind is INACTIVE
    with pytest.raises(ValueError):
        Contact(at=wib(1), kind="nope")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("checkin", "completed"), {}, COUNTED),
        (("checkin", "excused"), {}, EXCUSED),
        (("checkin", "number_inactive"), {}, INACTIVE),
        (("checkin", "no_answer"), {}, ATTEMPT),
        (("visit",), {"client_present": True}, COUNTED),
        (("visit",), {"client_present": False}, ATTEMPT),
    ],
)
def test_contact_kind(args, kwargs, expected):
    assert contact_kind(*args, **kwargs) is expected


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("checkin",), {}),
        (("checkin", "done"), {}),
        (("visit",), {}),
        (("visit",), {"client_present": "yes"}),
        (("call", "completed"), {}),
    ],
)
def test_contact_kind_rejects_unknown_records(args, kwargs):
    with pytest.raises(ValueError):
        contact_kind(*args, **kwargs)


def test_to_api_matches_the_contract():
    r = evaluate(WEEKLY, [c(COUNTED, wib(1, 10)), c(INACTIVE, wib(8, 10))], wib(9))
    assert r.to_api() == {
        "state": "unreachable",
        "consecutive_missed": 0,
        "last_contact_at": "2026-01-06T03:00:00+00:00",
        "next_due": "2026-01-18",
        "reason": "number_inactive",
        "escalation_due_at": "2026-01-15T03:00:00+00:00",
    }
    assert evaluate(WEEKLY, [], wib(100)).to_api() == {
        "state": "ended",
        "consecutive_missed": 12,
        "last_contact_at": None,
        "next_due": None,
        "reason": None,
        "escalation_due_at": None,
    }
    assert datetime.fromisoformat(r.to_api()["last_contact_at"]) == wib(1, 10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"end": date(2026, 1, 4)},
        {"interval_days": 0},
        {"interval_days": True},
        {"interval_days": 7.0},
        {"tz": "Asia/Nowhere"},
        {"tz": ""},
        {"start": datetime(2026, 1, 5, tzinfo=UTC)},
    ],
)
def test_schedule_rejects_bad_input(kwargs):
    base = {"start": START, "end": date(2026, 3, 29), "interval_days": 7, "tz": JKT}
    with pytest.raises(ValueError):
        Schedule(**{**base, **kwargs})


def test_single_day_period_and_window_lookup():
    s = Schedule(start=START, end=START, interval_days=30, tz="Asia/Makassar")
    (w,) = s.windows()
    assert (w.first_day, w.last_day) == (START, START)
    assert w.closes_at - w.opens_at == timedelta(days=1)
    with pytest.raises(IndexError):
        s.window(1)
    r = evaluate(s, [c(COUNTED, local("Asia/Makassar", START, 8))], local("Asia/Makassar", START, 9))
    assert (r.state, r.next_due) == (State.COMPLIANT, START)


# --------------------------------------------------------------------------------------------------
# Version 1.1: tracking_from, cadence history, reason and grace
# --------------------------------------------------------------------------------------------------
@bounded
@given(st.data())
def test_tracking_from_never_adds_a_missed_window(data):
    schedule, contacts, as_of = data.draw(scenarios())
    base = replace(schedule, tracking_from=None)
    tracked = replace(schedule, tracking_from=schedule.start + timedelta(days=data.draw(st.integers(0, 200))))
    before, after = evaluate(base, contacts, as_of), evaluate(tracked, contacts, as_of)
    assert after.missed_windows <= before.missed_windows
    assert after.consecutive_missed <= before.consecutive_missed
    for w in tracked.windows():
        assert w.missable == (w.first_day >= tracked.tracking_from and base.window(w.index).missable)


@bounded
@given(st.data())
def test_a_client_registered_late_is_never_missed_on_the_day_of_registration(data):
    schedule = data.draw(schedules(history=False))
    registered = schedule.start + timedelta(days=data.draw(st.integers(0, (schedule.end - schedule.start).days)))
    schedule = replace(schedule, tracking_from=registered)
    as_of = instant(schedule, (registered - schedule.start).days, data.draw(SECOND_OF_DAY))
    # Whatever history was imported, as long as no phone was found dead.
    kinds = st.sampled_from([COUNTED, EXCUSED, ATTEMPT])
    contacts = data.draw(st.lists(st.builds(Contact, at=instants(schedule), kind=kinds), max_size=8))
    r = evaluate(schedule, contacts, as_of)
    assert (r.consecutive_missed, r.missed_windows) == (0, 0)
    assert r.state in (State.DUE, State.COMPLIANT)


@bounded
@given(st.data())
def test_a_cadence_change_keeps_the_closed_windows_and_their_outcome(data):
    schedule = data.draw(schedules(history=False))
    span = (schedule.end - schedule.start).days
    contacts = data.draw(contact_lists(schedule))
    changed_at = instant(schedule, data.draw(st.integers(0, span)), data.draw(SECOND_OF_DAY))
    current = schedule.window_at(changed_at)
    frm = current.first_day + timedelta(days=data.draw(st.integers(0, (schedule.end - current.first_day).days)))
    if frm == schedule.start:
        return  # a change from the first day is a new first interval, not a change
    # Made on the local date of the change, possibly dated back to the current window's first day.
    new = replace(schedule, changes=((frm, data.draw(INTERVALS), max(frm, local_date_of(changed_at, schedule))),))
    closed_before = [w for w in schedule.windows() if w.closes_at <= changed_at]
    assert new.windows()[: len(closed_before)] == closed_before
    for later in (changed_at, data.draw(instants(schedule))):
        if later < changed_at:
            continue
        old_r, new_r = evaluate(schedule, contacts, changed_at), evaluate(new, contacts, changed_at)
        assert (new_r.missed_windows, new_r.consecutive_missed) == (old_r.missed_windows, old_r.consecutive_missed)
    # Windows of the new cadence start on the change date.
    assert new.window_at(midnight(new.tz, frm)).first_day == frm


def local_date_of(t: datetime, schedule: Schedule) -> date:
    return t.astimezone(ZoneInfo(schedule.tz)).date()


def test_a_change_dated_back_never_makes_a_closed_window_missed():
    s = Schedule(start=START, end=START + timedelta(days=364), interval_days=30, tz=JKT)
    # On day 50 the coordinator makes the client weekly from day 30, the first day of the current window.
    back = replace(s, changes=((day(30), 7, day(50)),))
    r = evaluate(back, [c(COUNTED, wib(3))], wib(50, 9))
    assert (r.state, r.missed_windows) == (State.DUE, 0)  # weeks 30-36 and 37-43 closed before the change
    assert [w.missable for w in back.windows()[1:5]] == [False, False, True, True]  # days 44-49 were open
    r = evaluate(back, [c(COUNTED, wib(3))], wib(51, 9))
    assert r.missed_windows == 1  # the week of days 44-50 ended after the change: it counts


def test_late_registration_in_asimilasi_is_due_not_unreachable():
    """The issue's example: registered 42 days into asimilasi with no history on file."""
    registered = day(42)
    s = replace(WEEKLY, tracking_from=registered)
    r = evaluate(s, [], wib(42, 10))
    assert (r.state, r.consecutive_missed, r.missed_windows, r.episode_started_at) == (State.DUE, 0, 0, None)
    assert r.next_due == day(48)
    assert evaluate(WEEKLY, [], wib(42, 10)).state is State.UNREACHABLE  # what 1.0 said
    # Windows from tracking_from on count as usual: three missed from day 42 make it unreachable.
    r = evaluate(s, [], wib(63, 0))
    assert (r.state, r.consecutive_missed, r.reason) == (State.UNREACHABLE, 3, "three_missed")


def test_tracking_from_mid_window_leaves_that_window_unmissable_but_it_can_be_met():
    s = replace(WEEKLY, tracking_from=day(10))  # window 1 is days 7..13
    assert [w.missable for w in s.windows()[:3]] == [False, False, True]
    r = evaluate(s, [], wib(14, 1))
    assert (r.state, r.missed_windows) == (State.DUE, 0)
    r = evaluate(s, [c(COUNTED, wib(8))], wib(15))  # a contact before tracking began still counts
    assert r.last_contact_at == wib(8) and r.state is State.DUE


def test_monthly_to_weekly_keeps_five_compliant_months():
    """The issue's example: monthly -> weekly must not turn five compliant months into 16 missed windows."""
    s = Schedule(start=START, end=START + timedelta(days=364), interval_days=30, tz=JKT)
    contacts = [c(COUNTED, wib(30 * i + 3)) for i in range(5)]
    changed = day(150)  # the first day of window 5: nothing cut short
    weekly = replace(s, changes=((changed, 7),))
    r = evaluate(weekly, contacts, wib(150, 9))
    assert (r.state, r.missed_windows, r.consecutive_missed) == (State.DUE, 0, 0)
    assert r.next_due == day(156)
    assert evaluate(replace(s, interval_days=7), contacts, wib(150, 9)).missed_windows == 16  # recounting
    # Later weekly windows count as usual.
    r = evaluate(weekly, contacts, wib(171, 0))
    assert (r.state, r.consecutive_missed) == (State.UNREACHABLE, 3)


def test_a_change_mid_window_cuts_it_short_and_the_cut_window_is_never_missed():
    s = Schedule(start=START, end=START + timedelta(days=364), interval_days=30, tz=JKT)
    changed = replace(s, changes=((day(40), 7),))  # window 1 is days 30..59, cut to 30..39
    w1, w2 = changed.window(1), changed.window(2)
    assert (w1.first_day, w1.last_day, w1.missable) == (day(30), day(39), False)
    assert (w2.first_day, w2.last_day, w2.missable) == (day(40), day(46), True)
    r = evaluate(changed, [c(COUNTED, wib(3))], wib(40, 9))
    assert (r.state, r.missed_windows, r.next_due) == (State.DUE, 0, day(46))


def test_grace_and_reason():
    contacts = [c(COUNTED, wib(1, 10)), c(INACTIVE, wib(8, 10))]
    r = evaluate(WEEKLY, contacts, wib(9), grace=timedelta(hours=24))
    assert (r.reason, r.episode_started_at, r.escalation_due_at) == ("number_inactive", wib(8, 10), wib(9, 10))
    r = evaluate(WEEKLY, contacts, wib(9), grace=timedelta(0))
    assert r.escalation_due_at == r.episode_started_at
    with pytest.raises(ValueError):
        evaluate(WEEKLY, contacts, wib(9), grace=timedelta(hours=-1))


def test_a_late_synced_contact_inside_the_window_ends_the_episode_it_would_have_started():
    """Contact on the window's last day, synced the next morning: the window was met after all."""
    contacts = [c(COUNTED, wib(1))]
    third_close = WEEKLY.window(3).closes_at
    r = evaluate(WEEKLY, contacts, third_close + timedelta(hours=1))
    assert r.state is State.UNREACHABLE and r.escalation_due_at == third_close + timedelta(hours=48)
    synced = [*contacts, c(COUNTED, wib(27, 21))]  # Sunday 21:00, the last day of window 3
    r = evaluate(WEEKLY, synced, third_close + timedelta(hours=9))
    assert (r.state, r.consecutive_missed, r.episode_started_at) == (State.DUE, 0, None)
    # A contact after the episode began, inside the grace period, ends it too.
    r = evaluate(WEEKLY, [*contacts, c(COUNTED, wib(28, 9))], wib(28, 10))
    assert (r.state, r.reason, r.escalation_due_at) == (State.COMPLIANT, None, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tracking_from": date(2026, 1, 4)},
        {"changes": ((START, 30),)},
        {"changes": ((day(20), 30), (day(10), 7))},
        {"changes": ((day(10), 0),)},
        {"changes": ((date(2026, 3, 30), 7),)},
    ],
)
def test_schedule_rejects_bad_history(kwargs):
    with pytest.raises(ValueError):
        replace(WEEKLY, **kwargs)
