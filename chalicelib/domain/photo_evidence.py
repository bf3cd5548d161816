"""EXIF capture time and GPS of a visit photo, recorded as evidence.

When a photo carries an EXIF capture time and/or GPS position, Pantau stores
them beside the visit and *flags* a large mismatch with the time and place
the officer claimed.  Nothing here ever rejects a visit: unreadable,
EXIF-less or hostile input just yields ``None`` values and the ``no_exif``
flag.

Only the start of the file is needed.  In a JPEG the EXIF data lives in the
APP1 segment right after the SOI marker, and a JPEG segment cannot exceed
64 KiB, so :data:`EXIF_PREFIX_BYTES` (256 KiB) is ample.  Callers may
therefore pass a ranged read instead of the whole object, e.g. an S3
``GetObject`` with ``Range=EXIF_RANGE_HEADER`` (``bytes=0-262143``); longer
input is cut to that prefix before parsing.  Other containers that
``exifread`` understands (TIFF, PNG ``eXIf``, WebP, HEIC) are read on a
best-effort basis: their EXIF may lie beyond the prefix, in which case the
result is simply "no EXIF".

Pure Python (``exifread`` + stdlib); no AWS imports.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.geo import haversine_m, require_finite
from chalicelib.domain.timeutil import to_rfc3339

if TYPE_CHECKING:
    from fractions import Fraction

__all__ = [
    "EXIF_PREFIX_BYTES",
    "EXIF_RANGE_HEADER",
    "FLAG_NO_EXIF",
    "FLAG_PLACE_MISMATCH",
    "FLAG_TIME_MISMATCH",
    "PLACE_MISMATCH_THRESHOLD_M",
    "TIME_MISMATCH_THRESHOLD",
    "PhotoEvidence",
    "evaluate_photo",
    "read_exif",
]

#: Bytes of the photo that are parsed for EXIF (256 KiB).
EXIF_PREFIX_BYTES = 256 * 1024

#: HTTP/S3 ``Range`` value fetching exactly :data:`EXIF_PREFIX_BYTES`.
EXIF_RANGE_HEADER = f"bytes=0-{EXIF_PREFIX_BYTES - 1}"

#: ``time_mismatch`` when the capture time differs from the claimed visit
#: time by more than this (compared on whole minutes, see evaluate_photo).
TIME_MISMATCH_THRESHOLD = timedelta(hours=6)

#: ``place_mismatch`` when the photo GPS is more than this many metres from
#: the claimed location (compared on whole metres, see evaluate_photo).
PLACE_MISMATCH_THRESHOLD_M = 1_000

FLAG_TIME_MISMATCH = "time_mismatch"
FLAG_PLACE_MISMATCH = "place_mismatch"
FLAG_NO_EXIF = "no_exif"

_THRESHOLD_MINUTES = TIME_MISMATCH_THRESHOLD // timedelta(minutes=1)

# exifread does a seek+read per value it decodes and has no work limit: a
# crafted 60 KB IFD (thousands of entries x 999 rationals) costs ~30 s of CPU.
# Camera EXIF (tens of tags; MakerNote is skipped with details=False) should
# stay far below this budget; past it the photo is treated as having no EXIF,
# after a fraction of a second of work at worst.
_MAX_EXIF_READS = 50_000


class _ExifReadBudgetExceeded(Exception):
    pass


class _BudgetedReader(io.BytesIO):
    """In-memory file that refuses to serve more than ``_MAX_EXIF_READS`` reads."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._reads_left = _MAX_EXIF_READS

    def read(self, size: int | None = -1, /) -> bytes:
        self._reads_left -= 1
        if self._reads_left < 0:
            raise _ExifReadBudgetExceeded
        return super().read(size)


# "YYYY:MM:DD HH:MM:SS" per EXIF; some writers use '-' in the date or a 'T'.
_EXIF_DATETIME_RE = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
# "+HH:MM" / "-HH:MM" per EXIF 2.31 OffsetTimeOriginal.
_EXIF_OFFSET_RE = re.compile(r"([+-])(\d{2}):(\d{2})")
_MAX_OFFSET = timedelta(hours=14)


