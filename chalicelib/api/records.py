"""Field records (check-ins, home visits) and photo upload routes: parse, call the service, respond."""

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc
from chalicelib.http import body_model, json_response, page_params, principal, query_params, route
from chalicelib.schemas_records import CheckinBody, UploadRequest, VisitBody
from chalicelib.services import records

bp = Blueprint(__name__)

WRITERS = ["pk", "coordinator"]


def _created(result: dict, status: int, collection: str) -> object:
    location = f"/v1/clients/{result['client_id']}/{collection}/{result['id']}"
    return json_response(result, status, {"ETag": f'"{result["version"]}"', "Location": location})


@route(bp, "/v1/clients/{client_id}/checkins/{record_id}", methods=["PUT"], roles=WRITERS)
def put_checkin(client_id, record_id):
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, CheckinBody)
    result, status = records.put_checkin(principal(), client_id, record_id, body, now_utc())
    return _created(result, status, "checkins")


@route(bp, "/v1/clients/{client_id}/visits/{record_id}", methods=["PUT"], roles=WRITERS)
def put_visit(client_id, record_id):
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, VisitBody)
    result, status = records.put_visit(principal(), client_id, record_id, body, now_utc())
    return _created(result, status, "visits")


@route(bp, "/v1/clients/{client_id}/checkins")
def list_checkins(client_id):
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.CHECKIN, page_params(params)))


@route(bp, "/v1/clients/{client_id}/visits")
def list_visits(client_id):
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.VISIT, page_params(params)))


@route(bp, "/v1/uploads", methods=["POST"], roles=WRITERS)
def create_uploads():
    body = body_model(bp.current_request, UploadRequest)
    return json_response(records.create_uploads(principal(), body, now_utc()))
