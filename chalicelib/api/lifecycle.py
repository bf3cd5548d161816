"""The supervision lifecycle routes: stage reviews (litmas + TPP session); parse, call the service, respond."""

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc
from chalicelib.http import PAGING, body_model, json_response, principal, query_params, route
from chalicelib.paging import page_params
from chalicelib.schemas.lifecycle import StageReviewBody, StageReviewList, StageReviewOut
from chalicelib.services import records

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
    result, status = records.put_stage_review(principal(), client_id, record_id, body, now_utc())
    location = f"/v1/clients/{result['client_id']}/stage-reviews/{result['id']}"
    return json_response(result, status, {"ETag": f'"{result["version"]}"', "Location": location})


@route(bp, "/v1/clients/{client_id}/stage-reviews", response=StageReviewList, query=PAGING, tag=TAG)
def list_stage_reviews(client_id):
    """List a client's stage reviews, latest TPP session first (records table `kind-time-index` LSI)."""
    params = query_params(bp.current_request)
    return json_response(records.list_records(principal(), client_id, records.STAGE_REVIEW, page_params(params)))
