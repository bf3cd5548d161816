"""The daily reminder run (`send_reminders`): one SMS before a window is missed, exactly once per window.

Which clients are read: the `due-index` GSI (the same sparse, sharded index the escalation run rides; never a
Scan). A client's `due_at` there is the close of its current window (or an earlier instant when the escalation
run must look at it), so one Query per shard page with `due_at` in `(as_of, as_of + MAX_DAYS_BEFORE]` (7 days)
reads every client whose window closes soon enough for any Bapas's `reminder_days_before` (1..7),
and nothing else. Each is evaluated with the rules (`domain/reminders.py`): still owed, closing within its
Bapas's `reminder_days_before` (default 2), not unreachable, reminders not switched off, a recipient
(`domain/phones.sms_recipient`: the client's own active mobile, else the guarantor's).

Exactly once per window, under re-runs, concurrent runs and crashes: the reminder's message record is keyed by
client and window (`reminder#<client_id>#<first day of the window>`) and created with `attribute_not_exists`
in one transaction with its audit entry -- only one run can create it, and it is created already claimed
(`sending`) by that run, which then sends it through the outbound layer (daytime in the village's zone,
mobile only, the Bapas's daily cap). A run that finds the record already there sends only what it can claim
(a record still `pending`, a dead run's stale claim, a deferral whose time has come), so a crash between the
transaction and the SMS is finished by the next run; the one window for a duplicate is a run killed between
SNS accepting the SMS and the `sent` mark (services/outbound.py).

Requests per reminded client (docs/benchmarks.md, bench/reminder_bench.py): 1 consistent GetItem (is this
window's reminder already there?), 1 TransactWriteItems, 1 SNS Publish, 1 UpdateItem (the outcome), 1 UpdateItem
(the daily cap counter); a client reminded by an earlier run costs its GetItem only; plus the shared Query pages
and one Cognito read per PK per process. Logs carry ids and counts only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, NotificationModel
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain import daytime, reminders
from chalicelib.domain.phones import sms_recipient
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import Problem
from chalicelib.obs import logger, metrics
from chalicelib.services import outbound
from chalicelib.services.clients import contacts_of, evaluate_client, schedule_of
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.phones import stored_phones

STOP_WHEN_MS_LEFT = 30_000
SYSTEM = "system"


def thread_of(client_id: str, window_key: str) -> str:
    return f"reminder#{client_id}#{window_key}"


def run(as_of: datetime, remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    low, high = to_rfc3339(as_of), to_rfc3339(as_of + timedelta(days=reminders.MAX_DAYS_BEFORE))
    stopped_early = False
    for shard in range(settings().due_shards):
        query = ClientModel.due_index.query(str(shard), (ClientModel.due_at > low) & (ClientModel.due_at <= high),
                                            page_size=100)
        for item in query:
            stats["read"] += 1
            try:
                stats[remind(item, as_of)] += 1
            except (ValueError, Problem) as exc:  # a corrupt fact, an unknown Bapas: the run goes on
                stats["errors"] += 1
                logger.error("reminder not decided", extra={"client_id": item.client_id, "error": type(exc).__name__})
            if remaining_ms is not None and remaining_ms() < STOP_WHEN_MS_LEFT:
                stopped_early = True  # the next run (or re-run) picks up the rest: reminders are once per window
                break
        if stopped_early:
            break
    summary = {"as_of": low, "stopped_early": stopped_early, **dict(stats)}
    logger.info("reminder run", extra=summary)
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=stats["sent"])
    metrics.add_metric(name="ReminderRunErrors", unit=MetricUnit.Count, value=stats["errors"])
    metrics.flush_metrics()
    return summary


def remind(item: ClientModel, as_of: datetime) -> str:
    """Send (or finish sending) this client's reminder for its current window if one is owed; the outcome."""
    if item.reminders_enabled is False:
        return "switched_off"
    tz = BAPAS.timezone(item.bapas_id)
    result = evaluate_client(item, tz, as_of)
    days = BAPAS.reminder_days(item.bapas_id)
    window = reminders.reminder_window(schedule_of(item, tz), contacts_of(item), result.state, as_of, days)
    if window is None:
        return "not_due"
    thread = thread_of(item.client_id, reminders.window_key(window))
    existing = _get(thread)
    if existing is not None:
        return _finish(existing, as_of)
    record = outbound.prepare(_outgoing(item, thread, window.last_day), as_of)
    system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=item.bapas_id)
    try:
        with transaction() as tx:
            tx.save(record, condition=NotificationModel.escalation_id.does_not_exist())
            tx.save(audit_entry(system, f"client#{item.client_id}", "reminder.create", as_of, ["messages"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        existing = _get(thread)  # another run made it first: it sends it
        return "already" if existing is None else _finish(existing, as_of)
    if record.status != "sending":
        return record.status  # no_contact, or deferred to the morning (the escalation run releases it)
    return outbound.send(record, as_of)


def _finish(record: NotificationModel, as_of: datetime) -> str:
    if not outbound.claimable(record, as_of):
        return "already"
    status = outbound.resume(record, as_of)
    return status if status in ("sent", "failed", "deferred", "pending") else "already"


def _get(thread: str) -> NotificationModel | None:
    try:
        return NotificationModel.get(thread, "reminder", consistent_read=True)
    except NotificationModel.DoesNotExist:
        return None


def _outgoing(item: ClientModel, thread: str, last_day: Any) -> outbound.Outgoing:
    phones = stored_phones(item)
    recipient = sms_recipient(phones)
    bapas = str(BAPAS.info(item.bapas_id).name)
    officer = DIRECTORY.officer(item.officer)
    officer_name = officer.name if officer else item.officer
    officer_phone = officer.phone if officer else None
    if recipient is None:
        role, to, text = "client", None, None
    elif recipient["owner"] == "client":
        role, to = "client", recipient["number"]
        text = reminders.client_text(item.name, last_day, bapas, officer_name, officer_phone)
    else:
        role, to = "guarantor", recipient["number"]
        text = reminders.guarantor_text(recipient.get("name"), item.name, last_day, bapas, officer_name,
                                        officer_phone)
    return outbound.Outgoing(thread=thread, recipient="reminder", kind="reminder", recipient_role=role,
                             channel="sms", to=to, text=text, bapas_id=item.bapas_id, outside=True,
                             tz=daytime.zone_of_code(item.village_code), client_id=item.client_id)
