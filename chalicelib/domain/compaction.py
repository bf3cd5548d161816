"""Bounded compliance facts: the facts of long-closed windows folded into one summary per client.

Pure domain logic (standard library only). A client item carries its compliance facts (`contacts`:
"<UTC time>|<kind>|<record key>", one per check-in or visit). Appended for ever, about 5,000 records would reach
DynamoDB's 400 KB item limit, and every reader (the compliance report above all) reads them all. So facts whose
check-in window closed more than `KEEP_DAYS` ago are folded into a :class:`Summary` (`contacts_summary` on the
item), which keeps, of those facts, exactly what the rules can still ask:

* per compacted window its outcome: ``c`` (a counted contact), ``e`` (excused, none counted) or ``-``
  (neither), run-length encoded ("c40-2c10"): what `compliance.evaluate` and `workload.tally` read of a window
  that is closed;
* the latest counted instant among them (`last_contact_at`, and what a later `inactive` fact is compared with);
* the `inactive` instants inside the period that are later than that (only those can still start an
  episode; a later counted contact makes them irrelevant for good);
* the local days of home visits, with their count (the report counts visits by day).

`facts(...)` turns a summary back into representative facts (a counted fact at a counted window's opening,
the latest counted instant itself, the inactive instants, one visit fact per visit at its day's midnight).
**Exactness:** for every `as_of` at or after the summary's boundary (the close of its last window),
`evaluate` and `tally` give the same result from the representative facts plus the remaining ones as from the
full history (`tests/unit/test_compaction.py`, a hypothesis property test). The boundary trails the present by
at least `KEEP_DAYS`, so every evaluation of "now" and every report whose range ends within the last
`KEEP_DAYS` is exact; the report refuses ranges ending earlier (`services/reports.py`).

A fact recorded late for an already-compacted window (an offline phone syncing a two-month-old check-in) is
folded into the summary directly: the result is the same as if it had been there before compaction. What a
summary cannot survive is a change of the windows it covers (a new `supervision_start`, an end before its
boundary): `same_windows` lets the client PATCH refuse those.

Size: a summary grows with the number of *changes* of outcome, the visit days and the dead-number reports
since the last counted contact, never with the number of records; the remaining facts are those of the last
`KEEP_DAYS` (plus the window still open). `plan_fact` is the write path's whole decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from chalicelib.domain.compliance import UNREACHABLE_AFTER, ContactKind, Schedule
from chalicelib.domain.timeutil import parse_rfc3339, to_rfc3339
from chalicelib.domain.workload import Fact

KEEP_DAYS = 62  # facts of windows closed longer ago than this are summarised (about two months of offline lag)
# The report covers at most 366 days ending at most KEEP_DAYS ago (services/reports.py): visit days older than
# this can never be counted again, so the summary forgets them (it stops growing after ~14 months).
VISIT_REACH_DAYS = 366 + KEEP_DAYS + 1
COUNTED, EXCUSED, NEITHER = "c", "e", "-"
PAD = "_"  # after the last compacted window in a `ReportView`'s outcomes (fixed width)
_RUN = re.compile(r"([ce-])(\d+)")
SUMMARY_KEY = "compacted"  # the record key of the representative facts


def _utc(text: str) -> datetime:
    return parse_rfc3339(text)


def _text(at: datetime) -> str:
    return to_rfc3339(at) or ""


def parse_fact(text: str) -> Fact:
    return Fact.parse(text)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _days_text(visits: tuple[tuple[date, int], ...]) -> str:
    """Visit days as base-36 day gaps (the first from day 0), ":n" when a day had n > 1 visits: "jwq1,3,1c:2"."""
    out, previous = [], 0
    for day, n in visits:
        ordinal = day.toordinal()
        out.append(_b36(ordinal - previous) + (f":{n}" if n > 1 else ""))
        previous = ordinal
    return ",".join(out)


def _days_parse(text: str) -> tuple[tuple[date, int], ...]:
    out, ordinal = [], 0
    for part in filter(None, text.split(",")):
        gap, _, n = part.partition(":")
        ordinal += int(gap, 36)
        out.append((date.fromordinal(ordinal), int(n or 1)))
    return tuple(out)


@dataclass(frozen=True)
class Summary:
    windows: int = 0  # windows 0 .. windows-1 are compacted
    outcomes: str = ""  # one character a window: c, e or -
    last_counted: datetime | None = None
    inactive: tuple[datetime, ...] = ()  # sorted; in the period and later than last_counted
    visits: tuple[tuple[date, int], ...] = field(default=())  # sorted (local day, visits that day)

    # -- storage ---------------------------------------------------------------------------------------------
    def encode(self) -> str | None:
        if not self.windows and self.last_counted is None and not self.visits:
            return None
        runs, i = [], 0
        while i < len(self.outcomes):
            j = i
            while j < len(self.outcomes) and self.outcomes[j] == self.outcomes[i]:
                j += 1
            runs.append(f"{self.outcomes[i]}{j - i}")
            i = j
        data: dict[str, object] = {"w": self.windows, "o": "".join(runs)}
        if self.last_counted is not None:
            data["l"] = _text(self.last_counted)
        if self.inactive:
            data["i"] = [_text(t) for t in self.inactive]
        if self.visits:
            data["v"] = _days_text(self.visits)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Summary:
        if not text:
            return cls()
        data = json.loads(text)
        outcomes = "".join(ch * int(n) for ch, n in _RUN.findall(data.get("o", "")))
        if len(outcomes) != int(data["w"]):
            raise ValueError("a compacted summary whose outcomes do not cover its windows")
        visits = _days_parse(data.get("v", ""))
        return cls(windows=int(data["w"]), outcomes=outcomes,
                   last_counted=_utc(data["l"]) if data.get("l") else None,
                   inactive=tuple(_utc(t) for t in data.get("i", [])), visits=visits)

    # -- geometry --------------------------------------------------------------------------------------------
    def boundary(self, schedule: Schedule) -> datetime | None:
        """Facts earlier than this instant are in the summary; None when no window is compacted yet."""
        return schedule.window(self.windows - 1).closes_at if self.windows else None

    def covers(self, schedule: Schedule, at: datetime) -> bool:
        b = self.boundary(schedule)
        return b is not None and at < b

    # -- folding ---------------------------------------------------------------------------------------------
    def extended(self, windows: int) -> Summary:
        if windows <= self.windows:
            return self
        return replace(self, windows=windows, outcomes=self.outcomes + NEITHER * (windows - self.windows))

    def fold(self, schedule: Schedule, fact: Fact) -> Summary:
        """This summary with one more fact of its compacted time (`covers(schedule, fact.at)`)."""
        s = self
        index = schedule._index_at(fact.at) if schedule.opens_at <= fact.at < schedule.closes_at else None
        if fact.is_visit:
            day = fact.at.astimezone(schedule._zone).date()
            counts = dict(s.visits)
            counts[day] = counts.get(day, 0) + 1
            s = replace(s, visits=tuple(sorted(counts.items())))
        if fact.kind is ContactKind.COUNTED:
            if index is not None:
                s = s._set(index, COUNTED)
            if s.last_counted is None or fact.at > s.last_counted:
                s = replace(s, last_counted=fact.at, inactive=tuple(t for t in s.inactive if t > fact.at))
        elif fact.kind is ContactKind.EXCUSED and index is not None:
            if s.outcomes[index] == NEITHER:
                s = s._set(index, EXCUSED)
        elif (fact.kind is ContactKind.INACTIVE and index is not None and fact.at not in s.inactive
              and (s.last_counted is None or fact.at > s.last_counted)):
            s = replace(s, inactive=tuple(sorted((*s.inactive, fact.at))))
        return s

    def _set(self, index: int, outcome: str) -> Summary:
        if not 0 <= index < self.windows:  # pragma: no cover - folding checks `covers` first
            raise ValueError(f"window {index} is not compacted")
        return replace(self, outcomes=self.outcomes[:index] + outcome + self.outcomes[index + 1:])

    # -- reading ---------------------------------------------------------------------------------------------
    def facts(self, schedule: Schedule) -> list[Fact]:
        """Representative facts: with the remaining ones, the rules see what they saw in the full history."""
        out = []
        for i, outcome in enumerate(self.outcomes):
            if outcome == COUNTED:
                out.append(Fact(schedule.window(i).opens_at, ContactKind.COUNTED, SUMMARY_KEY))
            elif outcome == EXCUSED:
                out.append(Fact(schedule.window(i).opens_at, ContactKind.EXCUSED, SUMMARY_KEY))
        if self.last_counted is not None:
            out.append(Fact(self.last_counted, ContactKind.COUNTED, SUMMARY_KEY))
        out += [Fact(t, ContactKind.INACTIVE, SUMMARY_KEY) for t in self.inactive]
        for day, n in self.visits:
            midnight = datetime.combine(day, time(0), tzinfo=schedule._zone).astimezone(UTC)
            out += [Fact(midnight, ContactKind.ATTEMPT, "visit#" + SUMMARY_KEY)] * n
        return out


def compactable(schedule: Schedule, now: datetime) -> int:
    """How many windows (from the first) closed at least `KEEP_DAYS` before `now`."""
    cutoff = now - timedelta(days=KEEP_DAYS)
    if cutoff >= schedule.closes_at:
        return schedule.window_count
    if cutoff < schedule.opens_at:
        return 0
    index = schedule._index_at(cutoff)
    return 0 if index is None else index


def compact(schedule: Schedule, summary: Summary, texts: Iterable[str], windows: int) -> tuple[Summary, list[str]]:
    """Fold every fact earlier than the close of window `windows - 1` into the summary: (summary, the rest)."""
    summary = summary.extended(windows)
    rest = []
    for text in texts:
        fact = parse_fact(text)
        if summary.covers(schedule, fact.at):
            summary = summary.fold(schedule, fact)
        else:
            rest.append(text)
    return summary, rest


def all_facts(schedule: Schedule, summary_text: str | None, texts: Iterable[str]) -> list[Fact]:
    """What the rules read: the summary's representative facts and the remaining facts."""
    return Summary.decode(summary_text).facts(schedule) + [parse_fact(t) for t in texts]


