"""Client (klien pemasyarakatan) rules: programs, check-in intervals, supervision stages."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from zoneinfo import ZoneInfo


class Program(str, Enum):
    ASIMILASI = "asimilasi"
    PEMBEBASAN_BERSYARAT = "pembebasan_bersyarat"
    CUTI_BERSYARAT = "cuti_bersyarat"
    CUTI_MENJELANG_BEBAS = "cuti_menjelang_bebas"


# Asimilasi clients report weekly; the integration programs monthly.
CHECKIN_INTERVAL_DAYS = {
    Program.ASIMILASI: 7,
    Program.PEMBEBASAN_BERSYARAT: 30,
    Program.CUTI_BERSYARAT: 30,
    Program.CUTI_MENJELANG_BEBAS: 30,
}

TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


class Stage(str, Enum):
    AWAL = "awal"
    LANJUTAN = "lanjutan"
    AKHIR = "akhir"
    SELESAI = "selesai"


def default_interval(program: Program | str) -> int:
    return CHECKIN_INTERVAL_DAYS[Program(program)]


def local_today(now: datetime, tz: str) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(tz)).date()


def stage_on(start: date, end: date, today: date) -> Stage:
    """Stage by thirds of the supervision period (inclusive days), `selesai` after it.

    Day d (0-based from start) of an n-day period is in third floor(3*d/n): awal, lanjutan, akhir.
    Before the start the client is in `awal`.
    """
    if today > end:
        return Stage.SELESAI
    total = (end - start).days + 1
    elapsed = max(0, (today - start).days)
    third = min(2, (3 * elapsed) // total)
    return (Stage.AWAL, Stage.LANJUTAN, Stage.AKHIR)[third]


def stage_bounds(start: date, end: date) -> list[tuple[Stage, date, date]]:
    """First and last date of each of the three stages (what `stage_on` returns for each day)."""
    from datetime import timedelta

    total = (end - start).days + 1
    bounds = []
    for i, stage in enumerate((Stage.AWAL, Stage.LANJUTAN, Stage.AKHIR)):
        first = -(-i * total // 3)  # ceil(i*n/3)
        last = -(-(i + 1) * total // 3) - 1
        if last >= first:
            bounds.append((stage, start + timedelta(days=first), start + timedelta(days=last)))
    return bounds
