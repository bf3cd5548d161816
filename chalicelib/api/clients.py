"""Client registry and village contacts routes: parse, call the service, respond."""

from chalice import Blueprint

from chalicelib.domain.compliance import State
from chalicelib.domain.timeutil import now_utc
from chalicelib.http import (
    ADMIN_BAPAS,
    OFFICER,
    PAGING,
    QueryParam,
    body_model,
    if_match_version,
    json_response,
    principal,
    query_params,
    route,
    saved_response,
)
from chalicelib.paging import page_params
from chalicelib.schemas.refs import models
from chalicelib.services import clients, programs, villages

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
ClientCreate, ClientList, ClientOut, ClientPatch, ProgramChange = models(
    "clients", "ClientCreate", "ClientList", "ClientOut", "ClientPatch", "ProgramChange")
AreaContacts, AreaContactsOut, VillageContacts, VillageContactsOut = models(
    "villages", "AreaContacts", "AreaContactsOut", "VillageContacts", "VillageContactsOut")

bp = Blueprint(__name__)



def _etag(body: dict) -> dict[str, str]:
    return {"ETag": f'"{body["version"]}"'}


@route(bp, "/v1/clients", methods=["POST"], roles=["coordinator"], request=ClientCreate, response=ClientOut,
       status=(201, 200), errors=(409,), headers=("ETag", "Location"))
def create_client():
    """Register a client (200: a replay of the same registration with the same id)."""
    body = body_model(bp.current_request, ClientCreate)
    saved = clients.create_client(principal(), body, now_utc())
    return saved_response(saved, {**_etag(saved.body), "Location": f"/v1/clients/{saved.body['id']}"})


@route(bp, "/v1/clients", response=ClientList, query=(
    OFFICER,
    QueryParam("state", "compliance state", {"type": "string", "enum": [s.value for s in State]}),
    QueryParam("village_code", "Kemendagri village code, with or without dots", {"type": "string"}),
    QueryParam("name", "Name search: clients whose name starts with this (case and accents ignored), in name "
                       "order; not combined with state or village_code", {"type": "string", "maxLength": 60}),
    ADMIN_BAPAS, *PAGING))
def list_clients():
    """List clients: a PK's own, a coordinator's Bapas, or (admin) one Bapas; or search them by name.

    Without `name`: the clients table's `bapas-index` GSI (`officer-index` for a PK or `?officer=`). With
    `name`: the `bapas-name-index` GSI (hash `bapas_id`, range "<folded name>#<client_id>"), one Query with
    `begins_with` a page, a PK's (or `?officer=`) narrowed by a filter on the same Query; never a Scan.
    """
    params = query_params(bp.current_request)
    return json_response(clients.list_clients(principal(), params, page_params(params), now_utc()))


@route(bp, "/v1/clients/{client_id}", response=ClientOut, headers=("ETag",))
def get_client(client_id):
    """Read a client with its stage and compliance."""
    result = clients.get_client(principal(), client_id, now_utc())
    return json_response(result, headers=_etag(result))


@route(bp, "/v1/clients/{client_id}", methods=["PATCH"], roles=["coordinator"], request=ClientPatch,
       response=ClientOut, errors=(412, 428), headers=("ETag",))
def patch_client(client_id):
    """Change a client (needs If-Match with the current version); reassigning `officer` included."""
    request = bp.current_request
    version = if_match_version(request)
    patch = body_model(request, ClientPatch)
    result = clients.patch_client(principal(), client_id, version, patch, now_utc())
    return json_response(result, headers=_etag(result))


@route(bp, "/v1/clients/{client_id}/programs", methods=["POST"], roles=["coordinator"], request=ProgramChange,
       response=ClientOut, status=(201, 200), errors=(409,), headers=("ETag", "Location"))
def change_program(client_id):
    """Begin a new supervision period under its own decree (SK), e.g. asimilasi → pembebasan bersyarat (coordinator).

    The client's program, decree and `supervision_end` switch to the new period's; the period that ends joins
    `periods` with its decree, dates and the compliance of its check-in windows, which stay as they were. The new
    cadence (7 days for asimilasi, 30 for the integration programs unless `checkin_interval_days` is sent) starts
    on `start_date`, or on the first day of the window open now when the decree is dated back: no window that has
    closed is recounted, and the window the change shortens is never missed. The stages, progress reports and
    stage reviews are the new period's own. The same change sent again is 200 with the client; a decree number
    already recorded for this client, or a client changed meanwhile, is 409. One transaction with its audit entry.
    """
    body = body_model(bp.current_request, ProgramChange)
    saved = programs.change_program(principal(), client_id, body, now_utc())
    return saved_response(saved, {**_etag(saved.body), "Location": f"/v1/clients/{saved.body['id']}"})


@route(bp, "/v1/villages/{village_code}/contacts", methods=["PUT"], roles=["coordinator"], request=VillageContacts,
       response=VillageContactsOut, status=(201, 200), errors=(409,))
def put_village_contacts(village_code):
    """Set who to call in a village: its Bhabinkamtibmas and village office (201 first time, 200 after)."""
    body = body_model(bp.current_request, VillageContacts)
    return saved_response(villages.put_contacts(principal(), village_code, body, now_utc()))


@route(bp, "/v1/villages/{village_code}/contacts", response=VillageContactsOut, query=(ADMIN_BAPAS,))
def get_village_contacts(village_code):
    """Read a village's contacts in the caller's Bapas directory."""
    params = query_params(bp.current_request)
    return json_response(villages.read_contacts(principal(), village_code, params.get("bapas_id")))


@route(bp, "/v1/areas/{area_code}/contacts", methods=["PUT"], roles=["coordinator"], request=AreaContacts,
       response=AreaContactsOut, status=(201, 200), errors=(409,))
def put_area_contacts(area_code):
    """Set the police contact of a kecamatan (`{polsek: {name, phone}}`, code 31.74.09) or a kabupaten/kota
    (`{polres: {name, phone}}`, code 31.74): used when a village has no Bhabinkamtibmas (mobile numbers only)."""
    body = body_model(bp.current_request, AreaContacts)
    result, status = villages.put_area_contacts(principal(), area_code, body, now_utc())
    return json_response(result, status)


@route(bp, "/v1/areas/{area_code}/contacts", response=AreaContactsOut, query=(ADMIN_BAPAS,))
def get_area_contacts(area_code):
    """Read a kecamatan's or kabupaten/kota's police contact in the caller's Bapas directory."""
    params = query_params(bp.current_request)
    return json_response(villages.read_area_contacts(principal(), area_code, params.get("bapas_id")))
