"""The escalation run and its SQS worker: no unreachable client slips away unnoticed, and nobody is told
about a client too early, at night, or for the wrong reason.

`run` (the scheduled function, hourly so that 08:00 comes in WIB, WITA and WIT) reads only clients whose
`due_at` has passed, from the `due-index` GSI shards (never a Scan), evaluates each with the rules module
(the Bapas's `grace_hours` included), enqueues one SQS message for each client whose unreachable episode has
lasted the grace period and is not escalated yet, and moves the client's `due_at` to the next instant that
can change its state (the close of its current window, or the end of the grace period), conditionally, so a
concurrent run does no harm. It then releases the messages held back for the night or the daily cap whose
time has come (`outbound.due_deferred`): one resume message per escalation.

`handle_batch` (the worker, Powertools batch processing with per-item failures) opens the escalation in
one transaction -- the escalation (id uuid5 of client and episode start, created only if absent), one
message record per recipient of the ladder (services/outbound.py), the village recipients' reply links
(services/replies.py), the PK's home-visit task, the client's
`open_escalation_id` and the audit entries -- and sends the messages through the outbound layer. Recipients
by reason: `three_missed` -> the Bhabinkamtibmas (else the kecamatan's Polsek, else the kabupaten's Polres),
the village office, the PK and the coordinators' topic; `number_inactive` -> the PK, the guarantor (a
mobile number only) and the village office, never the police (the coordinators are told when someone could
not be reached). A held message is sent only while the episode lasts: once the client has made a counted
contact, or the escalation is resolved, what is still held is `cancelled`.

Exactly once: the opening transaction can succeed once and creates the messages already claimed; a
redelivered message, a second run or a resume takes only what it can claim (services/outbound.py).

DynamoDB requests: the run makes one Query per shard page and one UpdateItem per due client; opening an
escalation costs two GetItems (client, village contacts; one or two more for the area contacts only when
the village has no Bhabinkamtibmas), one TransactWriteItems, one UpdateItem per message sent and one for
each SMS outside the Bapas (the daily cap's counter).

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

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.adapters.aws import client as aws_client
from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, EscalationModel, NotificationModel, TaskModel, get_or_none, plain
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain import compliance as rules
from chalicelib.domain import daytime, notices, workdays
from chalicelib.domain.timeutil import now_utc, parse_rfc3339, to_rfc3339
from chalicelib.errors import Problem
from chalicelib.obs import logger, metrics
from chalicelib.services import outbound, replies
from chalicelib.services.clients import contacts_of, due_shard, evaluate_client
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.villages import police_contact, village_contacts

if TYPE_CHECKING:  # the batch utilities import asyncio (~100 ms): loaded by the worker only, on first use
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Fixed namespace: escalation and task ids are derived, never random, so every run agrees on them.
NAMESPACE = uuid.UUID("6f1c2d9e-4b7a-5c3e-9a81-0d2f5e7b4c10")
POLICE = ("bhabinkamtibmas", "polsek", "polres")
# Every recipient role of the ladder, also the order they are sent and listed in.
RECIPIENTS = (*POLICE, "village_office", "guarantor", "officer", "coordinator")
OUTSIDE = {*POLICE, "village_office", "guarantor"}  # outside the Bapas: daytime only, counted in the cap
CLAIM_STALE_AFTER = outbound.CLAIM_STALE_AFTER
TASK_DUE_DAYS = 3  # the home visit is due this many working days (domain/workdays.py) after the escalation opens
SQS_BATCH = 10
STOP_WHEN_MS_LEFT = 30_000
SYSTEM = "system"
# A run replayed at another instant (`make invoke fn=escalate_unreachable time=...`) is judged at that instant;
# a message handled within this long after its run's instant is judged at the present.
LIVE_WITHIN = timedelta(hours=1)


def escalation_id_for(client_id: str, episode_started_at: datetime) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{client_id}|{to_rfc3339(episode_started_at)}"))


def task_id_for(escalation_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"home_visit|{escalation_id}"))


def reason_of(result: rules.Compliance) -> str:
    if result.reason:
        return result.reason
    return rules.THREE_MISSED if result.consecutive_missed >= rules.UNREACHABLE_AFTER else rules.NUMBER_INACTIVE


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


def _evaluate(item: ClientModel, as_of: datetime) -> rules.Compliance:
    return evaluate_client(item, BAPAS.timezone(item.bapas_id), as_of, grace=BAPAS.grace(item.bapas_id))


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
    if not stopped_early:
        _release_deferred(as_of, stats)
    summary = {"as_of": stamp, "stopped_early": stopped_early,
               **{k: stats[k] for k in ("due", "unreachable", "in_grace", "enqueued", "already_escalated", "moved",
                                        "ended", "moved_by_other", "enqueue_failed", "errors", "released")}}
    logger.info("escalation run", extra=summary)
    metrics.add_metric(name="DueClients", unit=MetricUnit.Count, value=stats["due"])
    metrics.add_metric(name="EscalationsEnqueued", unit=MetricUnit.Count, value=stats["enqueued"])
    metrics.add_metric(name="EscalationRunErrors", unit=MetricUnit.Count, value=stats["errors"])
    metrics.flush_metrics()
    return summary


def _decide(item: ClientModel, as_of: datetime, stats: Counter[str]) -> _Decision:
    result = _evaluate(item, as_of)
    # Next due when the current window closes, or when the grace period of an episode ends.
    shard = due_shard(item.client_id) if result.window_closes_at is not None else None
    next_due = result.window_closes_at
    message = None
    if result.state is rules.State.UNREACHABLE and result.episode_started_at is not None:
        stats["unreachable"] += 1
        assert result.escalation_due_at is not None
        if item.open_escalation_id == escalation_id_for(item.client_id, result.episode_started_at):
            stats["already_escalated"] += 1
        elif as_of < result.escalation_due_at:
            stats["in_grace"] += 1  # offline records may still end it: look again when the grace period ends
            next_due = min(next_due, result.escalation_due_at) if next_due else result.escalation_due_at
        else:
            message = {"client_id": item.client_id, "episode_started_at": to_rfc3339(result.episode_started_at),
                       "as_of": to_rfc3339(as_of)}
    return _Decision(item, shard, to_rfc3339(next_due), message)


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


def _release_deferred(as_of: datetime, stats: Counter[str]) -> None:
    """Hand what was held back (night, daily cap) and is due now to the worker: one resume message per
    escalation, one per held message of another kind (a reminder, a verification code)."""
    bodies: list[dict[str, Any]] = []
    seen: set[str] = set()
    stamp = to_rfc3339(as_of)
    for thread, recipient, kind in outbound.due_deferred(as_of):
        if kind in (None, "escalation"):
            if thread not in seen:
                seen.add(thread)
                bodies.append({"escalation_id": thread, "as_of": stamp})
        else:
            bodies.append({"held": [thread, recipient], "as_of": stamp})
    for i in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[i:i + SQS_BATCH]
        entries = [{"Id": str(j), "MessageBody": json.dumps(b, separators=(",", ":"))} for j, b in enumerate(chunk)]
        response = aws_client("sqs").send_message_batch(QueueUrl=settings().escalation_queue_url, Entries=entries)
        failed = len(response.get("Failed", []))
        stats["released"] += len(chunk) - failed
        stats["enqueue_failed"] += failed  # still deferred and due: the next run releases them


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
    """Open (and send) the escalation of a client's episode; or resume one (`escalation_id`): send what it
    held back and is due now; or send one held message of another kind (`held`: thread and recipient)."""

    client_id: str | None
    episode_started_at: datetime | None
    as_of: datetime
    escalation_id: str | None = None
    held: tuple[str, str] | None = None

    @classmethod
    def parse(cls, body: str) -> EscalationMessage:
        data = json.loads(body)
        if isinstance(data, dict) and set(data) == {"escalation_id", "as_of"}:
            return cls(None, None, parse_rfc3339(data["as_of"]), str(uuid.UUID(data["escalation_id"])))
        if isinstance(data, dict) and set(data) == {"held", "as_of"}:
            thread, recipient = data["held"]
            if not isinstance(thread, str) or not isinstance(recipient, str):
                raise ValueError("not a held message")
            return cls(None, None, parse_rfc3339(data["as_of"]), held=(thread, recipient))
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


def clock_for(as_of: datetime) -> datetime:
    """The instant the daytime rule and the daily cap are judged at: the run's own instant, or now when the
    message is being handled up to LIVE_WITHIN after it (a queue delay never sends after 18:00)."""
    now = now_utc()
    return now if as_of <= now <= as_of + LIVE_WITHIN else as_of


def process(message: EscalationMessage, message_id: str = "-") -> str:
    """Open the escalation of this episode if it is due and not open yet; send what is still to send."""
    clock = clock_for(message.as_of)
    if message.escalation_id is not None:
        return _resume(message.escalation_id, clock)
    if message.held is not None:
        record = _get(NotificationModel, *message.held)
        if record is None:
            return "message_missing"
        return outbound.RESUMERS.get(record.kind or "", outbound.resume)(record, clock)
    assert message.client_id is not None and message.episode_started_at is not None
    item = _get(ClientModel, message.client_id)
    if item is None:
        logger.warning("escalation for a missing client", extra={"client_id": message.client_id})
        return "client_missing"
    escalation_id = escalation_id_for(item.client_id, message.episode_started_at)
    if item.open_escalation_id != escalation_id:  # set in the transaction that opens it
        opened = _open(item, message, escalation_id, message_id, clock)
        if opened is None:
            return "not_opened"
        if opened is not _EXISTS:
            return _send(opened[0], item, opened[1], clock)
    escalation = _get(EscalationModel, escalation_id)
    if escalation is None:  # pragma: no cover - the client points only at escalations that exist
        logger.error("open escalation missing", extra={"escalation_id": escalation_id})
        return "escalation_missing"
    return _send(escalation, item, None, clock)


def _resume(escalation_id: str, clock: datetime) -> str:
    escalation = _get(EscalationModel, escalation_id)
    if escalation is None:
        logger.warning("resume of a missing escalation", extra={"escalation_id": escalation_id})
        return "escalation_missing"
    item = _get(ClientModel, escalation.client_id)
    return _send(escalation, item, None, clock)


def _get(model: Any, *key: str) -> Any:
    return get_or_none(model, *key, consistent_read=True)


_EXISTS: Any = object()  # `_open` found the escalation already there


class ClientChanged(RuntimeError):
    """The client was transferred or reassigned between reading it and opening its escalation."""


# ----- opening: named steps ---------------------------------------------------------------------------

def _open(item: ClientModel, message: EscalationMessage, escalation_id: str, message_id: str,
          clock: datetime) -> tuple[EscalationModel, list[NotificationModel]] | Any | None:
    """Open the escalation in one transaction; None if it must not be opened, _EXISTS if it already is.

    The messages are created already claimed (`sending`) by this worker, which sends them next: the
    transaction that can succeed only once is the claim, so the first delivery needs no extra write.
    """
    result = _still_due(item, message)
    if result is None:
        return None
    previous = _previous_episode(item, escalation_id)
    if previous is _EXISTS:
        return None
    now = now_utc()
    escalation, task = _records(item, result, message, escalation_id, now)
    messages, links = _notifications(item, escalation, task, clock, now)
    audits = _audits(item, escalation_id, message_id, now)
    try:
        _commit(item, escalation, task, messages, links, audits, previous)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # TransactionConflict and the like: SQS delivers the message again
        if _get(EscalationModel, escalation_id) is None:
            logger.info("client moved or reassigned while opening", extra={"escalation_id": escalation_id})
            raise ClientChanged(escalation_id) from None  # SQS delivers it again; the next try reads the client anew
        logger.info("escalation opened concurrently", extra={"escalation_id": escalation_id})
        return _EXISTS
    logger.info("escalation opened", extra={
        "escalation_id": escalation_id, "client_id": item.client_id, "reason": escalation.reason,
        "bapas_id": item.bapas_id, "no_contact": sum(n.status == "no_contact" for n in messages),
        "deferred": sum(n.status == "deferred" for n in messages)})
    metrics.add_metric(name="EscalationsOpened", unit=MetricUnit.Count, value=1)
    return escalation, messages


def _still_due(item: ClientModel, message: EscalationMessage) -> rules.Compliance | None:
    """The client's compliance if this episode is still on and its grace period is over, else None."""
    assert message.episode_started_at is not None
    result = _evaluate(item, message.as_of)
    if result.state is not rules.State.UNREACHABLE or result.episode_started_at != message.episode_started_at:
        logger.info("escalation message is stale", extra={"client_id": item.client_id})
        return None
    if result.escalation_due_at is None or message.as_of < result.escalation_due_at:
        logger.info("escalation still in its grace period", extra={"client_id": item.client_id})
        return None
    if _first_counted_after(item, message.episode_started_at) is not None:
        logger.info("episode ended before the worker ran", extra={"client_id": item.client_id})
        return None
    return result


