"""Tests for chalicelib.domain.photo_evidence.

Every JPEG here is built in memory with Pillow, with a real EXIF APP1
segment (Exif IFD 0x8769 and GPS IFD 0x8825), and read back with exifread.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import exifread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

from chalicelib.domain import photo_evidence
from chalicelib.domain.photo_evidence import (
    EXIF_PREFIX_BYTES,
    EXIF_RANGE_HEADER,
    FLAG_NO_EXIF,
    FLAG_PLACE_MISMATCH,
    FLAG_TIME_MISMATCH,
    PLACE_MISMATCH_THRESHOLD_M,
    TIME_MISMATCH_THRESHOLD,
    PhotoEvidence,
    evaluate_photo,
    read_exif,
)

R = 6_371_008.8
JAKARTA = ZoneInfo("Asia/Jakarta")
MONAS = (-6.175392, 106.827153)
TAKEN = datetime(2024, 5, 1, 10, 0, 0)  # naive camera-local time
CLAIMED_AT = datetime(2024, 5, 1, 10, 30, 0, tzinfo=JAKARTA)

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 36867  # 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """|value| as degree, minute and second rationals (1e-4 arc-second steps)."""
    value = abs(value)
    degrees = int(value)
    minutes_f = (value - degrees) * 60
    minutes = int(minutes_f)
    seconds = round((minutes_f - minutes) * 60 * 10_000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10_000)


def make_exif(
    taken: datetime | str | None = None,
    offset: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if taken is not None or offset is not None:
        ifd = exif.get_ifd(EXIF_IFD)
        if taken is not None:
            text = taken if isinstance(taken, str) else taken.strftime("%Y:%m:%d %H:%M:%S")
            ifd[DATETIME_ORIGINAL] = text
        if offset is not None:
            ifd[OFFSET_TIME_ORIGINAL] = offset
    if lat is not None and lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[GPS_LAT_REF] = "S" if lat < 0 else "N"
        gps[GPS_LAT] = dms(lat)
        gps[GPS_LON_REF] = "W" if lon < 0 else "E"
        gps[GPS_LON] = dms(lon)
    return exif


def make_jpeg(
    taken: datetime | str | None = None,
    offset: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    *,
    exif: Image.Exif | None = None,
    noise_px: int = 0,
) -> bytes:
    """A real JPEG; ``noise_px`` > 0 makes a large, incompressible one."""
    if noise_px:
        rnd = random.Random(1234)
        img = Image.frombytes("RGB", (noise_px, noise_px), rnd.randbytes(noise_px * noise_px * 3))
    else:
        img = Image.new("RGB", (32, 32), (200, 30, 30))
    if exif is None:
        exif = make_exif(taken, offset, lat, lon)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def app1_end(data: bytes) -> int:
    """Offset just past the EXIF APP1 segment of a JPEG built by make_jpeg."""
    i = 2
    while data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xE1:
            return i + 2 + length
        i += 2 + length
    raise AssertionError("no APP1 segment")


def point_north_of(origin: tuple[float, float], metres: float) -> tuple[float, float]:
    return (origin[0] + math.degrees(metres / R), origin[1])


def evaluate(data: bytes, **overrides: object) -> PhotoEvidence:
    kwargs: dict[str, object] = {
        "key": "uploads/c1/photo.jpg",
        "data": data,
        "claimed_at": CLAIMED_AT,
        "claimed_lat": MONAS[0],
        "claimed_lon": MONAS[1],
        "tz": "Asia/Jakarta",
    }
    kwargs.update(overrides)
    return evaluate_photo(**kwargs)  # type: ignore[arg-type]


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 128, 0)).save(buf, "PNG")
    return buf.getvalue()


def webp_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 128)).save(buf, "WEBP")
    return buf.getvalue()


NOTHING = (None, None, None, None)


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------


def test_constants() -> None:
    assert EXIF_PREFIX_BYTES == 256 * 1024 == 262_144
    assert EXIF_RANGE_HEADER == "bytes=0-262143"
    assert TIME_MISMATCH_THRESHOLD.total_seconds() == 6 * 3600
    assert PLACE_MISMATCH_THRESHOLD_M == 1_000
    assert (FLAG_TIME_MISMATCH, FLAG_PLACE_MISMATCH, FLAG_NO_EXIF) == (
        "time_mismatch",
        "place_mismatch",
        "no_exif",
    )


# ---------------------------------------------------------------------------
# read_exif
# ---------------------------------------------------------------------------


def test_round_trip_time_and_southern_hemisphere_gps() -> None:
    taken, offset, lat, lon = read_exif(make_jpeg(TAKEN, lat=MONAS[0], lon=MONAS[1]))
    assert taken == TAKEN
    assert taken is not None and taken.tzinfo is None  # naive camera-local time
    assert offset is None
    assert lat is not None and lon is not None
    assert lat < 0  # Jakarta is south of the equator
    assert lat == pytest.approx(MONAS[0], abs=1e-5)
    assert lon == pytest.approx(MONAS[1], abs=1e-5)


@pytest.mark.parametrize(
    "point",
    [
        (-6.175392, 106.827153),  # Jakarta: S, E
        (3.595196, 98.672223),  # Medan: N, E
        (-2.533900, 140.716600),  # Jayapura: S, E, far east
        (-23.550520, -46.633308),  # Sao Paulo: S, W
        (40.712776, -74.005974),  # New York: N, W
    ],
)
def test_gps_signs_follow_refs(point: tuple[float, float]) -> None:
    _, _, lat, lon = read_exif(make_jpeg(lat=point[0], lon=point[1]))
    assert lat == pytest.approx(point[0], abs=1e-5)
    assert lon == pytest.approx(point[1], abs=1e-5)


def test_offset_time_original_is_returned() -> None:
    taken, offset, _, _ = read_exif(make_jpeg(TAKEN, "+08:00"))
    assert (taken, offset) == (TAKEN, "+08:00")


@pytest.mark.parametrize("bad_offset", ["+25:00", "+07:75", "07:00", "   :  ", ""])
def test_invalid_offset_is_ignored(bad_offset: str) -> None:
    taken, offset, _, _ = read_exif(make_jpeg(TAKEN, bad_offset))
    assert (taken, offset) == (TAKEN, None)


@pytest.mark.parametrize("bad_time", ["    :  :     :  :  ", "0000:00:00 00:00:00", "yesterday", ""])
def test_blank_or_invalid_capture_time_is_none(bad_time: str) -> None:
    assert read_exif(make_jpeg(bad_time, lat=MONAS[0], lon=MONAS[1]))[0] is None


def test_decimal_minutes_gps_is_accepted() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[GPS_LAT_REF] = "S"
    gps[GPS_LAT] = (IFDRational(6, 1), IFDRational(1052352, 100_000), IFDRational(0, 1))
    gps[GPS_LON_REF] = "E"
    gps[GPS_LON] = (IFDRational(106, 1), IFDRational(4962918, 100_000), IFDRational(0, 1))
    _, _, lat, lon = read_exif(make_jpeg(exif=exif))
    assert lat == pytest.approx(-(6 + 10.52352 / 60), abs=1e-9)
    assert lon == pytest.approx(106 + 49.62918 / 60, abs=1e-9)


def test_gps_without_hemisphere_ref_is_ignored() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[GPS_LAT] = dms(MONAS[0])
    gps[GPS_LON_REF] = "E"
    gps[GPS_LON] = dms(MONAS[1])
    assert read_exif(make_jpeg(exif=exif))[2:] == (None, None)


def test_gps_with_zero_denominator_is_ignored() -> None:
    exif = make_exif(lat=MONAS[0], lon=MONAS[1])
    exif.get_ifd(GPS_IFD)[GPS_LAT] = (IFDRational(6, 1), IFDRational(10, 0), IFDRational(0, 1))
    assert read_exif(make_jpeg(exif=exif))[2:] == (None, None)


def test_gps_out_of_range_is_ignored() -> None:
    exif = make_exif(lat=MONAS[0], lon=MONAS[1])
    exif.get_ifd(GPS_IFD)[GPS_LAT] = (IFDRational(96, 1), IFDRational(0, 1), IFDRational(0, 1))
    assert read_exif(make_jpeg(exif=exif))[2:] == (None, None)


def test_null_island_is_treated_as_no_fix() -> None:
    assert read_exif(make_jpeg(TAKEN, lat=0.0, lon=0.0)) == (TAKEN, None, None, None)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        b"RIFF\x10\x00\x00\x00WEBPVP8X" + b"\xff" * 32,
        b"II*\x00\xff\xff\xff\xff",
        random.Random(7).randbytes(4096),
        b"\xff\xd8" + random.Random(8).randbytes(4096),
    ],
    ids=["empty", "soi-only", "cut-app1", "fake-heic", "fake-webp", "bad-tiff", "random", "soi-random"],
)
def test_garbage_returns_nothing(data: bytes) -> None:
    assert read_exif(data) == NOTHING


def test_exifless_images_return_nothing() -> None:
    assert read_exif(png_bytes()) == NOTHING
    assert read_exif(webp_bytes()) == NOTHING
    assert read_exif(make_jpeg()) == NOTHING


def test_every_prefix_of_a_small_jpeg_is_safe() -> None:
    data = make_jpeg(TAKEN, "+07:00", *MONAS)
    full = read_exif(data)
    end = app1_end(data)
    for n in range(end):
        result = read_exif(data[:n])
        assert len(result) == 4
    # Once the whole APP1 segment is present, nothing is lost.
    for n in range(end, len(data) + 1, 16):
        assert read_exif(data[:n]) == full


def test_truncated_prefix_of_large_jpeg_parses() -> None:
    data = make_jpeg(TAKEN, "+07:00", *MONAS, noise_px=700)
    assert len(data) > 2 * EXIF_PREFIX_BYTES  # the prefix really cuts the image
    full = read_exif(data)
    assert full[0] == TAKEN and full[2] is not None

    # What an S3 GET with Range: bytes=0-262143 returns:
    ranged = data[:EXIF_PREFIX_BYTES]
    assert read_exif(ranged) == full
    # Even just the APP1 segment and a few bytes more is enough.
    assert read_exif(data[: app1_end(data) + 8]) == full
    # Whole object and ranged read give the same evidence.
    assert evaluate(data) == evaluate(ranged)


def test_only_the_prefix_is_parsed() -> None:
    # A PNG whose eXIf chunk sits after ~300 KB of text: exifread itself
    # finds it in the whole file, read_exif deliberately does not.
    info = PngInfo()
    info.add_text("padding", "x" * 300_000)
    buf = io.BytesIO()
    exif = make_exif(TAKEN, lat=MONAS[0], lon=MONAS[1])
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info, exif=exif.tobytes())
    data = buf.getvalue()
    assert data.find(b"eXIf") > EXIF_PREFIX_BYTES
    assert "GPS GPSLatitude" in exifread.process_file(io.BytesIO(data), details=False)
    assert read_exif(data) == NOTHING


def test_png_with_exif_near_the_start_is_read_best_effort() -> None:
    buf = io.BytesIO()
    exif = make_exif(TAKEN, lat=MONAS[0], lon=MONAS[1])
    Image.new("RGB", (8, 8)).save(buf, "PNG", exif=exif.tobytes())
    taken, _, lat, lon = read_exif(buf.getvalue())
    assert taken == TAKEN
    assert (lat, lon) == (pytest.approx(MONAS[0], abs=1e-5), pytest.approx(MONAS[1], abs=1e-5))


def test_crafted_exif_cannot_burn_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # One IFD of 5,000 entries, each claiming 999 rationals: ~30 s for a bare
    # exifread run, cut short by the read budget. The work is counted in reads
    # (deterministic), not timed: a timed assertion fails on a busy machine.
    entries = 5_000
    ifd = entries.to_bytes(2, "little")
    ifd += b"".join(struct.pack("<HHII", 0x1000 + i, 5, 999, 8) for i in range(entries))
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(4)
    app1 = b"Exif\x00\x00" + tiff
    data = b"\xff\xd8\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + b"\xff\xd9"
    reads = []
    budgeted_read = photo_evidence._BudgetedReader.read

    def counted(self, size=-1, /):
        reads.append(size)
        return budgeted_read(self, size)

    monkeypatch.setattr(photo_evidence._BudgetedReader, "read", counted)
    assert read_exif(data) == NOTHING
    assert evaluate(data).flags == (FLAG_NO_EXIF,)
    # Each parse stopped at the budget (one refused read past it), where exifread alone would go on for millions.
    assert len(reads) == 2 * (photo_evidence._MAX_EXIF_READS + 1)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_property_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = read_exif(data)
    assert len(result) == 4


_SEED_JPEG = make_jpeg(TAKEN, "+07:00", *MONAS)
_SEED_END = app1_end(_SEED_JPEG)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, _SEED_END - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    ),
    st.integers(0, len(_SEED_JPEG)),
)
def test_property_corrupted_exif_never_raises(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_SEED_JPEG)
    for pos, value in edits:
        data[pos] = value
    taken, offset, lat, lon = read_exif(bytes(data[:cut]))
    assert taken is None or isinstance(taken, datetime)
    assert offset is None or isinstance(offset, str)
    assert (lat is None) == (lon is None)
    if lat is not None and lon is not None:
        assert -90 <= lat <= 90 and -180 <= lon <= 180
    # evaluate_photo keeps the same never-raise guarantee.
    evidence = evaluate(bytes(data[:cut]))
    json.dumps(evidence.to_dict())


# ---------------------------------------------------------------------------
# evaluate_photo
# ---------------------------------------------------------------------------


def test_matching_photo_has_no_flags() -> None:
    evidence = evaluate(make_jpeg(TAKEN, lat=MONAS[0], lon=MONAS[1]))
    assert evidence.flags == ()
    assert evidence.key == "uploads/c1/photo.jpg"
    assert evidence.taken_at == datetime(2024, 5, 1, 10, 0, tzinfo=JAKARTA)
    assert evidence.minutes_from_claimed == -30  # taken half an hour before the claim
    assert evidence.distance_from_claimed_m == 0
    assert evidence.lat == pytest.approx(MONAS[0], abs=1e-5)
    assert evidence.lon == pytest.approx(MONAS[1], abs=1e-5)


def test_to_dict_is_json_serialisable_rfc3339() -> None:
    evidence = evaluate(make_jpeg(TAKEN, lat=MONAS[0], lon=MONAS[1]))
    payload = json.loads(json.dumps(evidence.to_dict()))
    assert payload["key"] == "uploads/c1/photo.jpg"
    # 10:00 WIB (+07:00), written as RFC 3339 in UTC like the rest of the API.
    assert payload["taken_at"] == "2024-05-01T03:00:00+00:00"
    assert datetime.fromisoformat(payload["taken_at"]) == evidence.taken_at
    assert payload["minutes_from_claimed"] == -30
    assert payload["distance_from_claimed_m"] == 0
    assert payload["flags"] == []
    assert set(payload) == {
        "key",
        "taken_at",
        "lat",
        "lon",
        "distance_from_claimed_m",
        "minutes_from_claimed",
        "flags",
    }


def test_to_dict_of_no_exif_has_nulls() -> None:
    payload = json.loads(json.dumps(evaluate(b"not a photo").to_dict()))
    assert payload == {
        "key": "uploads/c1/photo.jpg",
        "taken_at": None,
        "lat": None,
        "lon": None,
        "distance_from_claimed_m": None,
        "minutes_from_claimed": None,
        "flags": ["no_exif"],
    }


def test_photo_evidence_is_frozen() -> None:
    evidence = evaluate(b"")
    with pytest.raises(dataclasses.FrozenInstanceError):
        evidence.flags = ()  # type: ignore[misc]


def test_photo_5_km_away_is_place_mismatch() -> None:
    lat, lon = point_north_of(MONAS, 5_000)
    evidence = evaluate(make_jpeg(TAKEN, lat=lat, lon=lon))
    assert evidence.flags == (FLAG_PLACE_MISMATCH,)
    assert evidence.distance_from_claimed_m == 5_000


def test_place_boundary_is_inclusive_at_1000_m() -> None:
    at_limit = evaluate(make_jpeg(TAKEN, lat=point_north_of(MONAS, 1_000)[0], lon=MONAS[1]))
    assert at_limit.distance_from_claimed_m == 1_000
    assert at_limit.flags == ()
    beyond = evaluate(make_jpeg(TAKEN, lat=point_north_of(MONAS, 1_001)[0], lon=MONAS[1]))
    assert beyond.distance_from_claimed_m == 1_001
    assert beyond.flags == (FLAG_PLACE_MISMATCH,)


def test_photo_two_days_earlier_is_time_mismatch() -> None:
    evidence = evaluate(
        make_jpeg(TAKEN - timedelta(days=2), lat=MONAS[0], lon=MONAS[1]), claimed_at=TAKEN.replace(tzinfo=JAKARTA)
    )
    assert evidence.flags == (FLAG_TIME_MISMATCH,)
    assert evidence.minutes_from_claimed == -2 * 24 * 60


@pytest.mark.parametrize(
    ("delta", "flagged"),
    [
        (timedelta(hours=6), False),
        (-timedelta(hours=6), False),
        (timedelta(hours=6, seconds=29), False),  # still 360 whole minutes
        (timedelta(hours=6, minutes=1), True),
        (-timedelta(hours=6, minutes=1), True),
    ],
)
def test_time_boundary_is_inclusive_at_6_hours(delta: timedelta, flagged: bool) -> None:
    claimed_at = TAKEN.replace(tzinfo=JAKARTA) - delta
    evidence = evaluate(make_jpeg(TAKEN), claimed_at=claimed_at)
    assert (FLAG_TIME_MISMATCH in evidence.flags) is flagged
    assert evidence.minutes_from_claimed == round(delta / timedelta(minutes=1))


def test_both_mismatches_are_flagged() -> None:
    lat, lon = point_north_of(MONAS, 5_000)
    evidence = evaluate(make_jpeg(TAKEN - timedelta(days=2), lat=lat, lon=lon))
    assert evidence.flags == (FLAG_TIME_MISMATCH, FLAG_PLACE_MISMATCH)


def test_camera_time_without_offset_uses_bapas_zone() -> None:
    data = make_jpeg(TAKEN)
    claimed_at = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    wib = evaluate(data, claimed_at=claimed_at, tz="Asia/Jakarta")
    wit = evaluate(data, claimed_at=claimed_at, tz="Asia/Jayapura")
    assert wib.taken_at is not None and wit.taken_at is not None
    assert wib.taken_at.utcoffset() == timedelta(hours=7)
    assert wit.taken_at.utcoffset() == timedelta(hours=9)
    assert wib.minutes_from_claimed == 0
    assert wit.minutes_from_claimed == -120


def test_camera_offset_wins_over_bapas_zone() -> None:
    # A phone set to WITA (+08:00) in a Jakarta-zone Bapas.
    evidence = evaluate(make_jpeg(TAKEN, "+08:00"), claimed_at=TAKEN.replace(tzinfo=JAKARTA))
    assert evidence.taken_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert evidence.minutes_from_claimed == -60


def test_claimed_at_in_another_zone_is_compared_as_an_instant() -> None:
    claimed_utc = TAKEN.replace(tzinfo=JAKARTA).astimezone(UTC)
    assert evaluate(make_jpeg(TAKEN), claimed_at=claimed_utc).minutes_from_claimed == 0


def test_time_only_photo() -> None:
    evidence = evaluate(make_jpeg(TAKEN))
    assert evidence.flags == ()
    assert evidence.lat is None and evidence.distance_from_claimed_m is None
    assert evidence.minutes_from_claimed == -30


def test_gps_only_photo() -> None:
    evidence = evaluate(make_jpeg(lat=MONAS[0], lon=MONAS[1]))
    assert evidence.flags == ()
    assert evidence.taken_at is None and evidence.minutes_from_claimed is None
    assert evidence.distance_from_claimed_m == 0


@pytest.mark.parametrize(
    "data",
    [png_bytes(), webp_bytes(), make_jpeg(), random.Random(3).randbytes(10_000), b""],
    ids=["png", "webp", "jpeg-without-exif", "random", "empty"],
)
def test_no_exif_is_flagged_not_rejected(data: bytes) -> None:
    evidence = evaluate(data)
    assert evidence.flags == (FLAG_NO_EXIF,)
    assert (
        evidence.taken_at,
        evidence.lat,
        evidence.lon,
        evidence.distance_from_claimed_m,
        evidence.minutes_from_claimed,
    ) == (None, None, None, None, None)


def test_naive_claimed_at_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        evaluate(make_jpeg(TAKEN), claimed_at=TAKEN)


@pytest.mark.parametrize("tz", ["Asia/Nowhere", "", "../etc/passwd"])
def test_unknown_zone_is_a_caller_error(tz: str) -> None:
    with pytest.raises(ValueError):
        evaluate(make_jpeg(TAKEN), tz=tz)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_claimed_location_is_a_caller_error(bad: float) -> None:
    with pytest.raises(ValueError):
        evaluate(b"", claimed_lat=bad)
    with pytest.raises(ValueError):
        evaluate(b"", claimed_lon=bad)
