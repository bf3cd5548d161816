"""Request bodies of the field records (check-ins, home visits) and photo uploads, as pydantic models.

Same style as `chalicelib/schemas.py`: unknown fields are refused, strings are stripped and bounded, numbers
and booleans are strict (no "1" for 1 or "yes" for true). Rules that need the client (supervision start)
or the clock (no future times) live in `services/records.py`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints, WithJsonSchema, field_validator

from chalicelib.adapters.storage import MAX_PHOTO_BYTES
from chalicelib.schemas import LongText, Name, Strict

MAX_PHOTOS = 10

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


# Every time field of every body passes here. Bounded like `Day` (schemas.py): an offset applied to a time near
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
PhotoKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Photos = Annotated[list[PhotoKey], Field(max_length=MAX_PHOTOS)]

# `guarantor_phone`: the contact went through the guarantor's phone with the client present; `office`: the client
# reported in person at the Bapas, a Pos Bapas or the village office. Both are assisted contacts for clients
# without a smartphone and count like `in_person` (the outcome decides, never the channel: domain/compliance.py).
Channel = Literal["video_call", "phone", "in_person", "guarantor_phone", "office"]
Outcome = Literal["completed", "no_answer", "number_inactive", "excused"]
MetRole = Literal["family", "guarantor", "neighbour", "community_leader", "village_official", "bhabinkamtibmas"]


class CheckinBody(Strict):
    occurred_at: Time
    channel: Channel
    outcome: Outcome
    notes: LongText | None = None
    photos: Photos | None = None


class GpsFix(Strict):
    lat: Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]
    accuracy_m: Annotated[float, Field(strict=True, ge=0, le=100_000, allow_inf_nan=False)]

    @field_validator("lat", "lon", "accuracy_m")
    @classmethod
    def _storable(cls, value: float) -> float:
        # 1e-7 degree is about 1 cm; and DynamoDB refuses numbers closer to zero than 1e-130 (4e-209 was a 503).
        return round(value, 7) + 0.0


class Met(Strict):
    role: MetRole
    name: Name | None = None


class VisitBody(Strict):
    visited_at: Time
    location: GpsFix
    client_present: Annotated[bool, Field(strict=True)]
    met: Annotated[list[Met], Field(max_length=20)] | None = None
    notes: LongText
    photos: Photos | None = None


ContentType = Literal["image/jpeg", "image/png", "image/heic", "image/webp"]  # = storage.EXTENSIONS


class UploadFile(Strict):
    content_type: ContentType
    size_bytes: Annotated[int, Field(strict=True, ge=1, le=MAX_PHOTO_BYTES)]


class UploadRequest(Strict):
    client_id: UUID
    files: Annotated[list[UploadFile], Field(min_length=1, max_length=MAX_PHOTOS)]


# ----- responses (for the OpenAPI document; the services build the bodies) ---------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _RecordOut(_Out):
    id: str = Field(description="The UUID the app chose")
    client_id: str
    notes: str | None
    photos: list[str] = Field(description="The upload keys as sent (under pending/)")
    stored_photos: list[str] = Field(description="Where the photos are kept (photos/...), in the order of photos")
    recorded_by: str
    recorded_at: str = Field(description="RFC 3339, UTC: when the server first stored the record")
    version: Literal[1]


class CheckinOut(_RecordOut):
    occurred_at: str = Field(description="RFC 3339, UTC")
    channel: Channel
    outcome: Outcome


class GpsFixOut(_Out):
    lat: float
    lon: float
    accuracy_m: float


class MetOut(_Out):
    role: MetRole
    name: str | None


class PhotoEvidenceOut(_Out):
    key: str
    taken_at: str | None = Field(description="EXIF capture time, RFC 3339 UTC")
    lat: float | None
    lon: float | None
    distance_from_claimed_m: int | None
    minutes_from_claimed: int | None
    flags: list[Literal["time_mismatch", "place_mismatch", "no_exif"]] = Field(
        description="Flags only: a mismatch never rejects the visit")


class VisitOut(_RecordOut):
    visited_at: str = Field(description="RFC 3339, UTC")
    location: GpsFixOut
    client_present: bool
    met: list[MetOut]
    notes: str  # type: ignore[assignment]
    distance_m: int | None = Field(description="Metres from the client's registered location; null without one")
    location_check: Literal["ok", "far", "low_accuracy", "unknown"] = Field(
        description="ok: within 300 m + accuracy_m; low_accuracy: accuracy_m > 100; unknown: no registered location")
    photo_evidence: list[PhotoEvidenceOut] = Field(description="EXIF time and place of each JPEG photo")


class CheckinList(_Out):
    items: list[CheckinOut]
    next_cursor: str | None


class VisitList(_Out):
    items: list[VisitOut]
    next_cursor: str | None


class UploadOut(_Out):
    key: str = Field(description="pending/<bapas_id>/<client_id>/<uuid>.<ext>: put it in the record's photos")
    url: str = Field(description="POST the file here as multipart/form-data")
    fields: dict[str, str] = Field(description="Form fields to send before the file (policy, signature, key ...)")
    expires_at: str = Field(description="RFC 3339: the upload must start before this (15 minutes)")


class UploadsOut(_Out):
    uploads: list[UploadOut]
