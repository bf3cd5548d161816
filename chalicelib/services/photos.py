"""Presigned GET URLs for the photos of a client's records: issued only to whoever may see the client.

A record lists its photos' permanent keys (`stored_photos`: `photos/<bapas_id>/<client_id>/<photo_id>`); the app
asks `GET /v1/clients/{client_id}/photos/{photo_id}` for a URL to show one. The caller's access to the client
is checked (and a coordinator's or admin's read is audited, like any read of the client's record), the object
must exist (one HEAD), and the URL expires after 5 minutes, so a URL that leaks (a screenshot, a log, a
forwarded message) is soon useless. The bucket itself is private: nothing else ever serves a photo.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import storage
from chalicelib.auth import Principal
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import not_found
from chalicelib.services.clients import load_client

_PHOTO_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(jpg|png|heic|webp)")


def photo_url(p: Principal, client_id: str, photo_id: str, now: datetime) -> dict[str, Any]:
    client = load_client(p, client_id)
    if not _PHOTO_ID.fullmatch(photo_id):
        raise not_found("Photo")
    # Photos stay under the Bapas that recorded them: after a transfer, the former Bapas's prefixes too.
    for bapas_id in [client.bapas_id, *reversed(client.former_bapas or [])]:
        key = f"{storage.FINAL_PREFIX}{bapas_id}/{client.client_id}/{photo_id}"
        if storage.head(key) is not None:
            break
    else:
        raise not_found("Photo")
    seconds = storage.PHOTO_URL_EXPIRY_SECONDS
    return {"key": key, "url": storage.presign_get(key, seconds),
            "expires_at": to_rfc3339(now + timedelta(seconds=seconds)), "expires_in": seconds}