def _previous_episode(item: ClientModel, escalation_id: str) -> tuple[EscalationModel, datetime] | Any | None:
    """The client's previous escalation to mark ended, None, or _EXISTS when this absence is escalated already
    (same absence, computed start moved, e.g. by a late offline record)."""
    if not item.open_escalation_id or item.open_escalation_id == escalation_id:
        return None
    previous = _get(EscalationModel, item.open_escalation_id)
    if previous is None:
        return None
    ended_at = _first_counted_after(item, parse_rfc3339(previous.episode_started_at))
    if ended_at is None:
        logger.info("episode already escalated", extra={"client_id": item.client_id,
                                                        "escalation_id": previous.escalation_id})
        return _EXISTS
    return (previous, ended_at) if previous.episode_ended_at is None else None


def _records(item: ClientModel, result: rules.Compliance, message: EscalationMessage, escalation_id: str,
             now: datetime) -> tuple[EscalationModel, TaskModel]:
    assert message.episode_started_at is not None
    opened_at = to_rfc3339(now)
    tz = BAPAS.timezone(item.bapas_id)
    task_id = task_id_for(escalation_id)
    escalation = EscalationModel(
        escalation_id, client_id=item.client_id, bapas_id=item.bapas_id, officer=item.officer,
        officer_key=item.officer_key, village_code=item.village_code, village_name=_village_name(item),
        reason=reason_of(result), episode_started_at=to_rfc3339(message.episode_started_at), opened_at=opened_at,
        consecutive_missed=result.consecutive_missed, state="open", state_opened=f"open#{opened_at}#{escalation_id}",
        task_id=task_id, version=1,
    )
    due = task_due_date(now, tz).isoformat()
    task = TaskModel(task_id, kind="home_visit", client_id=item.client_id, escalation_id=escalation_id,
                     bapas_id=item.bapas_id, officer=item.officer, officer_key=item.officer_key,
                     village_code=item.village_code, due_date=due, state="open", state_due=f"open#{due}#{task_id}",
                     created_at=opened_at, version=1)
    return escalation, task


