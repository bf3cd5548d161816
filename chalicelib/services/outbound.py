"""The one outbound-message layer: every SMS and topic message Pantau sends goes through here.

A message is a `NotificationModel` record (table `notifications`): `kind` (escalation | reminder |
verification), `recipient_role`, `to`, `text`, `status`, `created_at` (`at` in the API), queryable by client
through the `client-index` GSI (no Scan). Its hash key is a *thread*: an escalation's id for the escalation's
notifications (one per recipient), `<kind>#...` chosen by the caller for the other kinds, so that a message
made twice (a retry, a second run) is the same record.

Rules applied to every message (the callers do not repeat them):

* **Mobile only.** An SMS goes only to an Indonesian mobile number (phonenumbers' number type); anything else
  (a landline, no number) is `no_contact` and never sent.
* **Daytime only outside the Bapas.** A message to someone outside the Bapas (`outside=True`: police, village
  office, guarantor, the client) is sent only between 08:00 and 18:00 in the recipient's time zone (the
  village's, from the Kemendagri province code). At night it is `deferred` with `send_after` = the next 08:00;
  the scheduled run (`escalate_unreachable`, hourly) sends what is due from the sparse `deferred-index`.
* **Daily cap per Bapas.** Each SMS outside the Bapas takes one unit of the Bapas's `sms_daily_cap` for its
  local day, with a DynamoDB conditional counter (`counters` table). Past the cap the message is `deferred`
  to 08:00 the next day and the metric `SmsCapReached` is emitted (alarm `sms-cap-reached`). Reminders may
  use only `REMINDER_SHARE_OF_CAP` of it: the rest is kept for escalation notices, so a day of many reminders
  never holds back the message that asks the village about an unreachable client.
* **Exactly once.** Only the holder of a claim (`sending` + `claimed_at`) sends. A record made by the caller's
  own transaction as `sending` is the first claim; `claim()` takes a `pending` one, a `deferred` one whose
  time has come, or a dead worker's claim older than `CLAIM_STALE_AFTER`. The one window for a duplicate is
  a worker killed between SNS accepting a message and the `sent` mark.
* **Topic messages** carry the message attribute `bapas_id`: each coordinator's subscription has a filter
  policy for their own Bapas (`infra/subscriptions.py`, docs/operations.md).

Logs carry ids, roles, statuses and AWS error codes only: never a phone number or a text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import UpdateError

from chalicelib.adapters.aws import client as aws_client
from chalicelib.adapters.aws_errors import SNS_TRANSIENT_CODES
from chalicelib.adapters.tables import CounterModel, NotificationModel
from chalicelib.config import settings
from chalicelib.domain import daytime
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.timeutil import now_utc, to_rfc3339
from chalicelib.obs import logger, metrics
from chalicelib.services.common import BAPAS

KINDS = ("escalation", "reminder", "verification")
SENDER_ID = "PANTAU"
# A claim older than this is a dead worker's: longer than a worker's Lambda timeout (<= the queue's visibility
# timeout), so a live worker's claim is never taken over; short enough for SQS redeliveries to finish the job.
CLAIM_STALE_AFTER = timedelta(minutes=3)
DEFAULT_SMS_DAILY_CAP = 200
REMINDER_SHARE_OF_CAP = 0.5  # reminders stop at half the day's cap; escalation notices may use all of it
COUNTER_KEEP = timedelta(days=3)
FINAL = ("sent", "failed", "no_contact", "cancelled")


@dataclass(frozen=True)
class Outgoing:
    """A message to make: who, how, what. `outside`: the recipient is outside the Bapas (daytime rule, cap)."""

    thread: str
    recipient: str
    kind: str
    recipient_role: str
    channel: str  # sms | sns_topic
    to: str | None
    text: str | None
    bapas_id: str
    outside: bool
    tz: str  # the recipient's time zone (for someone in a village: the village's)
    client_id: str | None = None
    subject: str | None = None


def deferred_shard(thread: str, recipient: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{thread}|{recipient}").int % settings().due_shards)


def prepare(msg: Outgoing, now: datetime, claim: bool = True) -> NotificationModel:
    """The record for `msg`, to be saved in the caller's transaction, with its first status:

    `no_contact` (nobody, or an SMS number that is not mobile), `deferred` (outside the Bapas at night), else
    `sending` (claimed: the caller delivers it right after the transaction with `send`) or `pending`.
    """
    if msg.kind not in KINDS:
        raise ValueError(f"unknown message kind {msg.kind!r}")
    stamp = to_rfc3339(now)
    record = NotificationModel(msg.thread, msg.recipient, recipient_role=msg.recipient_role, channel=msg.channel,
                               to=msg.to, text=msg.text, subject=msg.subject, kind=msg.kind, client_id=msg.client_id,
                               bapas_id=msg.bapas_id, outside=1 if msg.outside else 0, tz=msg.tz, attempts=0,
                               created_at=stamp, updated_at=stamp)
    problem = _unsendable(msg.channel, msg.to)
    if problem is not None:
        record.status, record.error = "no_contact", problem
    elif msg.outside and not daytime.is_daytime(now, msg.tz):
        _mark_deferred(record, daytime.next_daytime(now, msg.tz))
    elif claim:
        record.status, record.claimed_at, record.attempts = "sending", stamp, 1
    else:
        record.status = "pending"
    return record


def _unsendable(channel: str, to: str | None) -> str | None:
    if not to:
        return "no contact registered"
    if channel == "sms":
        try:
            if not is_mobile(to):
                return "not a mobile number: never sent an SMS"
        except Exception:  # a stored number phonenumbers cannot parse any more
            return "not a valid phone number"
    return None


def _mark_deferred(record: NotificationModel, until: datetime) -> None:
    record.status = "deferred"
    record.send_after = to_rfc3339(until)
    record.deferred_shard = deferred_shard(record.escalation_id, record.recipient)


# ----- claims ---------------------------------------------------------------------------------------

def claim(record: NotificationModel, now: datetime) -> bool:
    """Take the right to send `record`: pending, deferred and due at `now`, or a stale claim -> sending."""
    stamp = to_rfc3339(now)
    stale = to_rfc3339(now - CLAIM_STALE_AFTER)
    condition = (NotificationModel.status == "pending") | \
        ((NotificationModel.status == "sending") & (NotificationModel.claimed_at < stale)) | \
        ((NotificationModel.status == "deferred") & (NotificationModel.send_after <= stamp))
    try:
        record.update(actions=[NotificationModel.status.set("sending"), NotificationModel.claimed_at.set(stamp),
                               NotificationModel.attempts.add(1), NotificationModel.updated_at.set(stamp),
                               NotificationModel.deferred_shard.remove()],
                      condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def claimable(record: NotificationModel, now: datetime) -> bool:
    """Worth trying to claim at `now` (the conditional update decides)."""
    if record.status in FINAL:
        return False
    if record.status == "deferred":
        return record.send_after is not None and record.send_after <= to_rfc3339(now)
    return True


# ----- sending ----------------------------------------------------------------------------------------

def send(record: NotificationModel, now: datetime) -> str:
    """Deliver a record this worker has claimed; returns the new status: sent, failed, deferred or pending
    (a transient error: the caller retries later)."""
    tz = record.tz or BAPAS.timezone(record.bapas_id)
    if record.outside and not daytime.is_daytime(now, tz):
        return _settle(record, "deferred", send_after=daytime.next_daytime(now, tz))
    if record.outside and record.channel == "sms" and not _take_cap(record.bapas_id, now, record.kind):
        logger.warning("sms daily cap reached", extra={"bapas_id": record.bapas_id, "kind": record.kind})
        metrics.add_metric(name="SmsCapReached", unit=MetricUnit.Count, value=1)
        return _settle(record, "deferred", send_after=daytime.next_morning(now, tz), error="daily SMS cap reached")
    sns = aws_client("sns")
    try:
        if record.channel == "sns_topic":
            response = sns.publish(TopicArn=record.to, Subject=record.subject or "PANTAU", Message=record.text,
                                   MessageAttributes={"bapas_id": {"DataType": "String",
                                                                   "StringValue": record.bapas_id}})
        else:
            response = sns.publish(PhoneNumber=record.to, Message=record.text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": SENDER_ID},
            })
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or "Unknown"
        _log("message deferred" if code in SNS_TRANSIENT_CODES else "message failed", record, aws_code=code)
        if code in SNS_TRANSIENT_CODES:
            return _settle(record, "pending", error=f"{code} (will retry)")
        metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
        return _settle(record, "failed", error=f"{code}: {error.get('Message', '')}"[:500])
    except BotoCoreError as exc:
        _log("message deferred", record, error=type(exc).__name__)
        return _settle(record, "pending", error=f"{type(exc).__name__} (will retry)")
    _log("message sent", record)
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return _settle(record, "sent", message_id=response.get("MessageId"), sent_at=now_utc())


def cancel(record: NotificationModel, now: datetime, why: str) -> bool:
    """A message not sent yet that must not go any more (e.g. the client made contact overnight)."""
    stamp = to_rfc3339(now)
    try:
        record.update(actions=[NotificationModel.status.set("cancelled"), NotificationModel.updated_at.set(stamp),
                               NotificationModel.error.set(why), NotificationModel.deferred_shard.remove(),
                               NotificationModel.claimed_at.remove()],
                      condition=NotificationModel.status.is_in("pending", "deferred") |
                      ((NotificationModel.status == "sending") & (NotificationModel.claimed_at == record.claimed_at)))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    record.status = "cancelled"
    return True


def _log(event: str, record: NotificationModel, **extra: Any) -> None:
    logger.info(event, extra={"thread_id": record.escalation_id, "recipient": record.recipient,
                              "kind": record.kind, "channel": record.channel, **extra})


def cap_for(kind: str | None, cap: int) -> int:
    """How far into the day's cap a message of this kind may go: reminders only to their share."""
    return int(cap * REMINDER_SHARE_OF_CAP) if kind == "reminder" else cap


