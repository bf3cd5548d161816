"""Helpers for the field-record tests: a client to write for, JPEGs with EXIF, uploads, table reads."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.support import client_body

_WIB = timezone(timedelta(hours=7))
HOME = (-6.3356, 106.82)  # the registered location of `client_body()` (Jagakarsa, Jakarta Selatan)


def new_client(api: Any, officer: str = "pk.andi", coordinator: str = "kasubsi.jaksel", **overrides: Any) -> str:
    r = api.post("/v1/clients", coordinator, client_body(officer, **overrides))
    assert r.status == 201, r
    return r.json["id"]


def stamp(minutes_ago: int = 30) -> str:
    """An RFC 3339 time with a WIB offset, `minutes_ago` before now."""
    t = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return t.astimezone(_WIB).isoformat(timespec="seconds")


def checkin_body(**overrides: Any) -> dict[str, Any]:
    body = {"occurred_at": stamp(), "channel": "video_call", "outcome": "completed", "notes": "Lapor diri lancar."}
    body.update(overrides)
    return body


def visit_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "visited_at": stamp(),
        "location": {"lat": HOME[0] + 0.001, "lon": HOME[1], "accuracy_m": 12},
        "client_present": True,
        "met": [{"role": "family", "name": "Ibu Klien"}, {"role": "bhabinkamtibmas"}],
        "notes": "Klien ada di rumah, bekerja di bengkel.",
    }
    body.update(overrides)
    return body


def jpeg(lat: float | None = None, lon: float | None = None, taken: datetime | None = None) -> bytes:
    """A small real JPEG; with EXIF DateTimeOriginal (+ its offset) and GPS when given."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    img = Image.new("RGB", (48, 32), (180, 120, 60))
    exif = Image.Exif()
    if taken is not None:
        local = taken.astimezone(_WIB)
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = local.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
        ifd[0x9011] = "+07:00"  # OffsetTimeOriginal
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)

        def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
            value = abs(value)
            d = int(value)
            m = int((value - d) * 60)
            s = (value - d - m / 60) * 3600
            return IFDRational(d, 1), IFDRational(m, 1), IFDRational(round(s * 1000), 1000)

        gps[1], gps[2] = ("S" if lat < 0 else "N"), dms(lat)
        gps[3], gps[4] = ("W" if lon < 0 else "E"), dms(lon)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload_keys(api: Any, user: str, client_id: str, *content_types: str, size: int = 50_000) -> list[dict[str, Any]]:
    files = [{"content_type": ct, "size_bytes": size} for ct in content_types]
    r = api.post("/v1/uploads", user, {"client_id": client_id, "files": files})
    assert r.status == 200, r
    return r.json["uploads"]


def put_photo(key: str, data: bytes, content_type: str = "image/jpeg") -> None:
    """Store an upload directly (in-process moto does not take presigned POSTs; the HTTP test does)."""
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    aws.client("s3").put_object(Bucket=settings().bucket, Key=key, Body=data, ContentType=content_type)


def object_exists(key: str) -> bool:
    from chalicelib.adapters import storage

    return storage.head(key) is not None


def records_of(client_id: str) -> list[Any]:
    from chalicelib.adapters.tables import RecordModel

    return list(RecordModel.query(client_id, consistent_read=True))


def audits_of(entity_prefix: str) -> list[Any]:
    from chalicelib.adapters.tables import AuditModel

    return [a for a in AuditModel.scan() if a.entity.startswith(entity_prefix)]


def client_item(client_id: str) -> dict[str, Any]:
    from chalicelib.adapters.tables import ClientModel

    item = ClientModel.get(client_id, consistent_read=True)
    return {k: v for k, v in item.serialize().items()}


def new_id() -> str:
    return str(uuid.uuid4())


def concurrent_identical_puts(api: Any, path: str, user: str, body: dict[str, Any], n: int) -> list[Any]:
    """`n` identical PUTs of one offline record released at once (the app's retries racing each other): exactly
    one creates it (201), the others replay it (200), and every answer is the same body."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    api.token(user)  # log in once, outside the race
    barrier = threading.Barrier(n)

    def send(_: int) -> Any:
        barrier.wait()
        return api.put(path, user, body)

    with ThreadPoolExecutor(max_workers=n) as pool:
        responses = list(pool.map(send, range(n)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [200] * (n - 1) + [201], statuses
    assert len({r.body for r in responses}) == 1
    return responses
