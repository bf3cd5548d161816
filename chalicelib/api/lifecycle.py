"""The supervision lifecycle routes: stage reviews (litmas + TPP session) and transfers between Bapas; parse, call
the service, respond."""

from chalice import Blueprint, Response

from chalicelib.api.records import record_saved
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
)
from chalicelib.paging import page_params
from chalicelib.schemas.refs import Text, models
from chalicelib.services import records, transfers, violations

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).

(
    StageReviewBody,
    StageReviewList,
    StageReviewOut,
    TransferAccept,
    TransferDecline,
    TransferList,
    TransferOut,
    TransferRequest,
    ViolationBody,
    ViolationList,
    ViolationOut,
    ViolationPatch,
) = models(
    "lifecycle",
    "StageReviewBody",
    "StageReviewList",
    "StageReviewOut",
    "TransferAccept",
    "TransferDecline",
    "TransferList",
    "TransferOut",
    "TransferRequest",
    "ViolationBody",
    "ViolationList",
    "ViolationOut",
    "ViolationPatch",
)

bp = Blueprint(__name__)

WRITERS = ["pk", "coordinator"]
TAG = "lifecycle"


@route(bp, "/v1/clients/{client_id}/stage-reviews/{record_id}", methods=["PUT"], roles=WRITERS,
       request=StageReviewBody, response=StageReviewOut, status=(201, 200), errors=(409,),
       headers=("ETag", "Location"), tag=TAG)
def put_stage_review(client_id, record_id):
    """Record a stage's review (the litmas and the TPP session's decision) offline-safe: 201, 200 on a replay, 409.

    Same semantics as a check-in PUT: one TransactWriteItems writes the record (only if its id is new), its audit
    entry and the review's fact appended to the client item (`stage_reviews`), from which the client's
    `stage_reviews` status and the compliance report's overdue reviews are computed. A stage's review is due when
    the stage ends (on its last date, or the next working day when that is a weekend or a holiday).
    """
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, StageReviewBody)
    return record_saved(records.put_stage_review(principal(), client_id, record_id, body, now_utc()), "stage-reviews")


@route(bp, "/v1/clients/{client_id}/stage-reviews", response=StageReviewList, query=PAGING, tag=TAG)
def list_stage_reviews(client_id):
    """List a client's stage reviews, latest TPP session first (records table `kind-time-index` LSI)."""
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.STAGE_REVIEW, page_params(params)))


# ----- transfers between Bapas ------------------------------------------------------------------------

DIRECTION = QueryParam("direction", "incoming (default: transfers into the caller's Bapas) or outgoing",
                       {"type": "string", "enum": list(transfers.DIRECTIONS)})
TRANSFER_STATE = QueryParam("state", "pending, accepted or declined; without it the pending ones come first",
                            {"type": "string", "enum": list(transfers.STATES)})


@route(bp, "/v1/clients/{client_id}/transfer", methods=["POST"], roles=["coordinator"], request=TransferRequest,
       response=TransferOut, status=(201,), errors=(409,), headers=("Location",), tag=TAG)
def request_transfer(client_id):
    """Ask another Bapas to take the client over (dilimpahkan): the coordinator of the client's Bapas; 409 when a
    transfer of the client is pending already.

    The client stays with the sending Bapas until the receiving coordinator accepts.
    """
    body = body_model(bp.current_request, TransferRequest)
    result = transfers.request_transfer(principal(), client_id, body, now_utc())
    return json_response(result, 201, {"Location": f"/v1/transfers/{result['id']}"})


@route(bp, "/v1/transfers", roles=["coordinator", "admin"], response=TransferList,
       query=(DIRECTION, TRANSFER_STATE, ADMIN_BAPAS, *PAGING), tag=TAG)
def list_transfers():
    """List a Bapas's incoming or outgoing transfers, pending first, newest first (coordinators; admin read-only)."""
    params = query_params(bp.current_request)
    return json_response(transfers.list_transfers(principal(), params, page_params(params), now_utc()))


@route(bp, "/v1/transfers/{transfer_id}", roles=["coordinator", "admin"], response=TransferOut, tag=TAG)
def get_transfer(transfer_id):
    """Read a transfer (the sending or the receiving Bapas's coordinator; admin)."""
    return json_response(transfers.get_transfer(principal(), transfer_id, now_utc()))


@route(bp, "/v1/transfers/{transfer_id}/accept", methods=["POST"], roles=["coordinator"], request=TransferAccept,
       response=TransferOut, errors=(409,), tag=TAG)
