"""What the API accepts as a photo: its size, its media types, how many a record may carry. Plain constants,
shared by the request schemas and the S3 adapter."""

from __future__ import annotations

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # 10 MiB
MAX_PHOTOS = 10  # per record, and per upload request
# Media type -> the file extension of its key (the same list as `schemas.photos.ContentType`).
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/webp": "webp"}
