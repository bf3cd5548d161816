"""The daily escalation run and its SQS worker: no unreachable client slips away unnoticed.

`run` (the scheduled function, 01:00 WIB) reads only clients whose contact window has closed, from the
`due-index` GSI shards (never a Scan), evaluates each with the rules module, enqueues one SQS message for
each client in an unreachable episode that is not escalated yet, and moves the client's `due_at` to the
close of its current window (conditionally, so a concurrent run does no harm).

`handle_batch` (the worker, Powertools batch processing with per-item failures) opens the escalation in
one transaction -- the escalation (id uuid5 of client and episode start, created only if absent), one
notification record per recipient, the PK's home-visit task, the client's `open_escalation_id` and the
audit entries -- and sends the notifications, each marked `sent` (or `failed`) as soon as SNS answers.
A notification is sent only by the worker holding its claim (`sending` + `claimed_at`): the opening
transaction is the first claim; a redelivered message takes `pending` ones, or a dead worker's claim once
it is older than `CLAIM_STALE_AFTER`, with a conditional update. So retries, re-runs and two runs at once
send every notification once; the one window for a duplicate is a worker killed between SNS accepting a
message and the `sent` mark.

DynamoDB requests: the run makes one Query per shard page and one UpdateItem per due client; opening an
escalation costs two GetItems (client, village contacts), one TransactWriteItems and one UpdateItem per
notification sent.

Logs carry ids, counts and error codes only: never names, phone numbers or message texts.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters.aws import client as aws_client
from chalicelib.adapters.aws_errors import SNS_TRANSIENT_CODES
from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, EscalationModel, NotificationModel, TaskModel, get_or_none, plain
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain import compliance as rules
from chalicelib.domain import notices, workdays
from chalicelib.domain.timeutil import now_utc, parse_rfc3339, to_rfc3339
from chalicelib.errors import Problem
from chalicelib.obs import logger, metrics
from chalicelib.services.clients import contacts_of, due_shard, evaluate_client
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.villages import get_contacts

if TYPE_CHECKING:  # the batch utilities import asyncio (~100 ms): loaded by the worker only, on first use
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Fixed namespace: escalation and task ids are derived, never random, so every run agrees on them.
NAMESPACE = uuid.UUID("6f1c2d9e-4b7a-5c3e-9a81-0d2f5e7b4c10")
RECIPIENTS = ("bhabinkamtibmas", "officer", "coordinator")  # also the order they are sent in
# A claim older than this is a dead worker's: longer than the worker's Lambda timeout (<= the queue's 120 s
# visibility timeout), so a live worker's claim is never taken over; short enough for SQS redeliveries
# (every 120 s, 5 receives before the DLQ) to finish the job.
CLAIM_STALE_AFTER = timedelta(minutes=3)
TASK_DUE_DAYS = 3  # the home visit is due this many working days (domain/workdays.py) after the escalation opens
SENDER_ID = "PANTAU"
SQS_BATCH = 10
STOP_WHEN_MS_LEFT = 30_000
SYSTEM = "system"


def escalation_id_for(client_id: str, episode_started_at: datetime) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{client_id}|{to_rfc3339(episode_started_at)}"))


def task_id_for(escalation_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"home_visit|{escalation_id}"))


def reason_of(result: rules.Compliance) -> str:
    return "three_missed" if result.consecutive_missed >= 3 else "number_inactive"


def _system(bapas_id: str) -> Principal:
    return Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas_id)


def _first_counted_after(item: ClientModel, t: datetime) -> datetime | None:
    """The first counted contact after `t`, whenever it was recorded: it ends an episode that began at `t`."""
    later = [c.at for c in contacts_of(item) if c.kind is rules.ContactKind.COUNTED and c.at > t]
    return min(later) if later else None


# ===== the scheduled run ============================================================================

@dataclass
class _Decision:
    item: ClientModel
    shard: str | None
    due_at: str | None
    message: dict[str, str] | None


def run(as_of: datetime, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Evaluate every client whose window closed by `as_of` and enqueue the new unreachable episodes."""
    stats: Counter[str] = Counter()
    stamp = to_rfc3339(as_of)
    batch: list[_Decision] = []
    stopped_early = False
    for shard in range(settings().due_shards):
        for item in ClientModel.due_index.query(str(shard), ClientModel.due_at <= stamp, page_size=100):
            stats["due"] += 1
            try:
                batch.append(_decide(item, as_of, stats))
            except (ValueError, Problem) as exc:  # a corrupt fact, an unknown Bapas: the run goes on without it
                stats["errors"] += 1  # and the client stays due, so it is tried again (and seen) every day
                logger.error("client not evaluated", extra={"client_id": item.client_id, "error": type(exc).__name__})
                continue
            if len(batch) == SQS_BATCH:
                _flush(batch, stats)
                batch = []
                if remaining_ms is not None and remaining_ms() < STOP_WHEN_MS_LEFT:
                    stopped_early = True  # the rest stay due and are picked up by the next run
                    break
        if stopped_early:
            break
    _flush(batch, stats)
    summary = {"as_of": stamp, "stopped_early": stopped_early,
               **{k: stats[k] for k in ("due", "unreachable", "enqueued", "already_escalated", "moved", "ended",
                                        "moved_by_other", "enqueue_failed", "errors")}}
    logger.info("escalation run", extra=summary)
    metrics.add_metric(name="DueClients", unit=MetricUnit.Count, value=stats["due"])
    metrics.add_metric(name="EscalationsEnqueued", unit=MetricUnit.Count, value=stats["enqueued"])
    metrics.add_metric(name="EscalationRunErrors", unit=MetricUnit.Count, value=stats["errors"])
    metrics.flush_metrics()
    return summary


