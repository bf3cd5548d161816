"""Times: RFC 3339 with offset in and out, stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(value: datetime | None) -> str | None:
    """`2026-12-01T02:30:00+00:00` (UTC, with offset, microseconds kept only when present)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds" if value.microsecond else "seconds")


def parse_rfc3339(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("needs an offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # an offset that moves a time at either end of the calendar out of it
        raise ValueError("out of the calendar's range") from None


KEY_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so keys that start with it sort by time


def to_key_time(at: datetime) -> str:
    """A UTC time as the start of a sort key: `2026-12-01T02:30:00.000000Z`."""
    return at.strftime(KEY_TIME)


def from_key_time(text: str) -> datetime:
    return datetime.strptime(text, KEY_TIME).replace(tzinfo=UTC)