def accept_transfer(transfer_id):
    """Accept a transfer into your Bapas, naming the PK who takes the client over (receiving coordinator).

    In one transaction the client, with its whole history, its open escalation and task, moves to this Bapas and
    PK; from then on the sending Bapas gets 404 for it and its old PK cannot write. Sending the same accept again
    is 200 with the accepted transfer; accepting a declined transfer, or with another PK, is 409.
    """
    body = body_model(bp.current_request, TransferAccept)
    return json_response(transfers.accept_transfer(principal(), transfer_id, body, now_utc()))


@route(bp, "/v1/transfers/{transfer_id}/decline", methods=["POST"], roles=["coordinator"], request=TransferDecline,
       response=TransferOut, errors=(409,), tag=TAG)
def decline_transfer(transfer_id):
    """Decline a transfer (receiving coordinator): the client stays with the sending Bapas."""
    body = body_model(bp.current_request, TransferDecline)
    return json_response(transfers.decline_transfer(principal(), transfer_id, body, now_utc()))


# ----- violations -------------------------------------------------------------------------------------------

@route(bp, "/v1/clients/{client_id}/violations/{record_id}", methods=["PUT"], roles=["coordinator"],
       request=ViolationBody, response=ViolationOut, status=(201, 200), errors=(409,),
       headers=("ETag", "Location"), tag=TAG)
def put_violation(client_id, record_id):
    """Open a violation (pelanggaran) with its evidence, offline-safe: 201, 200 on a replay, 409 (coordinator).

    The evidence is a snapshot taken now: the closed windows without a counted contact, the escalation named by
    `escalation_id` with its notifications and the village's answers, and the home visits since the first of
    those windows with their photos and location checks. An escalation resolved as `violation_referred` opens
    its violation by itself.
    """
    record_id = records.parse_record_id(record_id)
    body = body_model(bp.current_request, ViolationBody)
    return record_saved(violations.put_violation(principal(), client_id, record_id, body, now_utc()), "violations")


@route(bp, "/v1/clients/{client_id}/violations/{record_id}", methods=["PATCH"], roles=["coordinator"],
       request=ViolationPatch, response=ViolationOut, errors=(409, 412, 428), headers=("ETag",), tag=TAG)
def patch_violation(client_id, record_id):
    """Record what happened next (needs If-Match): the BAP date, the TPP session, the outcome (closes it)."""
    request = bp.current_request
    version = if_match_version(request)
    patch = body_model(request, ViolationPatch)
    result = violations.patch_violation(principal(), client_id, record_id, version, patch, now_utc())
    return json_response(result, headers={"ETag": f'"{result["version"]}"'})


@route(bp, "/v1/clients/{client_id}/violations/{record_id}", response=ViolationOut, headers=("ETag",), tag=TAG)
def get_violation(client_id, record_id):
    """Read a violation with its evidence and what happened next."""
    result = violations.get_violation(principal(), client_id, record_id)
    return json_response(result, headers={"ETag": f'"{result["version"]}"'})


@route(bp, "/v1/clients/{client_id}/violations", response=ViolationList, query=PAGING, tag=TAG)
def list_violations(client_id):
    """List a client's violations, newest first."""
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.VIOLATION, page_params(params)))


@route(bp, "/v1/clients/{client_id}/violations/{record_id}/timeline", roles=["coordinator", "admin"],
       response=Text(media_type="text/csv", description="UTF-8 with a BOM; columns Waktu, Peristiwa, Keterangan, "
                                                          "Oleh"),
       headers=("Content-Disposition",), tag=TAG)
def violation_timeline(client_id, record_id):
    """The violation's timeline as CSV in Bahasa Indonesia, for the letter to the Kanwil.

    In order: the missed windows, the escalation with its notifications and the village's answers, the home
    visits, the violation, the BAP, the TPP session and the outcome. Times in the Bapas's time zone; a cell that
    a spreadsheet would read as a formula starts with an apostrophe.
    """
    text, filename = violations.timeline_csv(principal(), client_id, record_id)
    return Response(body=text, status_code=200, headers={"Content-Type": "text/csv; charset=utf-8",
                                                         "Content-Disposition": f'attachment; filename="{filename}"'})


@route(bp, "/v1/violations", response=ViolationList, query=(OFFICER, ADMIN_BAPAS, *PAGING), tag=TAG)
def list_open_violations():
    """List a Bapas's open violations (a PK: their own clients'), newest first within a page."""
    params = query_params(bp.current_request)
    return json_response(violations.list_open(principal(), params, page_params(params)))