def _take_cap(bapas_id: str, now: datetime, kind: str | None = None) -> bool:
    """One unit of the Bapas's daily SMS cap (its local day), or False when the cap (or, for a reminder, its
    share of it) is reached."""
    info = BAPAS.info(bapas_id)
    cap = cap_for(kind, int(info.sms_daily_cap) if info.sms_daily_cap is not None else DEFAULT_SMS_DAILY_CAP)
    day = daytime.local_date(now, info.timezone).isoformat()
    counter = CounterModel(f"sms#{bapas_id}#{day}")
    try:
        counter.update(actions=[CounterModel.count.add(1),
                                CounterModel.expires_at.set(now + COUNTER_KEEP)],
                       condition=CounterModel.count.does_not_exist() | (CounterModel.count < cap))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _settle(record: NotificationModel, status: str, message_id: str | None = None, error: str | None = None,
            send_after: datetime | None = None, sent_at: datetime | None = None) -> str:
    stamp = to_rfc3339(now_utc())
    actions = [NotificationModel.status.set(status), NotificationModel.updated_at.set(stamp),
               NotificationModel.claimed_at.remove(),
               NotificationModel.message_id.set(message_id) if message_id else NotificationModel.message_id.remove(),
               NotificationModel.error.set(error) if error else NotificationModel.error.remove()]
    if status == "deferred" and send_after is not None:
        actions += [NotificationModel.send_after.set(to_rfc3339(send_after)),
                    NotificationModel.deferred_shard.set(deferred_shard(record.escalation_id, record.recipient))]
    if sent_at is not None:
        actions.append(NotificationModel.sent_at.set(to_rfc3339(sent_at)))
    try:
        # Only the claim holder settles it: a worker whose claim went stale and was re-taken leaves it alone.
        record.update(actions=actions, condition=(NotificationModel.status == "sending") &
                      (NotificationModel.claimed_at == record.claimed_at))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.warning("message claim lost", extra={"thread_id": record.escalation_id, "recipient": record.recipient})
    return status


