"""Progress reports (Laporan Perkembangan Pembimbingan): when they are due and which are overdue.

Pure domain logic (standard library only), like `compliance.py`.

Due periods
    The supervision period is cut into its three stages by `clients.stage_bounds` (awal, lanjutan, akhir:
    thirds of the period, inclusive local dates). Each stage is cut into *due periods* of whole calendar
    months counted from the stage's first date ("monthly"); period k of a stage [first, last] covers

        [first + k months, first + (k + 1) months - 1 day]        (a month added to the 31st ends on the
                                                                   month's last day: Jan 31 + 1 month = Feb 28)

    truncated at the stage's last date. A last period shorter than half of its month is merged into its
    predecessor (no report for a 2-day stub): a stage 2027-01-01..2027-05-02 has the periods Jan, Feb, Mar
    and Apr 1 - May 2. A stage shorter than half a month is one period. So every stage ends a period ("at
    the end of each stage") and the periods of all stages tile the whole supervision period with no gap or
    overlap.

Due dates (working days)
    A report is due by the end of its period's last date, moved to the next working day when that date is a
    weekend, a libur nasional or a cuti bersama (`workdays.py`, from `lokal`'s calendar): the PK who writes it
    is not expected to work on a day off. A period ending on Saturday 2027-01-30 is due on Monday 02-01.

Met
    A due period [period_start, period_end] is *met* at `as_of` by any report submitted at or before `as_of`
    whose own period [report.period_start, report.period_end] overlaps it, i.e.

        report.period_start <= period_end  and  report.period_end >= period_start.

    (The app pre-fills the report's period with the next due period, see `Status.next_period_start` and
    `next_period_end`, so a
    report normally covers exactly one due period; a report covering several periods meets each of them.)
    A report submitted after `as_of` is not known yet at `as_of` and is ignored, so the rule can be
    evaluated as of any past instant (the compliance report evaluates it as of the end of its range).

Overdue
    A due period is *overdue* on local date `today` when its due date is before `today` (the whole due
    date has passed) and it is not met. A report that comes late still meets it from then on.

Next due
    The earliest due period that is not met and whose due date is `today` or later; None when there is
    none (the supervision has ended, or every remaining period is already covered).

The result depends only on the set of reports, never on their order. O(periods + reports).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from chalicelib.domain import workdays
from chalicelib.domain.clients import Stage, stage_bounds


@dataclass(frozen=True)
class DuePeriod:
    stage: Stage
    period_start: date
    period_end: date  # the period's last date (inclusive)
    due: date  # the report is due by the end of this local date: period_end, or the next working day after it


@dataclass(frozen=True)
class Report:
    """What the rule needs of a report: the period it covers and when it was submitted (aware)."""

    period_start: date
    period_end: date
    submitted_at: datetime

    def __post_init__(self) -> None:
        if self.submitted_at.tzinfo is None or self.submitted_at.utcoffset() is None:
            raise ValueError("submitted_at must be timezone-aware")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")


@dataclass(frozen=True)
class Status:
    overdue: int
    overdue_periods: tuple[DuePeriod, ...]
    next_due: date | None
    next_period_start: date | None
    next_stage: Stage | None
    next_period_end: date | None = None

    def to_api(self) -> dict[str, object]:
        """The `progress_reports` object of a client."""
        return {
            "overdue": self.overdue,
            "next_due": None if self.next_due is None else self.next_due.isoformat(),
            "next_period_start": None if self.next_period_start is None else self.next_period_start.isoformat(),
            "next_period_end": None if self.next_period_end is None else self.next_period_end.isoformat(),
            "next_stage": None if self.next_stage is None else self.next_stage.value,
        }


def due_periods(start: date, end: date) -> list[DuePeriod]:
    """Every due period of a supervision period, in order (see the module docstring)."""
    return list(_due_periods(start, end))


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def stage_periods(first: date, last: date) -> list[tuple[date, date]]:
    """The periods of one stage [first, last]: whole months from `first`, a short last one merged (see above)."""
    out: list[tuple[date, date]] = []
    k = 0
    while (period_start := add_months(first, k)) <= last:
        next_start = add_months(first, k + 1)
        period_end = min(next_start - timedelta(days=1), last)
        stub = period_end < next_start - timedelta(days=1)  # truncated at the stage's end
        if out and stub and (period_end - period_start).days + 1 < (next_start - period_start).days / 2:
            out[-1] = (out[-1][0], period_end)  # a stub shorter than half a month joins its predecessor
        else:
            out.append((period_start, period_end))
        k += 1
    return out


@lru_cache(maxsize=4096)  # many clients share a supervision period; the report evaluates thousands at once
def _due_periods(start: date, end: date) -> tuple[DuePeriod, ...]:
    if end < start:
        raise ValueError(f"supervision end {end} is before its start {start}")
    return tuple(DuePeriod(stage, period_start, period_end, workdays.on_or_after(period_end))
                 for stage, first, last in stage_bounds(start, end)
                 for period_start, period_end in stage_periods(first, last))


def is_met(period: DuePeriod, reports: Iterable[Report], as_of: datetime) -> bool:
    return any(r.submitted_at <= as_of and r.period_start <= period.period_end and r.period_end >= period.period_start
               for r in reports)


def evaluate(start: date, end: date, reports: Iterable[Report], as_of: datetime, today: date) -> Status:
    """Overdue count and next due period at `as_of`; `today` is the local date of `as_of` in the Bapas zone."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    known = sorted((r.period_start, r.period_end) for r in reports if r.submitted_at <= as_of)
    periods = _due_periods(start, end)
    overdue: list[DuePeriod] = []
    upcoming: DuePeriod | None = None
    # Both lists are sorted; `covered` is the union of report periods as disjoint sorted intervals.
    covered = _union(known)
    j = 0
    for period in periods:
        while j < len(covered) and covered[j][1] < period.period_start:
            j += 1
        met = j < len(covered) and covered[j][0] <= period.period_end
        if met:
            continue
        if period.due < today:
            overdue.append(period)
        elif upcoming is None:
            upcoming = period
    return Status(
        overdue=len(overdue),
        overdue_periods=tuple(overdue),
        next_due=upcoming.due if upcoming else None,
        next_period_start=upcoming.period_start if upcoming else None,
        next_stage=upcoming.stage if upcoming else None,
        next_period_end=upcoming.period_end if upcoming else None,
    )