def _decide(item: ClientModel, as_of: datetime, stats: Counter[str]) -> _Decision:
    result = evaluate_client(item, BAPAS.timezone(item.bapas_id), as_of)
    # Next due when the current window closes (the run itself handles an episode already open).
    shard = due_shard(item.client_id) if result.window_closes_at is not None else None
    due_at = to_rfc3339(result.window_closes_at)
    message = None
    if result.state is rules.State.UNREACHABLE and result.episode_started_at is not None:
        stats["unreachable"] += 1
        if item.open_escalation_id == escalation_id_for(item.client_id, result.episode_started_at):
            stats["already_escalated"] += 1
        else:
            message = {"client_id": item.client_id, "episode_started_at": to_rfc3339(result.episode_started_at),
                       "as_of": to_rfc3339(as_of)}
    return _Decision(item, shard, due_at, message)


def _flush(batch: list[_Decision], stats: Counter[str]) -> None:
    """Enqueue first, then move `due_at`: a crash in between re-sends (harmless), never loses an episode."""
    if not batch:
        return
    entries = [{"Id": str(i), "MessageBody": json.dumps(d.message, separators=(",", ":"))}
               for i, d in enumerate(batch) if d.message is not None]
    failed: set[str] = set()
    if entries:
        response = aws_client("sqs").send_message_batch(QueueUrl=settings().escalation_queue_url, Entries=entries)
        failed = {f["Id"] for f in response.get("Failed", [])}
        stats["enqueued"] += len(entries) - len(failed)
        stats["enqueue_failed"] += len(failed)
        if failed:
            logger.warning("escalation enqueue failed", extra={"count": len(failed),
                                                               "codes": sorted({f.get("Code", "") for f in
                                                                                response["Failed"]})})
    for i, d in enumerate(batch):
        if str(i) in failed:
            continue  # keep it due: the next run tries again
        _move_due(d, stats)


def _move_due(d: _Decision, stats: Counter[str]) -> None:
    item = d.item
    if d.shard is not None:
        actions = [ClientModel.due_shard.set(d.shard), ClientModel.due_at.set(d.due_at)]
    else:
        actions = [ClientModel.due_shard.remove(), ClientModel.due_at.remove()]  # supervision over: leave the index
    condition = (ClientModel.due_at == item.due_at) & (ClientModel.version == item.version)
    try:
        ClientModel(item.client_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        stats["moved_by_other"] += 1  # another run, or a change to the client, got there first
        return
    stats["moved" if d.shard is not None else "ended"] += 1


# ===== the worker ===================================================================================

class RetryLater(Exception):
    """The message is not finished (a notification in flight or a transient error): let SQS deliver it again."""


@dataclass(frozen=True)
class EscalationMessage:
    client_id: str
    episode_started_at: datetime
    as_of: datetime

    @classmethod
    def parse(cls, body: str) -> EscalationMessage:
        data = json.loads(body)
        if not isinstance(data, dict) or set(data) != {"client_id", "episode_started_at", "as_of"}:
            raise ValueError("not an escalation message")
        return cls(str(uuid.UUID(data["client_id"])), parse_rfc3339(data["episode_started_at"]),
                   parse_rfc3339(data["as_of"]))


def handle_batch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The SQS handler: each message on its own; the failed ones are reported in `batchItemFailures`."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=_handle_record, processor=processor,
                                        context=context)
    failures = len(response.get("batchItemFailures", []))
    logger.info("escalation batch", extra={"messages": len(event.get("Records", [])), "failed": failures})
    metrics.flush_metrics()
    return response


