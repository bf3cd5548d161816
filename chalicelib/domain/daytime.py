"""When a message may reach someone outside the Bapas: daytime in the recipient's own time zone.

Pure domain logic (standard library only). Indonesia has three time zones; a village's zone follows from
the province part (the first two digits) of its Kemendagri code:

* WIB (``Asia/Jakarta``, UTC+7): Sumatra, Riau Islands, Bangka Belitung, Java, Banten, West and Central
  Kalimantan;
* WITA (``Asia/Makassar``, UTC+8): Bali, Nusa Tenggara, South, East and North Kalimantan, Sulawesi;
* WIT (``Asia/Jayapura``, UTC+9): Maluku, North Maluku and the Papua provinces.

Daytime is ``[08:00, 18:00)`` local time. What falls due at night is held until the next 08:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"

_PROVINCE_ZONE: dict[str, str] = {
    **dict.fromkeys(("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"), WIB),  # Sumatra, Kepri
    **dict.fromkeys(("31", "32", "33", "34", "35", "36"), WIB),  # Java, Banten
    **dict.fromkeys(("61", "62"), WIB),  # West and Central Kalimantan
    **dict.fromkeys(("51", "52", "53"), WITA),  # Bali, NTB, NTT
    **dict.fromkeys(("63", "64", "65"), WITA),  # South, East and North Kalimantan
    **dict.fromkeys(("71", "72", "73", "74", "75", "76"), WITA),  # Sulawesi
    **dict.fromkeys(("81", "82"), WIT),  # Maluku, North Maluku
    **dict.fromkeys(("91", "92", "93", "94", "95", "96"), WIT),  # Papua (all six provinces)
}

DAY_STARTS = time(8)
DAY_ENDS = time(18)


def zone_of_code(code: str) -> str:
    """The IANA zone of a Kemendagri code of any level (`31.74.09.1001`, `3174`, `31`); ValueError if unknown."""
    province = (code or "").replace(".", "")[:2]
    try:
        return _PROVINCE_ZONE[province]
    except KeyError:
        raise ValueError(f"no time zone known for province code {province!r}") from None


def _local(t: datetime, tz: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("t must be timezone-aware")
    return t.astimezone(ZoneInfo(tz))


def is_daytime(t: datetime, tz: str) -> bool:
    """True when ``t`` is within ``[08:00, 18:00)`` local time in ``tz``."""
    return DAY_STARTS <= _local(t, tz).time() < DAY_ENDS


def _morning(day: date, tz: str) -> datetime:
    return datetime.combine(day, DAY_STARTS, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def next_daytime(t: datetime, tz: str) -> datetime:
    """``t`` (in UTC) if it is daytime in ``tz``, else the next 08:00 local time."""
    local = _local(t, tz)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return t.astimezone(UTC)
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    return _morning(day, tz)


def next_morning(t: datetime, tz: str) -> datetime:
    """08:00 local time on the day after ``t``'s local date (where a message past the daily cap goes)."""
    return _morning(_local(t, tz).date() + timedelta(days=1), tz)


def local_date(t: datetime, tz: str) -> date:
    return _local(t, tz).date()