def same_windows(old: Schedule, new: Schedule, summary_text: str | None) -> bool:
    """Whether `new` keeps every compacted window of `old` as it was (the summary stays true)."""
    windows = Summary.decode(summary_text).windows
    if windows == 0:
        return True
    if new.window_count < windows or new.tz != old.tz:
        return False
    return all(new.window(i) == old.window(i) for i in range(windows))


@dataclass(frozen=True)
class Plan:
    """How a record's transaction updates the client's facts."""

    append: str | None  # the new fact, appended to `contacts` (no summary change)
    contacts: list[str] | None  # or: `contacts` replaced by this list ...
    summary: str | None  # ... and `contacts_summary` set to this (None: removed)

    @property
    def rewrites(self) -> bool:
        return self.append is None


def plan_fact(schedule: Schedule, summary_text: str | None, texts: list[str], new: str, now: datetime) -> Plan:
    """Add one fact: appended when its window is not compacted and nothing is due for compaction; otherwise the
    compacted part (and the fact, if it belongs there) folded into the summary and the rest kept."""
    summary = Summary.decode(summary_text)
    windows = max(summary.windows, compactable(schedule, now))
    fact = parse_fact(new)
    if windows == summary.windows and not summary.covers(schedule, fact.at):
        return Plan(append=new, contacts=None, summary=None)
    summary, rest = compact(schedule, summary, [*texts, new], windows)
    oldest = now.astimezone(schedule._zone).date() - timedelta(days=VISIT_REACH_DAYS)
    summary = replace(summary, visits=tuple((d, n) for d, n in summary.visits if d >= oldest))
    return Plan(append=None, contacts=rest, summary=summary.encode())