@dataclass(frozen=True)
class Recipient:
    recipient_role: str
    name: str | None
    phone: str | None


def ladder(item: ClientModel, reason: str) -> list[Recipient]:
    """Who is told, by reason (the PK and the coordinators' topic are added by the caller).

    `three_missed`: the police (the village's Bhabinkamtibmas, else its kecamatan's Polsek, else its
    kabupaten/kota's Polres; `bhabinkamtibmas` without a phone when none is known) and the village office.
    `number_inactive`: the guarantor (when one has a phone) and the village office; never the police.
    """
    village = village_contacts(item.bapas_id, item.village_code)
    office = village.village_office.as_dict() if village is not None and village.village_office else {}
    out: list[Recipient] = []
    if reason == "three_missed":
        role, name, phone = police_contact(item.bapas_id, item.village_code, village)
        out.append(Recipient(role, name, phone))
    else:
        guarantor = _guarantor(item)
        if guarantor is not None:
            out.append(guarantor)
    out.append(Recipient("village_office", office.get("name"), office.get("phone")))
    return out


def _guarantor(item: ClientModel) -> Recipient | None:
    """The guarantor with a phone, a mobile one first (a landline is kept for calls but never sent an SMS)."""
    from chalicelib.domain.phones import is_mobile

    phones = [p.as_dict() if hasattr(p, "as_dict") else dict(p) for p in item.phones or []]
    guarantors = [p for p in phones if p.get("owner") == "guarantor" and p.get("number")]
    if not guarantors:
        return None
    guarantors.sort(key=lambda p: 0 if _mobile(p["number"], is_mobile) else 1)
    first = guarantors[0]
    return Recipient("guarantor", first.get("name"), first["number"])


