"""Dead-number detection from the SMS provider: SNS SMS delivery-status logs -> the number is inactive.

Why these events (docs/operations.md, "SMS delivery reports"): every SMS Pantau sends goes through Amazon SNS
`Publish` with a phone number (services/outbound.py). For exactly those messages SNS writes a delivery-status
record to CloudWatch Logs (`sns/<region>/<account>/DirectPublishToPhoneNumber/Failure` for every failure), with
the `messageId` that `Publish` returned and that the message record keeps. A CloudWatch Logs subscription filter
on that group (`{ $.status = "FAILURE" }`) invokes `sms_delivery_reports` (app.py) with the records, gzipped
and base64-encoded under `awslogs.data`. (AWS End User Messaging SMS event destinations report messages sent
with its own `SendTextMessage` API and a configuration set; Pantau does not send that way.)

For each failure that says the phone cannot be reached (`domain/delivery.py`):

1. the message record(s) with that `message_id` are found on the sparse `message-index` of `notifications`
   (one Query; never a Scan) and marked `failed` ("undeliverable");
2. if the message was to a number on its client's record (the client's or the guarantor's), one transaction
   marks that number inactive (clearing its verification), appends an `inactive` compliance fact at the time
   SNS accepted the SMS -- exactly what a `number_inactive` check-in appends, so the client's compliance and
   the escalation ladder treat it the same way -- puts the client in the due index, and writes the audit
   entry. The fact's key (`delivery#<message id>`) makes a redelivered log batch change nothing.

A failure for a number that is not on a client's record (a PK, a village contact) only marks the message.
Logs carry ids and counts: never a phone number or a text.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters.tables import ClientModel, NotificationModel
from chalicelib.auth import Principal
from chalicelib.domain import compliance
from chalicelib.domain.delivery import DeliveryReport, NotADeliveryReport, parse_report
from chalicelib.domain.timeutil import now_utc, to_rfc3339
from chalicelib.domain.workload import Fact
from chalicelib.obs import logger, metrics
from chalicelib.services.clients import due_fields, evaluate_client
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.phones import inactive_update, stored_phones

SYSTEM = "system"


def decode_logs_event(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudWatch Logs payload of a subscription-filter invocation (`awslogs.data`: base64 of gzip of JSON)."""
    try:
        raw = base64.b64decode(event["awslogs"]["data"])
        return json.loads(gzip.decompress(raw))
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ValueError("not a CloudWatch Logs subscription event") from exc


def handle_logs_event(event: dict[str, Any]) -> dict[str, int]:
    data = decode_logs_event(event)
    stats: Counter[str] = Counter()
    if data.get("messageType") != "DATA_MESSAGE":  # CONTROL_MESSAGE: CloudWatch checking the destination
        return {"control": 1}
    for entry in data.get("logEvents") or []:
        try:
            report = parse_report(entry.get("message", ""))
        except NotADeliveryReport:
            stats["not_a_report"] += 1
            continue
        if report.succeeded:
            stats["delivered"] += 1
        elif not report.dead_number:
            stats["failed_not_the_number"] += 1
        else:
            stats[apply_dead_number(report)] += 1
    summary = dict(stats)
    logger.info("sms delivery reports", extra=summary)
    if stats["number_inactive"]:
        metrics.add_metric(name="NumbersFoundInactive", unit="Count", value=stats["number_inactive"])
    metrics.flush_metrics()
    return summary


def apply_dead_number(report: DeliveryReport) -> str:
    messages = list(NotificationModel.message_index.query(report.message_id))
    if not messages:
        return "unknown_message"  # e.g. an SMS another application of the account sent
    outcome = "not_a_client_number"
    for listed in messages:
        message = NotificationModel.get(listed.escalation_id, listed.recipient, consistent_read=True)
        _mark_undelivered(message, report)
        if message.client_id and message.to == report.destination:
            result = mark_number_inactive(message.client_id, report.destination, report.accepted_at,
                                          f"delivery#{report.message_id}")
            if result != "not_a_client_number":
                outcome = result
    return outcome


def _mark_undelivered(message: NotificationModel, report: DeliveryReport) -> None:
    try:
        message.update(actions=[NotificationModel.status.set("failed"),
                                NotificationModel.error.set(f"undeliverable: {report.provider_response}"[:500]),
                                NotificationModel.updated_at.set(to_rfc3339(now_utc()))],
                       condition=NotificationModel.status == "sent")
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def mark_number_inactive(client_id: str, number: str, at: datetime, fact_key: str) -> str:
    """The number is dead since `at`: mark it inactive and record the `inactive` fact, once (see the docstring)."""
    for _ in range(3):  # a concurrent change of the client refuses the transaction: read again and retry
        try:
            item = ClientModel.get(client_id, consistent_read=True)
        except ClientModel.DoesNotExist:
            return "client_missing"
        if not [p for p in stored_phones(item) if p["number"] == number]:
            return "not_a_client_number"
        fact = Fact(at, compliance.ContactKind.INACTIVE, fact_key).to_text()
        if fact in (item.contacts or []):
            return "already_recorded"
        tz = BAPAS.timezone(item.bapas_id)
        actions, same_phones = inactive_update(item, at, number=number)
        actions.append(ClientModel.contacts.set((ClientModel.contacts | []).append([fact])))
        shard, _ = due_fields(client_id, evaluate_client(item, tz, now_utc()))
        if shard is not None:  # the daily run evaluates the client (the ladder applies after the grace period)
            actions += [ClientModel.due_shard.set(shard), ClientModel.due_at.set(to_rfc3339(at))]
        condition = ClientModel.client_id.exists() & ~ClientModel.contacts.contains(fact)
        if same_phones is not None:
            condition &= same_phones
        system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=item.bapas_id)
        try:
            with transaction() as tx:
                tx.update(ClientModel(client_id), actions=actions, condition=condition)
                tx.save(audit_entry(system, f"client#{client_id}", "phone.undeliverable", now_utc(),
                                    ["phones", "contacts"]))
        except TransactWriteError as exc:
            if not condition_failed(exc):
                raise
            continue
        logger.info("number found inactive", extra={"client_id": client_id})
        return "number_inactive"
    return "conflict"