# ----- the compliance report's bounded view ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReportView:
    """What the compliance report reads of a client's compacted windows (`report_summary` on the item, projected
    into the clients table's `report-index`): of a :class:`Summary`, only what a report can still ask, in a form
    whose size does not depend on how long the client has been supervised.

    A report's range ends at most `KEEP_DAYS` before the day it is made and covers at most 366 days, so no report
    made after the view was written (on day D) looks at a window before `first`, the window of
    `D - VISIT_REACH_DAYS`.
    Of the windows before it the report's state only needs the missed streak they leave (`streak`, capped at
    `compliance.UNREACHABLE_AFTER`: beyond it the state is `unreachable` until a counted contact). Kept: the outcome
    of each compacted window from `first` on (one character each: at most `VISIT_REACH_DAYS / interval`), the
    latest counted instant, the latest `inactive` instant later than it (only whether one exists changes the
    state), and the visit days of the summary (already limited to the last `VISIT_REACH_DAYS`). Window numbers and
    the outcomes are written with a fixed width, so a client supervised for three years has a view exactly as large
    as one supervised for one year with the same last `VISIT_REACH_DAYS` (`tests/unit/test_report_view.py`):
    what the view holds depends on the last 14 months only.

    Exactness: for every report made after the view was written (`as_of` in or after window `first`), `state` of
    `compliance.evaluate(..., from_window=first, streak_before=streak)` and `workload.tally` over the view's facts
    plus the remaining ones equal those over the full history's (`tests/unit/test_report_view.py`).
    """

    first: int = 0
    streak: int = 0
    outcomes: str = ""  # windows first .. first + len - 1
    last_counted: datetime | None = None
    inactive: datetime | None = None
    visits: tuple[tuple[date, int], ...] = ()

    WIDTH = 6  # digits of a window number: a million windows, 2,700 years of daily check-ins

    def encode(self) -> str:
        data: dict[str, object] = {"f": f"{self.first:0{self.WIDTH}d}", "s": self.streak, "o": self.outcomes}
        if self.last_counted is not None:
            data["l"] = _text(self.last_counted)
        if self.inactive is not None:
            data["i"] = _text(self.inactive)
        if self.visits:
            data["v"] = _days_text(self.visits)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> ReportView:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(first=int(data["f"]), streak=int(data["s"]), outcomes=data["o"].rstrip(PAD),
                   last_counted=_utc(data["l"]) if data.get("l") else None,
                   inactive=_utc(data["i"]) if data.get("i") else None, visits=_days_parse(data.get("v", "")))

    def facts(self, schedule: Schedule) -> list[Fact]:
        """Representative facts of the compacted windows from `first` on (as `Summary.facts`)."""
        summary = Summary(windows=self.first + len(self.outcomes), outcomes=NEITHER * self.first + self.outcomes,
                          last_counted=self.last_counted, inactive=(self.inactive,) if self.inactive else (),
                          visits=self.visits)
        return summary.facts(schedule)