def _mobile(number: str, is_mobile: Any) -> bool:
    try:
        return bool(is_mobile(number))
    except Exception:
        return False


REPLY_ROLES = ("bhabinkamtibmas", "polsek", "polres", "village_office")  # who gets a reply link in their SMS


def reply_link(escalation_id: str, role: str, bapas_id: str, now: datetime) -> replies.NewLink | None:
    """A new reply link for a village recipient (services/replies.py: hashed token, 14 days, audited), written
    with the escalation; None for anyone else (the PK, the coordinators, the guarantor)."""
    if role not in REPLY_ROLES:
        return None
    return replies.new_link(escalation_id, role, role, bapas_id, now)


def _notifications(item: ClientModel, escalation: EscalationModel, task: TaskModel, clock: datetime,
                   now: datetime) -> tuple[list[NotificationModel], list[replies.NewLink]]:
    """One message record per recipient, each with its text and first status (outbound.prepare), and the reply
    links their texts carry."""
    reason = escalation.reason
    village_tz = _village_tz(item)
    officer = DIRECTORY.officer(item.officer)
    others = ladder(item, reason)
    police = next((r for r in others if r.recipient_role in POLICE), None)
    guarantor = next((r for r in others if r.recipient_role == "guarantor"), None)
    facts = _facts(escalation, item, officer, task, police, guarantor)
    base = {"thread": escalation.escalation_id, "kind": "escalation", "client_id": item.client_id,
            "bapas_id": item.bapas_id}
    records, links = [], []
    for r in others:
        role = r.recipient_role
        link = reply_link(escalation.escalation_id, role, item.bapas_id, now) if r.phone else None
        if link is not None:
            links.append(link)
        text = notices.compose(role, facts, r.name, link.url if link else None) if r.phone else None
        records.append(outbound.prepare(outbound.Outgoing(
            recipient=role, recipient_role=role, channel="sms", to=r.phone, text=text, outside=True,
            tz=village_tz, **base), clock))
    officer_phone = officer.phone if officer is not None else None
    records.append(outbound.prepare(outbound.Outgoing(
        recipient="officer", recipient_role="officer", channel="sms", to=officer_phone,
        text=notices.officer_sms(facts) if officer_phone else None, outside=False,
        tz=BAPAS.timezone(item.bapas_id), **base), clock))
    topic = settings().coordinators_topic_arn or None
    someone_missing = any(n.status == "no_contact" for n in records)
    if reason == "three_missed" or someone_missing:
        statuses = {n.recipient_role: n.status for n in records}
        records.append(outbound.prepare(outbound.Outgoing(
            recipient="coordinator", recipient_role="coordinator", channel="sns_topic", to=topic,
            text=notices.coordinator_message(facts, item.client_id, statuses),
            subject=notices.coordinator_subject(facts), outside=False, tz=BAPAS.timezone(item.bapas_id), **base),
            clock))
    for n in records:  # the clock may be a replayed instant; the records say when they were made
        n.created_at = n.updated_at = to_rfc3339(now)
    return records, links