def _handle_record(record: SQSRecord) -> str:
    try:
        message = EscalationMessage.parse(record.body)
    except (ValueError, TypeError, KeyError) as exc:
        logger.error("bad escalation message", extra={"message_id": record.message_id})
        raise ValueError("bad escalation message") from exc
    return process(message, message_id=record.message_id)


def process(message: EscalationMessage, message_id: str = "-") -> str:
    """Open the escalation of this episode if it is due and not open yet; send what is still pending."""
    item = _get(ClientModel, message.client_id)
    if item is None:
        logger.warning("escalation for a missing client", extra={"client_id": message.client_id})
        return "client_missing"
    escalation_id = escalation_id_for(item.client_id, message.episode_started_at)
    if item.open_escalation_id != escalation_id:  # set in the transaction that opens it
        opened = _open(item, message, escalation_id, message_id)
        if opened is None:
            return "not_opened"
        if opened is not _EXISTS:
            return _send_pending(*opened)
    escalation = _get(EscalationModel, escalation_id)
    if escalation is None:  # pragma: no cover - the client points only at escalations that exist
        logger.error("open escalation missing", extra={"escalation_id": escalation_id})
        return "escalation_missing"
    return _send_pending(escalation, item, None)


def _get(model: Any, *key: str) -> Any:
    return get_or_none(model, *key, consistent_read=True)


@dataclass
class _SendContext:
    facts: notices.NoticeFacts
    notifications: list[NotificationModel]


_EXISTS: Any = object()  # `_open` found the escalation already there


def _open(item: ClientModel, message: EscalationMessage, escalation_id: str,
          message_id: str) -> tuple[EscalationModel, ClientModel, _SendContext] | Any | None:
    """Open the escalation in one transaction; None if it must not be opened, _EXISTS if it already is.

    The notifications are created already claimed (`sending`) by this worker, which sends them next: the
    transaction that can succeed only once is the claim, so the first delivery needs no extra write.
    """
    tz = BAPAS.timezone(item.bapas_id)
    result = evaluate_client(item, tz, message.as_of)
    if result.state is not rules.State.UNREACHABLE or result.episode_started_at != message.episode_started_at:
        logger.info("escalation message is stale", extra={"client_id": item.client_id})
        return None
    if _first_counted_after(item, message.episode_started_at) is not None:
        logger.info("episode ended before the worker ran", extra={"client_id": item.client_id})
        return None
    ended_previous: tuple[EscalationModel, datetime] | None = None
    if item.open_escalation_id and item.open_escalation_id != escalation_id:
        previous = _get(EscalationModel, item.open_escalation_id)
        if previous is not None:
            ended_at = _first_counted_after(item, parse_rfc3339(previous.episode_started_at))
            if ended_at is None:
                # Same absence, computed start moved (e.g. a late offline record): it is escalated already.
                logger.info("episode already escalated", extra={"client_id": item.client_id,
                                                                "escalation_id": previous.escalation_id})
                return None
            if previous.episode_ended_at is None:
                ended_previous = (previous, ended_at)

    now = now_utc()
    opened_at = to_rfc3339(now)
    task_due = task_due_date(now, tz)
    village = get_contacts(item.bapas_id, item.village_code)
    officer = DIRECTORY.officer(item.officer)
    bhabin = village.bhabinkamtibmas.as_dict() if village is not None else {}
    topic = settings().coordinators_topic_arn or None
    reason = reason_of(result)
    escalation = EscalationModel(
        escalation_id, client_id=item.client_id, bapas_id=item.bapas_id, officer=item.officer,
        officer_key=item.officer_key, village_code=item.village_code, village_name=_village_name(item),
        reason=reason, episode_started_at=to_rfc3339(message.episode_started_at), opened_at=opened_at,
        consecutive_missed=result.consecutive_missed, state="open", state_opened=f"open#{opened_at}#{escalation_id}",
        task_id=task_id_for(escalation_id), version=1,
    )
    targets = {
        "bhabinkamtibmas": ("sms", bhabin.get("phone")),
        "officer": ("sms", officer.phone if officer is not None else None),
        "coordinator": ("sns_topic", topic),
    }
    notifications = [
        NotificationModel(escalation_id, role, recipient_role=role, channel=channel, to=to,
                          status="sending" if to else "no_contact", claimed_at=opened_at if to else None,
                          attempts=1 if to else 0, created_at=opened_at, updated_at=opened_at)
        for role, (channel, to) in targets.items()
    ]
    task_id = task_id_for(escalation_id)
    due = task_due.isoformat()
    task = TaskModel(task_id, kind="home_visit", client_id=item.client_id, escalation_id=escalation_id,
                     bapas_id=item.bapas_id, officer=item.officer, officer_key=item.officer_key,
                     village_code=item.village_code, due_date=due, state="open", state_due=f"open#{due}#{task_id}",
                     created_at=opened_at, version=1)
    system = _system(item.bapas_id)
    audits = [audit_entry(system, f"escalation#{escalation_id}", "escalation.open", now,
                          ["state", "notifications", "task"], 1),
              audit_entry(system, f"client#{item.client_id}", "client.escalate", now, ["open_escalation_id"])]
    for entry in audits:
        entry.request_id = message_id
    try:
        with transaction() as tx:
            tx.save(escalation, condition=EscalationModel.escalation_id.does_not_exist())
            for n in notifications:
                tx.save(n, condition=NotificationModel.escalation_id.does_not_exist())
            tx.save(task, condition=TaskModel.task_id.does_not_exist())
            tx.update(ClientModel(item.client_id), actions=[ClientModel.open_escalation_id.set(escalation_id)],
                      condition=ClientModel.client_id.exists())
            if ended_previous is not None:
                tx.update(EscalationModel(ended_previous[0].escalation_id),
                          actions=[EscalationModel.episode_ended_at.set(to_rfc3339(ended_previous[1]))],
                          condition=EscalationModel.escalation_id.exists())
            for entry in audits:
                tx.save(entry)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # TransactionConflict and the like: SQS delivers the message again
        logger.info("escalation opened concurrently", extra={"escalation_id": escalation_id})
        return _EXISTS
    logger.info("escalation opened", extra={"escalation_id": escalation_id, "client_id": item.client_id,
                                            "reason": reason, "bapas_id": item.bapas_id,
                                            "no_contact": sum(n.status == "no_contact" for n in notifications)})
    metrics.add_metric(name="EscalationsOpened", unit=MetricUnit.Count, value=1)
    facts = _facts(escalation, item, officer, bhabin, task_due)
    return escalation, item, _SendContext(facts, notifications)


