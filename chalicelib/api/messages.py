"""Reaching the client (issue 14): phone verification, a client's messages, and the thin entry points of the
reminder run and of the SMS delivery reports."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.timeutil import now_utc, parse_rfc3339
from chalicelib.http import PAGING, body_model, json_response, principal, query_params, route
from chalicelib.paging import page_params
from chalicelib.schemas.refs import models
from chalicelib.services import delivery, messages, reminders, verification

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
(ClientOut,) = models("clients", "ClientOut")
(MessageList, PhoneConfirm, PhoneVerify, VerificationSentOut) = models(
    "messages", "MessageList", "PhoneConfirm", "PhoneVerify", "VerificationSentOut")

bp = Blueprint(__name__)


@route(bp, "/v1/clients/{client_id}/phones/verify", methods=["POST"], roles=["pk", "coordinator"],
       request=PhoneVerify, response=VerificationSentOut, status=(202,), errors=(409, 429, 503))
def verify_phone(client_id):
    """Send a short code by SMS to one of the client's numbers (daytime in the client's village, once a minute)."""
    body = body_model(bp.current_request, PhoneVerify)
    return json_response(verification.request_code(principal(), client_id, body.number, now_utc()), 202)


@route(bp, "/v1/clients/{client_id}/phones/confirm", methods=["POST"], roles=["pk", "coordinator"],
       request=PhoneConfirm, response=ClientOut, errors=(409, 429))
def confirm_phone(client_id):
    """Confirm the code the holder received: the number is verified (`phones[].verified_at`)."""
    body = body_model(bp.current_request, PhoneConfirm)
    return json_response(verification.confirm_code(principal(), client_id, body.number, body.code, now_utc()))


@route(bp, "/v1/clients/{client_id}/messages", roles=["pk", "coordinator"], response=MessageList, query=PAGING)
def list_messages(client_id):
    """What was sent to or about the client (reminders, escalation notices, verification codes), newest first."""
    params = query_params(bp.current_request)
    return json_response(messages.list_messages(principal(), client_id, page_params(params)))


def run_reminders(event: Any) -> dict[str, Any]:
    """The EventBridge schedule: run as of the event's time (`make invoke fn=send_reminders time=...` sets it)."""
    as_of = parse_rfc3339(event.time) if getattr(event, "time", None) else now_utc()
    context = getattr(event, "context", None)
    return reminders.run(as_of, getattr(context, "get_remaining_time_in_millis", None))


def handle_delivery_reports(event: dict[str, Any]) -> dict[str, int]:
    """The CloudWatch Logs subscription on SNS's SMS delivery-failure log group."""
    return delivery.handle_logs_event(event)