def _audits(item: ClientModel, escalation_id: str, message_id: str, now: datetime) -> list[Any]:
    system = _system(item.bapas_id)
    audits = [audit_entry(system, f"escalation#{escalation_id}", "escalation.open", now,
                          ["state", "notifications", "task"], 1),
              audit_entry(system, f"client#{item.client_id}", "client.escalate", now, ["open_escalation_id"])]
    for entry in audits:
        entry.request_id = message_id
    return audits


def _commit(item: ClientModel, escalation: EscalationModel, task: TaskModel, messages: list[NotificationModel],
            links: list[replies.NewLink], audits: list[Any], previous: tuple[EscalationModel, datetime] | None) -> None:
    with transaction() as tx:
        tx.save(escalation, condition=EscalationModel.escalation_id.does_not_exist())
        for n in messages:
            tx.save(n, condition=NotificationModel.escalation_id.does_not_exist())
        for link in links:
            link.save_in(tx)
        tx.save(task, condition=TaskModel.task_id.does_not_exist())
        # Still the client's Bapas and PK as read: a transfer to another Bapas or a reassignment committed meanwhile
        # refuses this (the message is retried and opens the escalation where the client is now).
        tx.update(ClientModel(item.client_id), actions=[ClientModel.open_escalation_id.set(escalation.escalation_id)],
                  condition=ClientModel.client_id.exists() & (ClientModel.bapas_id == item.bapas_id)
                  & (ClientModel.officer == item.officer))
        if previous is not None:
            tx.update(EscalationModel(previous[0].escalation_id),
                      actions=[EscalationModel.episode_ended_at.set(to_rfc3339(previous[1]))],
                      condition=EscalationModel.escalation_id.exists())
        for entry in audits:
            tx.save(entry)


