"""Photo uploads (presigned S3 POSTs) and a stored photo's short-lived GET URL."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from chalicelib.domain.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from chalicelib.schemas.base import Out, Strict

PhotoKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Photos = Annotated[list[PhotoKey], Field(max_length=MAX_PHOTOS)]
ContentType = Literal["image/jpeg", "image/png", "image/heic", "image/webp"]  # = domain.photos.EXTENSIONS


class UploadFile(Strict):
    content_type: ContentType
    size_bytes: Annotated[int, Field(strict=True, ge=1, le=MAX_PHOTO_BYTES)]


class UploadRequest(Strict):
    client_id: UUID
    files: Annotated[list[UploadFile], Field(min_length=1, max_length=MAX_PHOTOS)]


class UploadOut(Out):
    key: str = Field(description="pending/<bapas_id>/<client_id>/<uuid>.<ext>: put it in the record's photos")
    url: str = Field(description="POST the file here as multipart/form-data")
    fields: dict[str, str] = Field(description="Form fields to send before the file (policy, signature, key ...)")
    expires_at: str = Field(description="RFC 3339: the upload must start before this (15 minutes)")


class UploadsOut(Out):
    uploads: list[UploadOut]


class PhotoUrlOut(Out):
    key: str = Field(description="The photo's stored key (photos/<bapas_id>/<client_id>/<photo_id>)")
    url: str = Field(description="A presigned S3 GET URL: fetch it without the Authorization header")
    expires_at: str = Field(description="RFC 3339: the URL stops working then (at most 5 minutes after issue)")
    expires_in: int = Field(description="Seconds the URL is valid (at most 300)", ge=1, le=300)
