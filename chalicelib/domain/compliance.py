"""Supervision compliance rules: check-in windows, missed windows and unreachable episodes.

Pure domain logic (standard library only). Everything is computed from three inputs:

* a :class:`Schedule` -- the supervision period (inclusive local dates), the cadence history (the check-in
  interval from ``start``, then each change from its own date), the date tracking began (``tracking_from``)
  and the Bapas time zone;
* the client's contacts -- facts, each an aware instant and a :class:`ContactKind`
  (see :func:`contact_kind` for the mapping from check-ins and home visits);
* the instant ``as_of`` at which the client is evaluated.

Windows
    The period is cut into cadence segments: ``[start, change_1)``, ``[change_1, change_2)``, ... ``[change_n,
    end]``, each with its own interval. Within a segment starting on ``from`` with interval ``k``, window
    ``j`` covers the local dates ``[from + j*k, from + (j+1)*k - 1]``, the last one truncated at the
    segment's end; windows are numbered across segments. A window opens at local midnight of its first date
    and closes at local midnight at the start of the day after its last date, so windows tile the period,
    half-open ``[opens_at, closes_at)``. A window is *closed* at ``as_of`` when ``closes_at <= as_of``.

    A window is *missable* unless it opens before ``tracking_from`` (history before Pantau tracked the client),
    it was cut short by a cadence change (the client was owed a contact by a last day that never came), or it
    belongs to a cadence change and ended before the change was made (a change dated back never makes a
    window that has already closed missed).

    A change that starts a new supervision period (a program change with its own decree) may carry
    ``previous_end``: the last day of the period before it as it stood when the change was made. A window of
    the preceding segment that already ended on that day (the old period's own truncated last window) was not
    cut short by the change, so it keeps the outcome it had; only a window the change actually shortened is
    spared.
    A window that is not missable can be met by a contact, but it is never missed.

Rules (``evaluate``)
    * Contacts later than ``as_of`` are not known yet and are ignored; contacts outside the supervision
      period do not belong to any window.
    * A closed window is *met* with a counted contact, *neutral* with an excused one (and no counted
      one) or when it is not missable, otherwise *missed*.
    * ``consecutive_missed``: missed closed windows after the latest window with a counted contact
      (neutral windows skipped); a counted contact in the current window makes it 0.
    * Unreachable episode: ``consecutive_missed >= 3`` or an ``inactive`` contact (inside the period)
      later than the latest counted contact. It starts at the earliest of the close of the 3rd missed
      window of the current streak and the first such inactive contact; a counted contact ends it.
      Its ``reason`` is ``three_missed`` when the streak is 3 or more, else ``number_inactive``; it is
      escalated at ``escalation_due_at`` = start + ``grace`` (contacts recorded offline and synced late are
      facts with their own ``at``: one inside a window still meets it, one after the start ends the episode).
    * State, first match wins: ``ended`` (as_of at or after the close of the last window),
      ``unreachable``, ``missed`` (streak >= 1), ``due`` (current window neither met nor excused),
      ``compliant``. Before the period starts: ``due`` with nothing missed.

Choices where the rules are silent
    * An excused current window owes nothing: ``next_due`` is the last day of the next window (as for a
      counted one), and the state is ``compliant``.
    * An inactive contact at the same instant as the latest counted one is not "after" it.
    * ``episode_started_at``, ``reason`` and ``escalation_due_at`` are set exactly when the state is
      ``unreachable`` (never once ``ended``);
      an ended client keeps its final ``consecutive_missed`` and ``missed_windows``.
    * Before the period starts, ``window_closes_at`` is the close of window 0.

The result depends only on the *set* of contacts (never on their order): every aggregate is a
max/min/flag. ``evaluate`` runs in O(windows + contacts); locating a window is O(log changes).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The Bapas time zones named by the API contract. Schedule accepts any IANA zone, but the windows
# are defined by local dates, which is exact for these fixed-offset zones.
BAPAS_TIME_ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
DEFAULT_GRACE = timedelta(hours=48)  # the Bapas setting `grace_hours` when it is not set


class ContactKind(str, Enum):
    COUNTED = "counted"  # check-in `completed`, or a home visit that found the client present
    EXCUSED = "excused"  # check-in `excused`: the window is neither met nor missed
    INACTIVE = "inactive"  # check-in `number_inactive`: the phone is dead
    ATTEMPT = "attempt"  # check-in `no_answer`, or a home visit without the client: a fact only


class State(str, Enum):
    COMPLIANT = "compliant"
    DUE = "due"
    MISSED = "missed"
    UNREACHABLE = "unreachable"
    ENDED = "ended"


_CHECKIN_OUTCOMES = {
    "completed": ContactKind.COUNTED,
    "excused": ContactKind.EXCUSED,
    "number_inactive": ContactKind.INACTIVE,
    "no_answer": ContactKind.ATTEMPT,
}


def contact_kind(record_type: str, outcome: str | None = None, client_present: bool | None = None) -> ContactKind:
    """The rule kind of a field record.

    ``record_type`` is ``"checkin"`` (classified by ``outcome``: ``completed``, ``no_answer``,
    ``number_inactive``, ``excused``) or ``"visit"`` (classified by ``client_present``: present is a
    counted contact, absent a failed attempt). Arguments that do not apply to the record type are
    ignored. Anything else raises ``ValueError``.
    """
    record_type = _enum_value(record_type)
    if record_type == "checkin":
        kind = _CHECKIN_OUTCOMES.get(_enum_value(outcome)) if outcome is not None else None
        if kind is None:
            raise ValueError(f"unknown check-in outcome: {outcome!r}")
        return kind
    if record_type == "visit":
        if not isinstance(client_present, bool):
            raise ValueError(f"a visit needs client_present as a bool, got {client_present!r}")
        return ContactKind.COUNTED if client_present else ContactKind.ATTEMPT
    raise ValueError(f"unknown record type: {record_type!r}")


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _to_utc(t: Any, what: str) -> datetime:
    """``t`` as an aware UTC datetime; naive datetimes are a ``ValueError``."""
    if not isinstance(t, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


@dataclass(frozen=True)
class Contact:
    """A fact given to the rules. ``at`` is normalised to UTC; a naive ``at`` is a ValueError."""

    at: datetime
    kind: ContactKind

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _to_utc(self.at, "Contact.at"))
        object.__setattr__(self, "kind", ContactKind(self.kind))


@dataclass(frozen=True)
class Window:
    """One check-in window: local dates ``first_day..last_day``; instants ``[opens_at, closes_at)`` in UTC."""

    index: int
    first_day: date
    last_day: date
    opens_at: datetime
    closes_at: datetime
    missable: bool = True  # False: opens before tracking_from, or cut short by a cadence change

    def contains(self, t: datetime) -> bool:
        return self.opens_at <= _to_utc(t, "t") < self.closes_at


@dataclass(frozen=True)
class Schedule:
    """A client's supervision period (inclusive local dates), cadence history, tracking start and time zone.

    ``interval_days`` is the interval from ``start``; ``changes`` are ``(from, interval_days)``, ``(from,
    interval_days, made_on)`` or ``(from, interval_days, made_on, previous_end)`` tuples, strictly increasing dates
    after ``start`` and not after ``end``: from each date on, windows of the new interval (``made_on``, default
    ``from``: the local date the change was made; ``previous_end``, default None: the end of the period the
    change closed, see the module docstring).
    ``tracking_from`` (default ``start``, not before it) is the first day whose windows can be missed.
    """

    start: date
    end: date
    interval_days: int
    tz: str
    tracking_from: date | None = None
    changes: tuple[tuple[Any, ...], ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _count: int = field(init=False, repr=False, compare=False)
    # Segments: (first day, last day, interval, index of its first window, made on, the next change's
    # previous_end or None), in order.
    _segments: tuple[tuple[date, date, int, int, date, date | None], ...] = field(init=False, repr=False,
                                                                                  compare=False)
    _segment_starts: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _segment_bases: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            _check_date(getattr(self, name), name)
        if self.end < self.start:
            raise ValueError(f"supervision end {self.end} is before its start {self.start}")
        _check_interval(self.interval_days)
        if not isinstance(self.tz, str) or not self.tz:
            raise ValueError(f"tz must be an IANA time zone name, got {self.tz!r}")
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {self.tz!r}") from exc
        if self.tracking_from is not None:
            _check_date(self.tracking_from, "tracking_from")
            if self.tracking_from < self.start:
                raise ValueError(f"tracking_from {self.tracking_from} is before the start {self.start}")
        changes = []
        previous = self.start
        for change in self.changes:
            if not isinstance(change, tuple) or len(change) not in (2, 3, 4):
                raise ValueError(f"a cadence change is (from, interval_days[, made_on[, previous_end]]), "
                                 f"got {change!r}")
            d, k = change[0], change[1]
            made = change[2] if len(change) >= 3 else d
            previous_end = change[3] if len(change) == 4 else None
            _check_date(d, "a cadence change")
            _check_date(made, "made_on")
            if previous_end is not None:
                _check_date(previous_end, "previous_end")
            _check_interval(k)
            if not previous < d <= self.end:
                raise ValueError(f"cadence change on {d} is not after {previous} and within the period")
            previous = d
            changes.append((d, k, made, previous_end))
        object.__setattr__(self, "changes", tuple(changes))
        object.__setattr__(self, "_zone", zone)
        starts = [(self.start, self.interval_days, self.start, None), *changes]
        segments = []
        base = 0
        for i, (first, k, made, _) in enumerate(starts):
            last = starts[i + 1][0] - timedelta(days=1) if i + 1 < len(starts) else self.end
            cap = starts[i + 1][3] if i + 1 < len(starts) else None
            segments.append((first, last, k, base, made, cap))
            base += (last - first).days // k + 1
        object.__setattr__(self, "_segments", tuple(segments))
        object.__setattr__(self, "_segment_starts", tuple(seg[0] for seg in segments))
        object.__setattr__(self, "_segment_bases", tuple(seg[3] for seg in segments))
        object.__setattr__(self, "_count", base)

    # -- geometry ------------------------------------------------------------------------------
    @property
    def window_count(self) -> int:
        return self._count

    @property
    def tracked_from(self) -> date:
        return self.tracking_from or self.start

    @property
    def opens_at(self) -> datetime:
        """Start of the period: local midnight of ``start``, in UTC."""
        return self._midnight(self.start)

    @property
    def closes_at(self) -> datetime:
        """End of the period: local midnight after ``end``, in UTC (the close of the last window)."""
        return self._midnight(self.end + timedelta(days=1))

    def windows(self) -> list[Window]:
        """All windows, in order; they tile ``[opens_at, closes_at)`` with no gap or overlap."""
        return [self.window(i) for i in range(self._count)]

    def window(self, index: int) -> Window:
        if not 0 <= index < self._count:
            raise IndexError(f"window {index} outside 0..{self._count - 1}")
        first, last = self._days(index)
        return Window(index, first, last, self._midnight(first), self._midnight(last + timedelta(days=1)),
                      self._missable(index))

    def window_at(self, t: datetime) -> Window | None:
        """The window whose ``[opens_at, closes_at)`` contains ``t``; None outside the period."""
        index = self._index_at(_to_utc(t, "t"))
        return None if index is None else self.window(index)

    def index_on(self, day: date) -> int | None:
        """Index of the window holding the local date ``day`` (O(log changes)); None outside the period."""
        if day < self.start or day > self.end:
            return None
        first, _, k, base, _, _ = self._segments[bisect_right(self._segment_starts, day) - 1]
        return base + (day - first).days // k

    def days_of(self, index: int) -> tuple[date, date]:
        """The first and last local date of window ``index`` (no instants built: cheap for reports)."""
        return self._days(index)

    def missable(self, index: int) -> bool:
        """Whether window ``index`` can be missed (see "Windows" above)."""
        return self._missable(index)

    # -- internals -----------------------------------------------------------------------------
    def _segment_of(self, index: int) -> tuple[date, date, int, int, date, date | None]:
        return self._segments[bisect_right(self._segment_bases, index) - 1]

    def _days(self, index: int) -> tuple[date, date]:
        first_of_segment, last_of_segment, k, base, _, _ = self._segment_of(index)
        first = first_of_segment + timedelta(days=(index - base) * k)
        last = min(first + timedelta(days=k - 1), last_of_segment)
        return first, last

    def _missable(self, index: int) -> bool:
        first_of_segment, last_of_segment, k, base, made, cap = self._segment_of(index)
        first = first_of_segment + timedelta(days=(index - base) * k)
        if first < self.tracked_from:
            return False
        natural_last = first + timedelta(days=k - 1)
        if cap is not None:  # the change closed a period: its last window already ended on that period's end
            natural_last = min(natural_last, cap)
        cut_by_change = last_of_segment != self.end and natural_last > last_of_segment
        closed_before_made = min(natural_last, last_of_segment) < made
        return not (cut_by_change or closed_before_made)

    def _last_day(self, index: int) -> date:
        return self._days(index)[1]

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self._zone).astimezone(UTC)

    def _closes(self, index: int) -> datetime:
        return self._midnight(self._last_day(index) + timedelta(days=1))

    def _index_at(self, t: datetime) -> int | None:
        """Index of the window containing aware ``t`` (O(log changes)), or None outside the period.

        Uses the local date of ``t``: an instant is in ``[midnight(first_day), midnight(last_day+1))``
        exactly when its local date is within ``first_day..last_day``.
        """
        return self.index_on(t.astimezone(self._zone).date())


def _check_date(value: Any, name: str) -> None:
    # datetime is a subclass of date; a datetime here is almost certainly a bug.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, got {value!r}")


def _check_interval(value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"interval_days must be an int >= 1, got {value!r}")


@dataclass(frozen=True)
class Compliance:
    state: State
    consecutive_missed: int
    last_contact_at: datetime | None  # latest counted contact known at as_of, UTC
    next_due: date | None  # local date by which the next contact is owed; None when ended
    episode_started_at: datetime | None  # start of the unreachable episode (UTC), iff unreachable
    window_closes_at: datetime | None  # when the current window closes (UTC); None when ended
    missed_windows: int  # missed closed windows in the whole period (as of as_of)
    reason: str | None = None  # three_missed | number_inactive, iff unreachable
    escalation_due_at: datetime | None = None  # episode start + grace (UTC), iff unreachable

    def to_api(self) -> dict[str, Any]:
        """The contract's ``compliance`` object (1.1: with ``reason`` and ``escalation_due_at``)."""
        return {
            "state": self.state.value,
            "consecutive_missed": self.consecutive_missed,
            "last_contact_at": (
                None if self.last_contact_at is None else self.last_contact_at.astimezone(UTC).isoformat()
            ),
            "next_due": None if self.next_due is None else self.next_due.isoformat(),
            "reason": self.reason,
            "escalation_due_at": (
                None if self.escalation_due_at is None else self.escalation_due_at.astimezone(UTC).isoformat()
            ),
        }


