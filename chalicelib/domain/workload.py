"""The per-client numbers of the coordinators' compliance report, from the facts on the client item.

Pure domain logic. The report covers the local dates `first..last` (inclusive, Bapas time zone) and is
evaluated at the instant `as_of` (the end of `last`, or now if that is earlier): facts later than `as_of`
are not known yet and are ignored.

Check-ins expected vs done
    The check-in windows (see `compliance.py`) that overlap `first..last` are the ones the report looks at.
    Of those:

    * *done*: windows with a counted contact (check-in `completed`, or a home visit that found the client)
      known at `as_of`;
    * *expected*: windows that are done, plus windows that are closed at `as_of` with neither a counted nor
      an excused contact (the missed ones). A window still open and not yet met is not expected yet; an
      excused window is neither expected nor done, and neither is a window that cannot be missed (opened
      before `tracking_from`, or cut short by a cadence change): the report counts as the client's record does.
      Windows follow the cadence history (`Schedule`), so a program change or a new interval is counted as
      the compliance rules count it.

    So done <= expected, and a client who has been seen in every window has done == expected.

Home visits
    Home visits (record key `visit#...`, the client present or not) whose time falls in `first..last` (local
    dates) and is known at `as_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.compliance import ContactKind, Schedule
from chalicelib.domain.timeutil import parse_rfc3339, to_rfc3339


@dataclass(frozen=True)
class Fact:
    """A contact fact as stored on the client item: when, its rule kind, and the record it came from."""

    at: datetime
    kind: ContactKind
    record_key: str

    def to_text(self) -> str:
        """As the client item's `contacts` list holds it: "<UTC RFC 3339>|<kind>|<record key>"."""
        return f"{to_rfc3339(self.at)}|{self.kind.value}|{self.record_key}"

    @classmethod
    def parse(cls, text: str) -> Fact:
        at, kind, record_key = text.split("|", 2)
        return cls(parse_rfc3339(at), ContactKind(kind), record_key)

    @property
    def is_visit(self) -> bool:
        return self.record_key.startswith("visit#")


@dataclass(frozen=True)
class Tally:
    checkins_expected: int
    checkins_done: int
    home_visits: int


def tally(schedule: Schedule, facts: Iterable[Fact], first: date, last: date, as_of: datetime) -> Tally:
    if last < first:
        raise ValueError("last is before first")
    zone = ZoneInfo(schedule.tz)
    # Local dates only (no instants built per window): window i is closed at `as_of` exactly when its last
    # date is before the local date of `as_of` (it closes at local midnight after its last date).
    today = as_of.astimezone(zone).date()
    visits = 0
    counted: set[int] = set()
    excused: set[int] = set()
    for f in facts:
        if f.at > as_of:
            continue
        day = f.at.astimezone(zone).date()
        if f.is_visit and first <= day <= last:
            visits += 1
        if f.kind in (ContactKind.COUNTED, ContactKind.EXCUSED):
            index = schedule.index_on(day)
            if index is not None:
                (counted if f.kind is ContactKind.COUNTED else excused).add(index)
    lo, hi = max(first, schedule.start), min(last, schedule.end)
    if hi < lo:
        return Tally(0, 0, visits)
    expected = done = 0
    for i in range(schedule.index_on(lo), schedule.index_on(hi) + 1):  # type: ignore[arg-type]
        if i in counted:
            expected += 1
            done += 1
        elif i not in excused and schedule.missable(i) and schedule.days_of(i)[1] < today:
            expected += 1
    return Tally(expected, done, visits)
