"""Photo storage in S3: presigned POST uploads, existence checks, EXIF prefix reads, and keeping photos.

Layout of the bucket (`config.settings().bucket`):

- `pending/<bapas_id>/<client_id>/<uuid>.<ext>` — where the app uploads, through a presigned POST issued by
  `POST /v1/uploads`. A lifecycle rule (infra/bootstrap.py) expires everything under `pending/` after two
  days, so uploads that no record ever references clean themselves up.
- `photos/<bapas_id>/<client_id>/<uuid>.<ext>` — where a photo lives once a record references it: the same
  name with the first path segment changed. The record stores this final key when it is written, and the
  object is copied there (server-side `CopyObject`, one request per photo) right after the record's
  transaction succeeds. The copy is idempotent: the final key is derived from the pending key, so a replay
  only checks (`HEAD`) that the copy exists and copies again when it does not.

Evidence cannot be swapped (docs/security.md, issue 13 item 3): a presigned POST stays valid 15 minutes, so the
app could upload to a pending key again after a record referenced it. So the copy names the exact version of
the pending object that was checked (and whose EXIF was read): `CopySource` with its `VersionId` (the bucket is
versioned) and `CopySourceIfMatch` its ETag; and the destination is written only if absent
(`IfNoneMatch="*"`), so a kept photo is never overwritten. The record's transaction claims each pending key
once (services/records.py), so no second record can reference it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.config import settings
from chalicelib.domain.photos import EXTENSIONS, MAX_PHOTO_BYTES

PENDING_PREFIX = "pending/"
FINAL_PREFIX = "photos/"
UPLOAD_EXPIRY_SECONDS = 15 * 60
CONTENT_TYPES = {ext: content_type for content_type, ext in EXTENSIONS.items()}

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PENDING_KEY = re.compile(
    rf"pending/(?P<bapas>[A-Za-z0-9_.-]{{1,64}})/(?P<client>{_UUID})/(?P<name>{_UUID})\.(?P<ext>jpg|png|heic|webp)"
)


@dataclass(frozen=True)
class PendingKey:
    key: str
    bapas_id: str
    client_id: str
    ext: str

    @property
    def final_key(self) -> str:
        return FINAL_PREFIX + self.key[len(PENDING_PREFIX):]

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str
    version_id: str | None = None  # the version HEAD saw (None on an unversioned bucket)
    etag: str | None = None


def parse_pending_key(key: str) -> PendingKey | None:
    match = _PENDING_KEY.fullmatch(key)
    if match is None:
        return None
    return PendingKey(key, match["bapas"], match["client"], match["ext"])


def new_pending_key(bapas_id: str, client_id: str, content_type: str) -> str:
    return f"{PENDING_PREFIX}{bapas_id}/{client_id}/{uuid.uuid4()}.{EXTENSIONS[content_type]}"


def _s3() -> Any:
    return aws.client("s3")


def _bucket() -> str:
    return settings().bucket


def presign_upload(key: str, content_type: str, expires_in: int = UPLOAD_EXPIRY_SECONDS) -> dict[str, Any]:
    """A presigned POST whose policy allows exactly this key, this Content-Type and 1 B..10 MiB."""
    if not 0 < expires_in <= UPLOAD_EXPIRY_SECONDS:
        raise ValueError("an upload URL may live at most 15 minutes")
    # boto3 adds the {"bucket": ...} and {"key": ...} (exact match) conditions itself.
    return _s3().generate_presigned_post(
        Bucket=_bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, MAX_PHOTO_BYTES]],
        ExpiresIn=expires_in,
    )


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in ("404", "NoSuchKey", "NotFound") or status == 404


def head(key: str) -> StoredObject | None:
    """The object's size, type, version and ETag, or None when it does not exist (one HEAD request)."""
    try:
        meta = _s3().head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    version = meta.get("VersionId")
    return StoredObject(key, int(meta.get("ContentLength", 0)), (meta.get("ContentType") or "").lower(),
                        version if version and version != "null" else None, meta.get("ETag"))


def read_prefix(key: str, size: int, limit: int, version_id: str | None = None) -> bytes:
    """The first `limit` bytes of an object, of the given version if any (one ranged GET)."""
    end = min(size, limit) - 1
    if end < 0:
        return b""
    extra = {"VersionId": version_id} if version_id else {}
    response = _s3().get_object(Bucket=_bucket(), Key=key, Range=f"bytes=0-{end}", **extra)
    with response["Body"] as body:
        return body.read()


def _precondition_failed(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in ("PreconditionFailed", "412") or status == 412


def keep(pending_key: str, final_key: str, version_id: str | None = None, etag: str | None = None) -> None:
    """Copy the checked version of an upload to its permanent key, never over an existing one (server-side).

    A destination that exists already (412 on `IfNoneMatch`) is the same photo kept by an earlier attempt.
    """
    source: dict[str, str] = {"Bucket": _bucket(), "Key": pending_key}
    extra: dict[str, str] = {"IfNoneMatch": "*"}
    if version_id:
        source["VersionId"] = version_id
    if etag:
        extra["CopySourceIfMatch"] = etag
    try:
        _s3().copy_object(Bucket=_bucket(), Key=final_key, CopySource=source, MetadataDirective="COPY", **extra)
    except ClientError as exc:
        if _precondition_failed(exc) and head(final_key) is not None:
            return  # kept already (a concurrent replay): write-once
        raise


def ensure_kept(pending_key: str, final_key: str, version_id: str | None = None, etag: str | None = None) -> bool:
    """Idempotent `keep` for replays: copy (the pinned version) only when the permanent object is missing.

    Returns False when the upload is gone (expired before it was ever copied).
    """
    if head(final_key) is not None:
        return True
    try:
        keep(pending_key, final_key, version_id, etag)
    except ClientError as exc:
        if _missing(exc) or _precondition_failed(exc):
            return False
        raise
    return True


PHOTO_URL_EXPIRY_SECONDS = 5 * 60


def presign_get(key: str, expires_in: int = PHOTO_URL_EXPIRY_SECONDS) -> str:
    """A presigned GET of one stored photo, valid at most 5 minutes (no request is made)."""
    if not 0 < expires_in <= PHOTO_URL_EXPIRY_SECONDS:
        raise ValueError("a photo URL may live at most 5 minutes")
    return _s3().generate_presigned_url("get_object", Params={"Bucket": _bucket(), "Key": key}, ExpiresIn=expires_in)


def delete_prefix(prefix: str) -> int:
    """Delete every object under `prefix`, every version of it (the bucket is versioned); the count deleted."""
    s3 = _s3()
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=_bucket(), Prefix=prefix):
        versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for i in range(0, len(versions), 1000):
            chunk = versions[i:i + 1000]
            response = s3.delete_objects(Bucket=_bucket(), Delete={"Objects": chunk, "Quiet": True})
            if response.get("Errors"):
                codes = sorted({e.get("Code", "") for e in response["Errors"]})
                raise ClientError({"Error": {"Code": codes[0], "Message": "delete_objects failed"}}, "DeleteObjects")
            deleted += len(chunk)
    return deleted
