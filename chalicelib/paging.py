"""List paging: the page size and the opaque cursor (a DynamoDB key, base64url JSON) of every list.

Neutral: the HTTP edge reads `limit`/`cursor` into a `Page` (`page_params`), services take a `Page` and
return `encode_cursor(last_evaluated_key)` as `next_cursor`; neither side needs the other's module.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import FieldError, validation_failed

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Page:
    limit: int
    cursor: dict[str, Any] | None


def page_params(params: dict[str, str]) -> Page:
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:  # not '¹'
            raise validation_failed([FieldError("limit", f"must be an integer from 1 to {MAX_LIMIT}")])
        limit = int(raw_limit)
    return Page(limit=limit, cursor=decode_cursor(params.get("cursor")))


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise validation_failed([FieldError("cursor", "is not a cursor this API issued")]) from exc
    if not isinstance(value, dict):
        raise validation_failed([FieldError("cursor", "is not a cursor this API issued")])
    return value
