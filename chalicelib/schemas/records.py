"""Field records: check-ins and home visits, their request bodies and the records as the API returns them.

Rules that need the client (supervision start) or the clock (no future times) live in `services/records.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from chalicelib.schemas.base import LongText, Name, Out, Strict, Time
from chalicelib.schemas.photos import Photos

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


# ----- responses -------------------------------------------------------------------------------------------

class _RecordOut(Out):
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


class GpsFixOut(Out):
    lat: float
    lon: float
    accuracy_m: float


class MetOut(Out):
    role: MetRole
    name: str | None


class PhotoEvidenceOut(Out):
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


class CheckinList(Out):
    items: list[CheckinOut]
    next_cursor: str | None


class VisitList(Out):
    items: list[VisitOut]
    next_cursor: str | None