# ----- held messages ----------------------------------------------------------------------------------

def due_deferred(as_of: datetime) -> Iterator[tuple[str, str, str | None]]:
    """(thread, recipient, kind) of every deferred message whose `send_after` has come, from the sparse
    `deferred-index` (one Query per shard page, never a Scan)."""
    stamp = to_rfc3339(as_of)
    for shard in range(settings().due_shards):
        for item in NotificationModel.deferred_index.query(str(shard), NotificationModel.send_after <= stamp,
                                                           page_size=100):
            yield item.escalation_id, item.recipient, item.kind


# Senders of held messages by kind, for kinds other than escalations (which the escalation worker resumes
# itself): each gets the record and the clock and returns the new status; `resume` unless registered.
RESUMERS: dict[str, Callable[[NotificationModel, datetime], str]] = {}


def resume(record: NotificationModel, now: datetime) -> str:
    """Claim and send one held message of a kind that has no worker of its own."""
    if not claimable(record, now) or not claim(record, now):
        return record.status
    record.refresh(consistent_read=True)
    return send(record, now)


# ----- reading ----------------------------------------------------------------------------------------

def to_api(record: NotificationModel) -> dict[str, Any]:
    """A message as `GET /v1/clients/{id}/messages` lists it (and escalations' `notifications` show it)."""
    return {
        "id": f"{record.escalation_id}:{record.recipient}",
        "kind": record.kind or "escalation",
        "recipient_role": record.recipient_role,
        "channel": record.channel,
        "to": record.to,
        "text": record.text,
        # `sending` is a worker's claim: to the reader it is still pending until the outcome is recorded.
        "status": "pending" if record.status == "sending" else record.status,
        "send_after": record.send_after if record.status == "deferred" else None,
        "at": record.sent_at or record.created_at,
    }


def messages_of_client(client_id: str, limit: int = 50,
                       last_evaluated_key: dict[str, Any] | None = None) -> tuple[list[NotificationModel], Any]:
    """A client's messages, newest first, one index query (the page's LastEvaluatedKey for the next one)."""
    results = NotificationModel.client_index.query(client_id, scan_index_forward=False, limit=limit,
                                                   last_evaluated_key=last_evaluated_key)
    items = list(results)
    return items, results.last_evaluated_key