UNREACHABLE_AFTER = 3  # consecutive missed windows that make a client unreachable
THREE_MISSED = "three_missed"
NUMBER_INACTIVE = "number_inactive"


def evaluate(schedule: Schedule, contacts: Iterable[Contact], as_of: datetime,
             grace: timedelta = DEFAULT_GRACE, *, from_window: int = 0, streak_before: int = 0) -> Compliance:
    """The client's compliance at ``as_of`` (aware; naive is a ValueError). O(windows + contacts).

    ``grace`` (>= 0) is how long an unreachable episode lasts before it is escalated.

    ``from_window``/``streak_before`` (the compliance report's bounded view, `compaction.ReportView`): windows
    before ``from_window`` are not looked at; the missed streak they leave is ``streak_before`` (capped at
    ``UNREACHABLE_AFTER``). Then ``state`` is exact (for an ``as_of`` in or after window ``from_window``), while
    ``missed_windows``, ``consecutive_missed`` beyond the cap and the episode's start are not.
    """
    as_of = _to_utc(as_of, "as_of")
    if not isinstance(grace, timedelta) or grace < timedelta(0):
        raise ValueError(f"grace must be a timedelta >= 0, got {grace!r}")
    count = schedule.window_count
    period_opens = schedule.opens_at
    period_closes = schedule.closes_at

    counted = bytearray(count)
    excused = bytearray(count)
    latest_counted: datetime | None = None
    inactive_times: list[datetime] = []
    for contact in contacts:
        if not isinstance(contact, Contact):
            raise TypeError(f"contacts must be Contact instances, got {type(contact).__name__}")
        at = contact.at
        if at > as_of:
            continue  # not known yet at as_of
        kind = contact.kind
        if kind is ContactKind.COUNTED and (latest_counted is None or at > latest_counted):
            latest_counted = at
        if kind is ContactKind.ATTEMPT or not period_opens <= at < period_closes:
            continue
        if kind is ContactKind.INACTIVE:
            inactive_times.append(at)
            continue
        index = schedule._index_at(at)
        if index is None:  # pragma: no cover - excluded by the period bounds above
            continue
        if kind is ContactKind.COUNTED:
            counted[index] = 1
        else:
            excused[index] = 1

    if as_of < period_opens:
        # Nothing is owed yet: the first window's contact is due by its last day.
        return Compliance(
            state=State.DUE,
            consecutive_missed=0,
            last_contact_at=latest_counted,
            next_due=schedule._last_day(0),
            episode_started_at=None,
            window_closes_at=schedule._closes(0),
            missed_windows=0,
        )

    ended = as_of >= period_closes
    if ended:
        current = count  # every window is closed
    else:
        current = schedule._index_at(as_of)
        assert current is not None

    missed_total = 0
    streak = min(streak_before, UNREACHABLE_AFTER)
    # the 3rd missed window of the current streak (one before `from_window` stands for a streak carried in)
    third_missed: int | None = max(from_window - 1, 0) if streak >= UNREACHABLE_AFTER else None
    for i in range(from_window, current):
        if counted[i]:
            streak = 0
            third_missed = None
        elif not excused[i] and schedule._missable(i):
            missed_total += 1
            streak += 1
            if streak == UNREACHABLE_AFTER:
                third_missed = i
    if not ended and counted[current]:
        streak = 0
        third_missed = None

    if ended:
        return Compliance(
            state=State.ENDED,
            consecutive_missed=streak,
            last_contact_at=latest_counted,
            next_due=None,
            episode_started_at=None,
            window_closes_at=None,
            missed_windows=missed_total,
        )

    episode_candidates: list[datetime] = []
    if third_missed is not None:
        episode_candidates.append(schedule._closes(third_missed))
    silent_inactive = [t for t in inactive_times if latest_counted is None or t > latest_counted]
    if silent_inactive:
        episode_candidates.append(min(silent_inactive))
    episode_started_at = min(episode_candidates) if episode_candidates else None

    current_settled = bool(counted[current] or excused[current])
    if episode_started_at is not None:
        state = State.UNREACHABLE
    elif streak >= 1:
        state = State.MISSED
    elif not current_settled:
        state = State.DUE
    else:
        state = State.COMPLIANT

    if not current_settled:
        next_due = schedule._last_day(current)
    elif current + 1 < count:
        next_due = schedule._last_day(current + 1)
    else:
        next_due = schedule.end

    reason = None
    if episode_started_at is not None:
        reason = THREE_MISSED if streak >= UNREACHABLE_AFTER else NUMBER_INACTIVE
    return Compliance(
        state=state,
        consecutive_missed=streak,
        last_contact_at=latest_counted,
        next_due=next_due,
        episode_started_at=episode_started_at,
        window_closes_at=schedule._closes(current),
        missed_windows=missed_total,
        reason=reason,
        escalation_due_at=None if episode_started_at is None else episode_started_at + grace,
    )


