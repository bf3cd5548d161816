"""Field records (check-ins, home visits) and photo upload routes: parse, call the service, respond."""

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc
from chalicelib.http import (
    PAGING,
    body_model,
    json_response,
    principal,
    query_params,
    route,
    saved_response,
)
from chalicelib.paging import page_params
from chalicelib.schemas.refs import models
from chalicelib.services import records
from chalicelib.services.results import Saved

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
UploadRequest, UploadsOut = models("photos", "UploadRequest", "UploadsOut")
(CheckinBody, CheckinList, CheckinOut, VisitBody, VisitList, VisitOut) = models(
    "records", "CheckinBody", "CheckinList", "CheckinOut", "VisitBody", "VisitList", "VisitOut")

bp = Blueprint(__name__)

WRITERS = ["pk", "coordinator"]
TAG = "field records"
PUT_DOC = {"status": (201, 200), "errors": (409,), "headers": ("ETag", "Location"), "tag": TAG}


def record_saved(saved: Saved, collection: str) -> object:
    """The answer to a field record's PUT (every kind): 201 or 200, its ETag and where to GET it."""
    result = saved.body
    location = f"/v1/clients/{result['client_id']}/{collection}/{result['id']}"
    return saved_response(saved, {"ETag": f'"{result["version"]}"', "Location": location})


@route(bp, "/v1/clients/{client_id}/checkins/{record_id}", methods=["PUT"], roles=WRITERS, request=CheckinBody,
       response=CheckinOut, **PUT_DOC)
def put_checkin(client_id, record_id):
    """Record a supervision contact (lapor diri / konseling) under the app's UUID: 201, or 200 for a replay.

    The same body again returns the stored record (200); another body on that id is 409 and changes nothing.
    `photos` are keys from POST /v1/uploads for this client, uploaded before the PUT.
    """
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, CheckinBody)
    return record_saved(records.put_checkin(principal(), client_id, record_id, body, now_utc()), "checkins")


@route(bp, "/v1/clients/{client_id}/visits/{record_id}", methods=["PUT"], roles=WRITERS, request=VisitBody,
       response=VisitOut, **PUT_DOC)
def put_visit(client_id, record_id):
    """Record a home visit under the app's UUID, with its distance and location check: 201, or 200 for a replay.

    The same body again returns the stored record (200); another body on that id is 409 and changes nothing.
    The EXIF time and GPS of JPEG photos are compared with the visit (flags only, never a rejection).
    """
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, VisitBody)
    return record_saved(records.put_visit(principal(), client_id, record_id, body, now_utc()), "visits")


@route(bp, "/v1/clients/{client_id}/checkins", response=CheckinList, query=PAGING, tag=TAG)
def list_checkins(client_id):
    """List a client's check-ins, newest first."""
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.CHECKIN, page_params(params)))


@route(bp, "/v1/clients/{client_id}/visits", response=VisitList, query=PAGING, tag=TAG)
def list_visits(client_id):
    """List a client's home visits, newest first."""
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.VISIT, page_params(params)))


@route(bp, "/v1/uploads", methods=["POST"], roles=WRITERS, request=UploadRequest, response=UploadsOut,
       errors=(404,), tag=TAG)
def create_uploads():
    """Get presigned S3 POSTs for up to 10 photos of a client (JPEG, PNG, HEIC, WebP; 1 B to 10 MiB each).

    Each upload allows exactly its key and declared Content-Type and expires after 15 minutes. Uploads that
    no record references are deleted after two days.
    """
    body = body_model(bp.current_request, UploadRequest)
    return json_response(records.create_uploads(principal(), body, now_utc()))