def _union(intervals: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """Sorted, disjoint, non-adjacent-merged union of closed date intervals (input sorted by start)."""
    out: list[tuple[date, date]] = []
    for a, b in intervals:
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


# ----- the fact kept on the client item ------------------------------------------------------------

def fact(submitted_at_utc: str, period_start: date, period_end: date, record_key: str) -> str:
    """`"<UTC RFC 3339 submitted_at>|<period_start>|<period_end>|<record key>"`, appended to the client item
    (`progress_reports`) in the report's own transaction, so the rule runs without reading any record."""
    return f"{submitted_at_utc}|{period_start.isoformat()}|{period_end.isoformat()}|{record_key}"


def parse_fact(text: str) -> Report:
    submitted, first, last, _ = text.split("|", 3)
    at = datetime.fromisoformat(submitted.replace("Z", "+00:00"))
    return Report(date.fromisoformat(first), date.fromisoformat(last), at)


# ----- the compliance report's bounded view ----------------------------------------------------------------

SETTLED_DAYS = 63  # a report ends at most 62 days before it is made (compaction.KEEP_DAYS; services/reports.py)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def view(start: date, end: date, facts: Iterable[str], now: datetime) -> str:
    """What the compliance report reads of a client's progress reports (`progress_summary`, written with every
    report, projected into the `report-index`): which due periods are met by reports submitted more than
    `SETTLED_DAYS` before `now` (every report made after `now` knows them: its `as_of` is at most 62 days back),
    one bit a due period, as hex, in order: its size is fixed by the supervision period, never by the number of
    reports; then the reports submitted since, as they are (a month's worth, usually one).

    `"<hex bits>;<UTC submitted>|<period_start>|<period_end>;..."`. `evaluate` of `view_reports` gives what it
    gives of every report, for every `as_of` after `now - SETTLED_DAYS` (tests/unit/test_report_view.py)."""
    cutoff = now - timedelta(days=SETTLED_DAYS)
    reports = [parse_fact(f) for f in facts]
    settled = _union(sorted((r.period_start, r.period_end) for r in reports if r.submitted_at <= cutoff))
    periods = _due_periods(start, end)
    bits = 0
    j = 0
    for i, period in enumerate(periods):
        while j < len(settled) and settled[j][1] < period.period_start:
            j += 1
        if j < len(settled) and settled[j][0] <= period.period_end:
            bits |= 1 << i
    width = (len(periods) + 3) // 4
    recent = sorted(f"{r.submitted_at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}|{r.period_start}|"
                    f"{r.period_end}" for r in reports if r.submitted_at > cutoff)
    return ";".join([f"{bits:0{width}x}" if width else "", *recent])


def view_reports(start: date, end: date, text: str | None) -> list[Report]:
    """Reports standing for a view: one per settled met period (covering exactly it, submitted at the epoch), and
    the recent ones."""
    if not text:
        return []
    head, *recent = text.split(";")
    bits = int(head, 16) if head else 0
    out = [Report(p.period_start, p.period_end, _EPOCH) for i, p in enumerate(_due_periods(start, end))
           if bits >> i & 1]
    for r in recent:
        submitted, first, last = r.split("|")
        out.append(Report(date.fromisoformat(first), date.fromisoformat(last),
                          datetime.fromisoformat(submitted.replace("Z", "+00:00"))))
    return out