# ----- supervision periods (a program change starts a new one) ---------------------------------------------

@dataclass(frozen=True)
class PeriodCompliance:
    """The windows of one supervision period, as of ``as_of``.

    ``windows`` counts every window of the period, ``closed`` those closed at ``as_of``; each closed window is
    exactly one of ``met`` (a counted contact), ``excused``, ``missed`` or ``neutral`` (not missable: before
    tracking, cut short by a change, or closed before its cadence was set). ``consecutive_missed`` is the streak
    (the same as ``evaluate``'s) right after the period's last closed window; ``last_contact_at`` the latest
    counted contact inside the period's windows known at ``as_of``.
    """

    first_day: date
    last_day: date
    windows: int
    closed: int
    met: int
    excused: int
    missed: int
    neutral: int
    consecutive_missed: int
    last_contact_at: datetime | None

    def to_api(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
            "windows": self.windows, "windows_closed": self.closed, "met": self.met, "excused": self.excused,
            "missed": self.missed, "neutral": self.neutral, "consecutive_missed": self.consecutive_missed,
            "last_contact_at": None if self.last_contact_at is None else self.last_contact_at.isoformat(),
        }


def by_period(schedule: Schedule, contacts: Iterable[Contact], as_of: datetime,
              starts: Iterable[date]) -> list[PeriodCompliance]:
    """The compliance of each supervision period: ``starts`` are the first days of each period's windows (the
    first is ``schedule.start``, each later one the first day of a window, strictly increasing). Every window
    belongs to exactly one period, the one whose days contain its first day, so the periods' counts add up to
    the whole schedule's (``missed`` sums to ``evaluate``'s ``missed_windows``). O(windows + contacts)."""
    as_of = _to_utc(as_of, "as_of")
    starts = list(starts)
    if not starts or starts[0] != schedule.start:
        raise ValueError("the first period starts on the schedule's start")
    count = schedule.window_count
    first_index = []
    for s in starts:
        _check_date(s, "a period start")
        index = schedule._index_at(schedule._midnight(s)) if schedule.start <= s <= schedule.end else None
        if index is None or schedule._days(index)[0] != s:
            raise ValueError(f"a period starts on the first day of a window, {s} is not one")
        if first_index and index <= first_index[-1]:
            raise ValueError("period starts must be strictly increasing")
        first_index.append(index)
    counted = bytearray(count)
    excused = bytearray(count)
    latest: dict[int, datetime] = {}
    for contact in contacts:
        if contact.at > as_of or contact.kind not in (ContactKind.COUNTED, ContactKind.EXCUSED):
            continue
        index = schedule._index_at(contact.at)
        if index is None:
            continue
        if contact.kind is ContactKind.COUNTED:
            counted[index] = 1
            if index not in latest or contact.at > latest[index]:
                latest[index] = contact.at
        else:
            excused[index] = 1
    out = []
    streak = 0
    bounds = [*first_index, count]
    for p, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        tally = dict.fromkeys(("closed", "met", "excused", "missed", "neutral"), 0)
        last_contact = None
        for i in range(lo, hi):
            if i in latest and (last_contact is None or latest[i] > last_contact):
                last_contact = latest[i]
            if schedule._closes(i) > as_of:
                continue
            tally["closed"] += 1
            if counted[i]:
                tally["met"] += 1
                streak = 0
            elif excused[i]:
                tally["excused"] += 1
            elif schedule._missable(i):
                tally["missed"] += 1
                streak += 1
            else:
                tally["neutral"] += 1
        last_day = schedule.end if p + 1 == len(starts) else starts[p + 1] - timedelta(days=1)
        out.append(PeriodCompliance(first_day=starts[p], last_day=last_day, windows=hi - lo,
                                    consecutive_missed=streak, last_contact_at=last_contact, **tally))
    return out


