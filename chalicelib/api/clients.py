"""Client registry and village contacts routes: parse, call the service, respond."""

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc
from chalicelib.http import body_model, if_match_version, json_response, page_params, principal, query_params, route
from chalicelib.schemas import ClientCreate, ClientPatch, VillageContacts
from chalicelib.services import clients, villages

bp = Blueprint(__name__)


def _etag(body: dict) -> dict[str, str]:
    return {"ETag": f'"{body["version"]}"'}


@route(bp, "/v1/clients", methods=["POST"], roles=["coordinator"])
def create_client():
    body = body_model(bp.current_request, ClientCreate)
    result, status = clients.create_client(principal(), body, now_utc())
    return json_response(result, status, {**_etag(result), "Location": f"/v1/clients/{result['id']}"})


@route(bp, "/v1/clients")
def list_clients():
    params = query_params(bp.current_request)
    return json_response(clients.list_clients(principal(), params, page_params(params), now_utc()))


@route(bp, "/v1/clients/{client_id}")
def get_client(client_id):
    result = clients.get_client(principal(), client_id, now_utc())
    return json_response(result, headers=_etag(result))


@route(bp, "/v1/clients/{client_id}", methods=["PATCH"], roles=["coordinator"])
def patch_client(client_id):
    request = bp.current_request
    version = if_match_version(request)
    patch = body_model(request, ClientPatch)
    result = clients.patch_client(principal(), client_id, version, patch, now_utc())
    return json_response(result, headers=_etag(result))


@route(bp, "/v1/villages/{village_code}/contacts", methods=["PUT"], roles=["coordinator"])
def put_village_contacts(village_code):
    body = body_model(bp.current_request, VillageContacts)
    result, status = villages.put_contacts(principal(), village_code, body, now_utc())
    return json_response(result, status)


@route(bp, "/v1/villages/{village_code}/contacts")
def get_village_contacts(village_code):
    params = query_params(bp.current_request)
    return json_response(villages.read_contacts(principal(), village_code, params.get("bapas_id")))
