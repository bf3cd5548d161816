"""Program change: a new supervision period under its own decree (SK), e.g. asimilasi followed by pembebasan
bersyarat (`POST /v1/clients/{id}/programs`, the coordinator of the client's Bapas).

What changes
    The client's current program, period (decree number and date, first day) and `supervision_end` switch to the
    new ones; the period that ends is appended to `periods` with its program, decree, dates (its end: the day
    before the new one begins; `planned_end_date`: its end as it stood) and note. Its check-in windows, records
    and compliance stay as they are: the windows run over the whole supervision, and each period's compliance is
    counted over its own windows (`domain/compliance.by_period`), so late records of the old period still count
    there. The stages, progress reports and stage reviews are the new period's own, from its first day.

Cadence without a gap and without a recount
    The new program's interval (7 days for asimilasi, 30 for the integration programs, unless the body sets one)
    starts on the later of `start_date` and the first day of the window open now (`domain/compliance.new_period`):
    every window closed by now keeps its days and outcome; the open window the change shortens is never missed;
    the old period's own last window, when it already ended with the old period, keeps its outcome.

Idempotent, one transaction
    The same change sent again (same program, decree, dates, interval and note while it is still the current
    period) is 200 with the client, nothing written. A decree number already recorded for another period, or a
    client changed meanwhile (another write between the read and this one), is 409. The client update (only at
    the version read) and its audit entry `client.program_change` (field names only) are one TransactWriteItems.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters.tables import ClientModel
from chalicelib.auth import Principal
from chalicelib.domain import compaction
from chalicelib.domain import compliance as rules
from chalicelib.domain.clients import default_interval, local_today
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import FieldError, conflict, field_error, validation_failed
from chalicelib.obs import logger
from chalicelib.services.clients import (
    cadence_of,
    client_entity,
    closed_periods,
    contacts_of,
    current_period,
    due_fields,
    load_client,
    report_view_actions,
    schedule_of,
    to_api,
)
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.results import Saved, Written

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.clients import ProgramChange

CHANGED_FIELDS = ["program", "checkin_interval_days", "supervision_end", "schedule", "period", "periods"]


def _is_replay(item: ClientModel, body: ProgramChange, interval: int) -> bool:
    current = current_period(item)
    return (current["sk_number"] == body.sk_number and current["sk_date"] == body.sk_date.isoformat()
            and current["start_date"] == body.start_date.isoformat() and item.program == body.program.value
            and item.supervision_end == body.end_date.isoformat() and current["note"] == body.note
            and int(item.checkin_interval_days) == interval and bool(closed_periods(item)))


def _check(item: ClientModel, body: ProgramChange, today: date) -> None:
    current = current_period(item)
    if body.sk_number in {p.get("sk_number") for p in closed_periods(item)} | {current["sk_number"]}:
        raise conflict(f"The decree {body.sk_number} is already recorded for a period of this client; "
                       "a new period needs its own decree.")
    current_start, end = date.fromisoformat(current["start_date"]), date.fromisoformat(item.supervision_end)
    errors = []
    if body.sk_date > today:
        errors.append(FieldError("sk_date", f"may not lie in the future (today is {today} in the Bapas time zone)"))
    if body.start_date <= current_start:
        errors.append(FieldError("start_date", f"must be after the current period's first day ({current_start})"))
    elif body.start_date > today:
        errors.append(FieldError("start_date", f"may not lie in the future (today is {today} in the Bapas time "
                                               "zone): record the change on or after the day the new period begins"))
    elif body.start_date > end + timedelta(days=1):
        errors.append(FieldError("start_date", f"must not be later than {end + timedelta(days=1)}, the day after "
                                               "the current period's end: periods follow each other without a gap"))
    if body.end_date <= body.start_date:
        errors.append(FieldError("end_date", "must be after start_date"))
    if errors:
        raise validation_failed(errors)


def change_program(p: Principal, client_id: str, body: ProgramChange, now: datetime) -> Saved:
    item = load_client(p, client_id, write=True)
    tz = BAPAS.timezone(item.bapas_id)
    interval = body.checkin_interval_days or default_interval(body.program)
    if _is_replay(item, body, interval):
        return Saved(to_api(item, tz, now), Written.REPLAYED)
    if item.anonymised_at:
        raise conflict("This client's personal data was deleted at the end of the retention period; "
                       "the record can no longer be changed.")
    today = local_today(now, tz)
    _check(item, body, today)
    old_schedule = schedule_of(item, tz)
    try:
        switch, schedule = rules.new_period(old_schedule, body.start_date, body.end_date, interval, now)
    except ValueError as exc:
        raise field_error("end_date", str(exc)) from None
    if item.contacts_summary and not compaction.same_windows(old_schedule, schedule, item.contacts_summary):
        raise field_error("start_date", f"would move check-in windows that closed more than "
                                        f"{compaction.KEEP_DAYS} days ago; they can no longer change")
    if switch <= date.fromisoformat(current_period(item)["windows_from"]):
        raise field_error("start_date", "the current period has no check-in window of its own before this date")

    stamp = to_rfc3339(now)
    current = current_period(item)
    closed = {k: v for k, v in {
        "program": item.program, "sk_number": current["sk_number"], "sk_date": current["sk_date"],
        "start_date": current["start_date"], "end_date": (body.start_date - timedelta(days=1)).isoformat(),
        "planned_end_date": item.supervision_end, "windows_from": current["windows_from"],
        "note": current["note"], "started_at": current["changed_at"], "started_by": current["changed_by"],
        "closed_at": stamp, "closed_by": p.username}.items() if v is not None}
    new_current = {k: v for k, v in {
        "sk_number": body.sk_number, "sk_date": body.sk_date.isoformat(), "start_date": body.start_date.isoformat(),
        "windows_from": switch.isoformat(), "note": body.note, "changed_at": stamp,
        "changed_by": p.username}.items() if v is not None}
    _, k, made, previous_end = schedule.changes[-1]
    cadence = [e for e in cadence_of(item) if date.fromisoformat(e["from"]) < switch]
    cadence.append({"from": switch.isoformat(), "checkin_interval_days": k, "program": body.program.value,
                    "changed_on": made.isoformat(), "previous_end": previous_end.isoformat() if previous_end else None})
    changes: dict[str, Any] = {
        "program": body.program.value, "checkin_interval_days": interval,
        "supervision_end": body.end_date.isoformat(), "schedule": [_storable(e) for e in cadence],
        "period": new_current, "periods": [*closed_periods(item), closed]}
    if item.end_month is not None:
        changes["end_month"] = body.end_date.isoformat()[:7]  # the retention index follows the new end
    expected = int(item.version)
    for name, value in changes.items():
        setattr(item, name, value)
    result = rules.evaluate(schedule, contacts_of(item, tz), now, grace=BAPAS.grace(item.bapas_id))
    shard, due_at = due_fields(item.client_id, result)
    version = expected + 1
    actions = [getattr(ClientModel, name).set(value) for name, value in changes.items()]
    actions += report_view_actions(item, tz, now)  # the new cadence and period, for the compliance report
    actions += [ClientModel.version.set(version), ClientModel.updated_at.set(stamp)]
    actions += [ClientModel.due_shard.set(shard), ClientModel.due_at.set(due_at)] if shard else \
        [ClientModel.due_shard.remove(), ClientModel.due_at.remove()]
    try:
        with transaction() as tx:
            tx.update(ClientModel(client_id), actions=actions,
                      condition=(ClientModel.version == expected) & (ClientModel.bapas_id == item.bapas_id))
            tx.save(audit_entry(p, client_entity(client_id), "client.program_change", now, CHANGED_FIELDS, version))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        load_client(p, client_id, write=True)  # 404 when it left the Bapas meanwhile
        raise conflict("The client was changed meanwhile; read it again and send the change again.") from None
    logger.info("program changed", extra={"client_id": client_id, "program": body.program.value,
                                          "periods": len(changes["periods"]) + 1})
    item.version, item.updated_at = version, stamp
    item.due_shard, item.due_at = shard, due_at
    return Saved(to_api(item, tz, now), Written.CREATED)


def _storable(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if v is not None}