def report_view(schedule: Schedule, summary_text: str | None, now: datetime) -> str | None:
    """The `report_summary` of a client whose `contacts_summary` is `summary_text`, written at `now` (with it)."""
    summary = Summary.decode(summary_text)
    if not summary.windows and summary.last_counted is None and not summary.visits:
        return None
    reach = now.astimezone(schedule._zone).date() - timedelta(days=VISIT_REACH_DAYS)
    if reach < schedule.start:
        first = 0
    elif reach > schedule.end:
        first = summary.windows
    else:
        first = min(summary.windows, schedule._index_at(schedule._midnight(reach)) or 0)
    streak = 0
    for i in range(first):
        outcome = summary.outcomes[i]
        if outcome == COUNTED:
            streak = 0
        elif outcome != EXCUSED and schedule._missable(i):
            streak = min(streak + 1, UNREACHABLE_AFTER)
    # Written with a fixed width: padded to the most windows the reach can hold ("_" after the last compacted
    # one), so a client supervised for less than the reach has a view as large as one supervised for years.
    shortest = min(segment[2] for segment in schedule._segments)
    outcomes = summary.outcomes[first:]
    outcomes += PAD * (VISIT_REACH_DAYS // shortest + 2 - len(outcomes))
    return ReportView(first=first, streak=streak, outcomes=outcomes,
                      last_counted=summary.last_counted,
                      inactive=max(summary.inactive) if summary.inactive else None,
                      visits=summary.visits).encode()
