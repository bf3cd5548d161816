"""Escalation and task routes, and the thin entry points of the scheduled run and its SQS worker."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc, parse_rfc3339
from chalicelib.http import (
    ADMIN_BAPAS,
    OFFICER,
    PAGING,
    QueryParam,
    body_model,
    json_response,
    principal,
    query_params,
    route,
)
from chalicelib.paging import page_params
from chalicelib.schemas.refs import models
from chalicelib.services import casework, escalation

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
(EscalationList, EscalationOut, EscalationResolve, TaskList) = models(
    "escalations", "EscalationList", "EscalationOut", "EscalationResolve", "TaskList")

bp = Blueprint(__name__)



@route(bp, "/v1/escalations", response=EscalationList, query=(
    QueryParam("state", "open or resolved; without it the open ones come first",
               {"type": "string", "enum": list(casework.ESCALATION_STATES)}), OFFICER, ADMIN_BAPAS, *PAGING))
def list_escalations():
    """List escalations, newest first: a PK's own clients', a coordinator's Bapas, or (admin) one Bapas."""
    params = query_params(bp.current_request)
    return json_response(casework.list_escalations(principal(), params, page_params(params)))


@route(bp, "/v1/escalations/{escalation_id}", response=EscalationOut)
def get_escalation(escalation_id):
    """Read an escalation with the status of each notification."""
    return json_response(casework.get_escalation(principal(), escalation_id))


@route(bp, "/v1/escalations/{escalation_id}/resolve", methods=["POST"], roles=["coordinator"],
       request=EscalationResolve, response=EscalationOut, errors=(409,))
def resolve_escalation(escalation_id):
    """Resolve an open escalation (409 if it is resolved already); closes its home-visit task."""
    body = body_model(bp.current_request, EscalationResolve)
    return json_response(casework.resolve_escalation(principal(), escalation_id, body, now_utc()))


@route(bp, "/v1/tasks", response=TaskList, query=(
    QueryParam("state", "open or done; without it the open ones come first",
               {"type": "string", "enum": list(casework.TASK_STATES)}), OFFICER, ADMIN_BAPAS, *PAGING))
def list_tasks():
    """List tasks (home visits asked by escalations), soonest due first: a PK's own, or a Bapas's."""
    params = query_params(bp.current_request)
    return json_response(casework.list_tasks(principal(), params, page_params(params)))


# ----- event entry points (wired in app.py) ------------------------------------------------------------

def run_scheduled(event: Any) -> dict[str, Any]:
    """The EventBridge schedule: run as of the event's time (`make invoke time=...` sets it)."""
    as_of = parse_rfc3339(event.time) if getattr(event, "time", None) else now_utc()
    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return escalation.run(as_of, remaining)


def handle_sqs(event: Any) -> dict[str, Any]:
    """The SQS event source: returns `batchItemFailures` (the mapping reports batch item failures)."""
    return escalation.handle_batch(event.to_dict(), getattr(event, "context", None))
