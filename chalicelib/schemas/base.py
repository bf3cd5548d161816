"""The base classes of every body and the field types several resources share."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

from chalicelib.domain.phones import InvalidPhone, is_mobile, normalize_id_phone


# `defer_build`: a model's validator is built the first time it validates (or the OpenAPI document is made),
# not when its class is created: a cold start builds only what its first request uses, and SnapStart's
# before-snapshot hook builds them all into the snapshot (chalicelib/snapstart.py).
class Strict(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_max_length=4000, defer_build=True)


class Out(BaseModel):
    """Base of response bodies (for the OpenAPI document and the tests that check responses against it)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Day = Annotated[date, Field(strict=True, ge=date(2000, 1, 1), le=date(2100, 12, 31))]


def _e164(value: str) -> str:
    try:
        return normalize_id_phone(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


# An Indonesian number in any common written form in, E.164 (+62…) out.
PhoneNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_e164)]


def _mobile(value: str) -> str:
    if not is_mobile(value):
        raise ValueError("must be an Indonesian mobile number: SMS cannot reach a landline, toll-free or "
                         "premium-rate number")
    return value


# A number Pantau sends SMS to (village and area contacts): as PhoneNumber, and a mobile one.
MobileNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_e164), AfterValidator(_mobile)]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


# Every time field of every body passes here. Bounded like `Day`: an offset applied to a time near
# year 1 or 9999 leaves the calendar (`0001-01-01T00:00:00+03:04` was an OverflowError, a 500).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)
_RANGE_MESSAGE = "must lie between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z"


def _aware_time(value: Any) -> datetime:
    """RFC 3339 with an offset (`2026-12-01T09:30:00+07:00` or `...Z`), returned in UTC. Naive times fail."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 time with an offset, e.g. 2026-12-01T09:30:00+07:00")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ValueError("is not a valid date and time") from None
    if not 1999 <= parsed.year <= 2101:  # far from both ends of the calendar, so the conversion below is safe
        raise ValueError(_RANGE_MESSAGE)
    utc = parsed.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        raise ValueError(_RANGE_MESSAGE)
    return utc


Time = Annotated[datetime, PlainValidator(_aware_time), WithJsonSchema(
    {"type": "string", "format": "date-time", "description": f"RFC 3339 with an offset; {_RANGE_MESSAGE}"})]