@dataclass(frozen=True)
class PhotoEvidence:
    """What a photo's EXIF says, next to what the officer claimed.

    * ``taken_at`` -- aware capture time: the camera's own
      OffsetTimeOriginal if present, else the Bapas time zone.
    * ``lat``/``lon`` -- photo GPS in decimal degrees (S and W negative).
    * ``distance_from_claimed_m`` -- whole metres from the claimed location.
    * ``minutes_from_claimed`` -- whole minutes ``taken_at - claimed_at``;
      negative means the photo was taken *before* the claimed visit time.
    * ``flags`` -- any of ``time_mismatch``, ``place_mismatch``, ``no_exif``.
    """

    key: str
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    distance_from_claimed_m: int | None
    minutes_from_claimed: int | None
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict; ``taken_at`` as RFC 3339 in UTC (project convention)."""
        return {
            "key": self.key,
            "taken_at": to_rfc3339(self.taken_at),
            "lat": self.lat,
            "lon": self.lon,
            "distance_from_claimed_m": self.distance_from_claimed_m,
            "minutes_from_claimed": self.minutes_from_claimed,
            "flags": list(self.flags),
        }


# ---------------------------------------------------------------------------
# EXIF reading
# ---------------------------------------------------------------------------


def _ascii(tag: Any) -> str | None:
    if tag is None:
        return None
    values = tag.values
    if isinstance(values, bytes):
        values = values.decode("ascii", errors="replace")
    if not isinstance(values, str):
        return None
    return values.split("\x00", 1)[0].strip()


def _parse_datetime(tag: Any) -> datetime | None:
    text = _ascii(tag)
    if not text:
        return None
    match = _EXIF_DATETIME_RE.fullmatch(text[:19])
    if match is None:
        return None
    try:
        # Blank ("    :  :  ") or zeroed ("0000:00:00") dates fail here.
        return datetime(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _parse_offset(tag: Any) -> str | None:
    text = _ascii(tag)
    if not text:
        return None
    match = _EXIF_OFFSET_RE.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(minutes) >= 60 or timedelta(hours=int(hours), minutes=int(minutes)) > _MAX_OFFSET:
        return None
    return f"{sign}{hours}:{minutes}"


def _offset_tz(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


def _component(value: Any) -> Fraction | None:
    """One degrees/minutes/seconds component as an exact non-negative number."""
    from fractions import Fraction  # with the first photo (exifread loads it anyway): not part of the cold import

    if isinstance(value, tuple) and len(value) == 1:  # FLOAT/DOUBLE fields
        value = value[0]
    if isinstance(value, bool):
        return None
    if isinstance(value, Fraction):  # exifread's Ratio, incl. x/0 ones
        if value.denominator == 0:
            return None
        result = Fraction(value.numerator, value.denominator)
    elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        result = Fraction(value)
    else:
        return None
    return result if result >= 0 else None


def _parse_coordinate(value_tag: Any, ref_tag: Any, positive: str, negative: str, limit: int) -> float | None:
    if value_tag is None:
        return None
    ref = (_ascii(ref_tag) or "").upper()[:1]
    if ref not in (positive, negative):
        # Without the hemisphere the sign is a guess; near the equator a
        # wrong guess is hundreds of km, so treat the position as absent.
        return None
    values = value_tag.values
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        return None
    from fractions import Fraction

    degrees = Fraction(0)
    for index, value in enumerate(values):  # degrees, minutes, seconds
        part = _component(value)
        if part is None:
            return None
        degrees += part / 60**index
    if degrees > limit:
        return None
    result = float(degrees)
    return -result if ref == negative else result


def read_exif(
    data: bytes,
) -> tuple[datetime | None, str | None, float | None, float | None]:
    """Read capture time and GPS position from an image's EXIF.

    Returns ``(taken_local, offset, lat, lon)``:

    * ``taken_local`` -- DateTimeOriginal as a *naive* camera-local datetime;
    * ``offset`` -- OffsetTimeOriginal normalised to ``"+HH:MM"``, only when
      present and valid (and a capture time was found);
    * ``lat``/``lon`` -- decimal degrees from GPSLatitude/GPSLongitude
      (degree/minute/second rationals) and their N/S, E/W refs, S and W
      negative.  Both or neither: a position missing either half, its ref,
      or out of range is ``None``.  ``(0, 0)`` -- what some phones write
      when they had no fix -- is also treated as no position.

    Only the first :data:`EXIF_PREFIX_BYTES` of ``data`` are parsed, so a
    ranged read is enough.  Never raises: garbage, truncated, EXIF-less or
    unsupported input gives ``(None, None, None, None)`` (or the parts that
    could be read), and so does EXIF crafted to make the parser work for
    far longer than any real photo needs.
    """
    import exifread  # first use only: a visit with a photo, not a cold start

    nothing: tuple[None, None, None, None] = (None, None, None, None)
    try:
        reader = _BudgetedReader(bytes(data[:EXIF_PREFIX_BYTES]))
        tags = exifread.process_file(reader, details=False, extract_thumbnail=False)
    except Exception:  # hostile input (incl. an exhausted read budget) must never escape
        return nothing
    try:
        taken = _parse_datetime(tags.get("EXIF DateTimeOriginal"))
        offset = _parse_offset(tags.get("EXIF OffsetTimeOriginal")) if taken else None
        lat = _parse_coordinate(tags.get("GPS GPSLatitude"), tags.get("GPS GPSLatitudeRef"), "N", "S", 90)
        lon = _parse_coordinate(tags.get("GPS GPSLongitude"), tags.get("GPS GPSLongitudeRef"), "E", "W", 180)
    except Exception:  # same guarantee for odd tag payloads
        return nothing
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        lat = lon = None
    return taken, offset, lat, lon


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown IANA time zone {tz!r}") from exc


def evaluate_photo(
    key: str,
    data: bytes,
    claimed_at: datetime,
    claimed_lat: float,
    claimed_lon: float,
    tz: str,
) -> PhotoEvidence:
    """Compare a photo's EXIF with the claimed visit time and place.

    ``data`` may be the whole photo or just its first
    :data:`EXIF_PREFIX_BYTES` (see :data:`EXIF_RANGE_HEADER`).  An EXIF
    capture time without OffsetTimeOriginal is interpreted in ``tz``, the
    Bapas IANA zone (e.g. ``"Asia/Jakarta"``); with an offset, the camera's
    offset wins.

    Flags (never a rejection):

    * ``time_mismatch`` -- ``abs(minutes_from_claimed)`` exceeds
      :data:`TIME_MISMATCH_THRESHOLD` (6 h = 360 min);
    * ``place_mismatch`` -- ``distance_from_claimed_m`` exceeds
      :data:`PLACE_MISMATCH_THRESHOLD_M` (1,000 m, via ``geo.haversine_m``);
    * ``no_exif`` -- neither a capture time nor a GPS position was found.

    The thresholds are applied to the same whole-minute / whole-metre values
    that are recorded, so a stored record is always self-consistent.

    :raises ValueError: for a naive ``claimed_at``, non-finite claimed
        coordinates or an unknown ``tz`` -- caller bugs, not photo problems.
    """
    if claimed_at.tzinfo is None or claimed_at.utcoffset() is None:
        raise ValueError("claimed_at must be timezone-aware")
    require_finite("claimed_lat", claimed_lat)
    require_finite("claimed_lon", claimed_lon)
    zone = _zone(tz)

    taken_local, offset, lat, lon = read_exif(data)

    taken_at: datetime | None = None
    minutes: int | None = None
    distance_m: int | None = None
    flags: list[str] = []

    if taken_local is not None:
        taken_at = taken_local.replace(tzinfo=_offset_tz(offset) if offset else zone)
        minutes = round((taken_at - claimed_at) / timedelta(minutes=1))
        if abs(minutes) > _THRESHOLD_MINUTES:
            flags.append(FLAG_TIME_MISMATCH)

    if lat is not None and lon is not None:
        distance_m = round(haversine_m(claimed_lat, claimed_lon, lat, lon))
        if distance_m > PLACE_MISMATCH_THRESHOLD_M:
            flags.append(FLAG_PLACE_MISMATCH)

    if taken_at is None and distance_m is None:
        flags.append(FLAG_NO_EXIF)

    return PhotoEvidence(
        key=key,
        taken_at=taken_at,
        lat=lat,
        lon=lon,
        distance_from_claimed_m=distance_m,
        minutes_from_claimed=minutes,
        flags=tuple(flags),
    )
