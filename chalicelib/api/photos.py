"""Photo URLs: a short-lived presigned GET for one stored photo of a client the caller may see."""

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc
from chalicelib.http import json_response, principal, route
from chalicelib.schemas.refs import models
from chalicelib.services import photos

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
(PhotoUrlOut,) = models("photos", "PhotoUrlOut")

bp = Blueprint(__name__)


@route(bp, "/v1/clients/{client_id}/photos/{photo_id}", response=PhotoUrlOut, tag="field records")
def photo_url(client_id, photo_id):
    """A presigned GET URL (valid 5 minutes) for one photo of the client's records.

    `photo_id` is the last segment of a key in a record's `stored_photos` (`<uuid>.<ext>`). Issued to whoever
    may read the client (its PK, the Bapas's coordinators, admin); a coordinator's or admin's request is audited
    (`client.read`). Fetch the URL without the Authorization header; ask again once it has expired.
    """
    return json_response(photos.photo_url(principal(), client_id, photo_id, now_utc()))