def task_due_date(opened_at: datetime, tz: str) -> date:
    """The home visit's due date: TASK_DUE_DAYS working days after the local date the escalation opened (a PK
    is not expected to visit on a weekend, a national holiday or a cuti bersama)."""
    return workdays.add_working_days(daytime.local_date(opened_at, tz), TASK_DUE_DAYS)


def _village_tz(item: ClientModel) -> str:
    try:
        return daytime.zone_of_code(item.village_code)
    except ValueError:
        return BAPAS.timezone(item.bapas_id)


def _village_name(item: ClientModel) -> str:
    address = plain(item.address or {})
    return str(address.get("village_name") or item.village_code)


def _facts(escalation: EscalationModel, item: ClientModel, officer: Any, task: TaskModel,
           police: Recipient | None, guarantor: Recipient | None) -> notices.NoticeFacts:
    address = plain(item.address or {})
    return notices.NoticeFacts(
        escalation_id=escalation.escalation_id, reason=escalation.reason,
        bapas_name=str(BAPAS.info(item.bapas_id).name), client_name=item.name, village_code=item.village_code,
        village_name=_village_name(item), rt_rw=notices.rt_rw_of(address.get("text")),
        officer_name=officer.name if officer is not None else item.officer,
        officer_phone=officer.phone if officer is not None else None, task_due=date.fromisoformat(task.due_date),
        police_role=police.recipient_role if police else None, police_name=police.name if police else None,
        police_phone=police.phone if police else None, guarantor_name=guarantor.name if guarantor else None,
        guarantor_phone=guarantor.phone if guarantor else None,
    )


# ----- sending ----------------------------------------------------------------------------------------

def _episode_over(escalation: EscalationModel, item: ClientModel | None) -> bool:
    """True once nothing more should be sent about this episode: resolved, or a counted contact since."""
    if escalation.state != "open" or item is None:
        return True
    return _first_counted_after(item, parse_rfc3339(escalation.episode_started_at)) is not None


def _send(escalation: EscalationModel, item: ClientModel | None, fresh: list[NotificationModel] | None,
          clock: datetime) -> str:
    """Send every message of the escalation this worker can claim and whose time has come."""
    eid = escalation.escalation_id
    records = fresh if fresh is not None else list(NotificationModel.query(eid, consistent_read=True))
    order = {r: i for i, r in enumerate(RECIPIENTS)}
    records.sort(key=lambda n: order.get(n.recipient, 99))
    over = fresh is None and _episode_over(escalation, item)
    unfinished = sent = 0
    for n in records:
        if n.status in outbound.FINAL:
            continue
        if over:
            if outbound.cancel(n, now_utc(), "the episode ended before it was sent"):
                logger.info("message cancelled", extra={"escalation_id": eid, "recipient": n.recipient})
            continue
        claimed_by_opening = fresh is not None and n.status == "sending"
        if not claimed_by_opening:
            if not outbound.claimable(n, clock):
                continue  # held back until its time (night, daily cap): a later run releases it
            if not outbound.claim(n, clock):
                unfinished += 1  # another worker holds it; this message comes back until it is settled
                continue
        outcome = outbound.send(n, clock)
        if outcome == "sent":
            sent += 1
        elif outcome == "pending":
            unfinished += 1
    if unfinished:
        raise RetryLater(f"{unfinished} notification(s) of {eid} not settled yet")
    return f"sent {sent}"