def task_due_date(opened_at: datetime, tz: str) -> date:
    """The home visit's due date: TASK_DUE_DAYS working days after the local date the escalation opened (a PK
    is not expected to visit on a weekend, a national holiday or a cuti bersama)."""
    return workdays.add_working_days(_local_date(opened_at, tz), TASK_DUE_DAYS)


def _local_date(t: datetime, tz: str) -> date:
    return t.astimezone(ZoneInfo(tz)).date()


def _village_name(item: ClientModel) -> str:
    address = plain(item.address or {})
    return str(address.get("village_name") or item.village_code)


def _facts(escalation: EscalationModel, item: ClientModel, officer: Any, bhabin: dict[str, Any],
           task_due: date) -> notices.NoticeFacts:
    return notices.NoticeFacts(
        escalation_id=escalation.escalation_id, client_name=item.name, village_name=_village_name(item),
        officer_name=officer.name if officer is not None else item.officer,
        officer_phone=officer.phone if officer is not None else None,
        bhabin_name=bhabin.get("name"), bhabin_phone=bhabin.get("phone"), reason=escalation.reason,
        task_due=task_due,
    )


def _facts_for_resume(escalation: EscalationModel, item: ClientModel) -> notices.NoticeFacts:
    village = get_contacts(escalation.bapas_id, escalation.village_code)
    bhabin = village.bhabinkamtibmas.as_dict() if village is not None else {}
    tz = BAPAS.timezone(escalation.bapas_id)
    task_due = task_due_date(parse_rfc3339(escalation.opened_at), tz)
    return _facts(escalation, item, DIRECTORY.officer(escalation.officer), bhabin, task_due)


# ----- sending --------------------------------------------------------------------------------------

