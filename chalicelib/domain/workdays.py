"""Working days in Indonesia, for due dates that people must meet (home-visit tasks, progress reports).

A working day is a Monday to Friday that is neither a *libur nasional* nor a *cuti bersama*, as the yearly
SKB 3 Menteri sets them: the calendar and the arithmetic are `lokal`'s (`lokal.holidays`), never ours.
Government offices, the Bapas included, close on cuti bersama, so those days are off too.

`lokal` refuses a year whose decree it does not ship (it will not pretend a year has no holidays). A due date
in such a year -- a report due more than a year ahead -- is therefore counted with weekends only and is
provisional: the stored facts are periods and instants, never computed due dates, so once a `lokal` release
carries that year's decree every due date follows it. (A home-visit task's due date is stored when the task
opens, a few days ahead, always within a published year in practice.)

Supervision windows (`compliance.py`) stay calendar-based: a client reports every 7 or 30 days, holidays or not.
"""

from __future__ import annotations

from datetime import date, timedelta

_DAY = timedelta(days=1)


def _published(year: int) -> bool:
    from lokal.holidays import HOLIDAY_YEARS  # imported on first use: `lokal` costs time at a cold start

    return year in HOLIDAY_YEARS


def is_working_day(day: date) -> bool:
    """Monday to Friday and no libur nasional or cuti bersama (weekends only in a year without a decree)."""
    if not _published(day.year):
        return day.weekday() < 5
    from lokal.holidays import is_working_day as lokal_is_working_day

    return lokal_is_working_day(day, cuti_bersama=True)


def on_or_after(day: date) -> date:
    """`day` itself when it is a working day, else the next working day: a deadline that falls on a day off."""
    while not is_working_day(day):
        day += _DAY
    return day


def add_working_days(day: date, n: int) -> date:
    """The date `n` (>= 0) working days after `day` (`day` itself does not count)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    # lokal's own arithmetic wherever its calendar reaches (n working days lie within 2n + 21 calendar days:
    # no run of days off is longer than two weeks).
    if _published(day.year) and _published((day + timedelta(days=2 * n + 21)).year):
        from lokal.holidays import add_working_days as lokal_add_working_days

        return lokal_add_working_days(day, n, cuti_bersama=True)
    left = n
    while left:
        day += _DAY
        if is_working_day(day):
            left -= 1
    return day