def new_period(schedule: Schedule, start_date: date, end: date, interval_days: int,
               as_of: datetime) -> tuple[date, Schedule]:
    """A program change: a new supervision period from ``start_date`` to ``end`` with ``interval_days``, decided
    at ``as_of``. Returns the day its windows start and the schedule from then on.

    The windows continue without a gap and nothing already closed is recounted: the new cadence starts on the
    later of ``start_date`` and the first day of the window open at ``as_of`` (after the old end: the day after
    it), so every window closed at ``as_of`` keeps its days and outcome. The window the change shortens is spared
    (never missed); the old period's own last window, already ending on its end, keeps its outcome
    (``previous_end``). Cadence changes dated on or after that day are replaced. ``ValueError`` when the new
    windows would not start after the old period's start or would start after ``end``.
    """
    as_of = _to_utc(as_of, "as_of")
    _check_date(start_date, "start_date")
    _check_date(end, "end")
    _check_interval(interval_days)
    window = schedule.window_at(as_of)
    if window is not None:
        earliest = window.first_day
    elif as_of >= schedule.closes_at:
        earliest = schedule.end + timedelta(days=1)
    else:
        earliest = schedule.start
    switch = max(start_date, earliest)
    if switch <= schedule.start:
        raise ValueError(f"the new period's windows must start after {schedule.start}")
    if switch > end:
        raise ValueError(f"the new period ends ({end}) before its windows start ({switch})")
    made = as_of.astimezone(schedule._zone).date()
    kept = tuple(c for c in schedule.changes if c[0] < switch)
    # A change already starting on that day decided how the window before it ended: it keeps deciding.
    same_day = [c for c in schedule.changes if c[0] == switch]
    previous_end = same_day[0][3] if same_day else schedule.end
    return switch, Schedule(start=schedule.start, end=end, interval_days=schedule.interval_days, tz=schedule.tz,
                            tracking_from=schedule.tracking_from,
                            changes=(*kept, (switch, interval_days, made, previous_end)))