def _send_pending(escalation: EscalationModel, item: ClientModel, ctx: _SendContext | None) -> str:
    eid = escalation.escalation_id
    notifications = ctx.notifications if ctx is not None else \
        list(NotificationModel.query(eid, consistent_read=True))
    notifications.sort(key=lambda n: RECIPIENTS.index(n.recipient) if n.recipient in RECIPIENTS else 99)
    facts = ctx.facts if ctx is not None else None
    unfinished = 0
    sent = 0
    status_of: dict[str, str] = {n.recipient: n.status for n in notifications}
    for n in notifications:
        if n.status in ("sent", "failed", "no_contact"):
            continue
        claimed_by_opening = ctx is not None and n.status == "sending"
        if not claimed_by_opening and not _claim(n, now_utc()):
            unfinished += 1  # another worker holds it; this message comes back until it is settled
            continue
        if facts is None:
            facts = _facts_for_resume(escalation, item)
        outcome = _deliver(n, facts, eid, item.client_id, status_of.get("bhabinkamtibmas", "pending"))
        status_of[n.recipient] = outcome
        if outcome == "sent":
            sent += 1
        elif outcome == "pending":
            unfinished += 1
    if unfinished:
        raise RetryLater(f"{unfinished} notification(s) of {eid} not settled yet")
    return f"sent {sent}"


def _claim(n: NotificationModel, now: datetime) -> bool:
    """pending -> sending (or re-take a `sending` left by a worker that died more than CLAIM_STALE_AFTER ago)."""
    stamp = to_rfc3339(now)
    stale = to_rfc3339(now - CLAIM_STALE_AFTER)
    condition = (NotificationModel.status == "pending") | \
        ((NotificationModel.status == "sending") & (NotificationModel.claimed_at < stale))
    try:
        n.update(actions=[NotificationModel.status.set("sending"), NotificationModel.claimed_at.set(stamp),
                          NotificationModel.attempts.add(1), NotificationModel.updated_at.set(stamp)],
                 condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _deliver(n: NotificationModel, facts: notices.NoticeFacts, eid: str, client_id: str, bhabin_status: str) -> str:
    """Send one claimed notification and record the outcome: `sent`, `failed` (rejected) or `pending` (retry)."""
    sns = aws_client("sns")
    try:
        if n.channel == "sns_topic":
            response = sns.publish(TopicArn=n.to, Subject=notices.coordinator_subject(facts),
                                   Message=notices.coordinator_message(facts, client_id, _status_text(bhabin_status)))
        else:
            compose = notices.bhabinkamtibmas_sms if n.recipient == "bhabinkamtibmas" else notices.officer_sms
            text = compose(facts)
            response = sns.publish(PhoneNumber=n.to, Message=text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": SENDER_ID},
            })
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "") or "Unknown"
        if code in SNS_TRANSIENT_CODES:
            _settle(n, "pending", error=f"{code} (will retry)")
            logger.warning("notification deferred", extra={"escalation_id": eid, "recipient": n.recipient,
                                                            "aws_code": code})
            return "pending"
        _settle(n, "failed", error=f"{code}: {error.get('Message', '')}"[:500])
        logger.warning("notification failed", extra={"escalation_id": eid, "recipient": n.recipient,
                                                      "aws_code": code})
        metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
        return "failed"
    except BotoCoreError as exc:
        _settle(n, "pending", error=f"{type(exc).__name__} (will retry)")
        logger.warning("notification deferred", extra={"escalation_id": eid, "recipient": n.recipient,
                                                        "error": type(exc).__name__})
        return "pending"
    _settle(n, "sent", message_id=response.get("MessageId"))
    logger.info("notification sent", extra={"escalation_id": eid, "recipient": n.recipient, "channel": n.channel})
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return "sent"


def _settle(n: NotificationModel, status: str, message_id: str | None = None, error: str | None = None) -> None:
    stamp = to_rfc3339(now_utc())
    actions = [NotificationModel.status.set(status), NotificationModel.updated_at.set(stamp)]
    actions += [NotificationModel.message_id.set(message_id) if message_id else NotificationModel.message_id.remove(),
                NotificationModel.error.set(error) if error else NotificationModel.error.remove()]
    if status != "sending":
        actions.append(NotificationModel.claimed_at.remove())
    try:
        # Only the claim holder settles it: a worker whose claim went stale and was re-taken leaves it alone.
        n.update(actions=actions, condition=(NotificationModel.status == "sending") &
                 (NotificationModel.claimed_at == n.claimed_at))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.warning("notification claim lost", extra={"recipient": n.recipient})


_STATUS_TEXT = {"sent": "terkirim", "failed": "gagal", "no_contact": "kontak belum terdaftar",
                "pending": "menunggu", "sending": "menunggu"}


def _status_text(status: str) -> str:
    return _STATUS_TEXT.get(status, status)
