"""Client registry: register, read, list and change clients, each write audited in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.access import check_client_read, check_client_write, read_is_audited, scoped_bapas, scoped_officer
from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, get_or_none, plain
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain import compaction, progress, reviews
from chalicelib.domain import compliance as rules
from chalicelib.domain.clients import default_interval, local_today, stage_on
from chalicelib.domain.names import MAX_QUERY, fold, name_key
from chalicelib.domain.phones import carry_state, phone_view
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.domain.villages import UnknownVillage, lookup_village
from chalicelib.domain.workload import Fact
from chalicelib.errors import (
    FieldError,
    conflict,
    field_error,
    not_found,
    precondition_failed,
    validation_failed,
)
from chalicelib.paging import Page, encode_cursor
from chalicelib.services import reassignment
from chalicelib.services.common import BAPAS, audit_entry, canonical_hash, condition_failed, transaction
from chalicelib.services.results import Saved, Written

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.clients import ClientCreate, ClientPatch

MAX_ITEMS_READ_PER_LIST = 2000


def client_entity(client_id: str) -> str:
    return f"client#{client_id}"


# ----- compliance from the stored facts -------------------------------------------------------------

def facts_of(item: ClientModel, tz: str | None = None) -> list[Fact]:
    """The client's compliance facts: those on the item (`contacts`) and the representative facts of its
    compacted windows (`contacts_summary`, domain/compaction.py): what the rules see is the full history's."""
    if not item.contacts_summary:
        return [Fact.parse(fact) for fact in item.contacts or []]
    schedule = schedule_of(item, tz or BAPAS.timezone(item.bapas_id))
    return compaction.all_facts(schedule, item.contacts_summary, item.contacts or [])


def contacts_of(item: ClientModel, tz: str | None = None) -> list[rules.Contact]:
    return [rules.Contact(f.at, f.kind) for f in facts_of(item, tz)]


def cadence_of(item: Any) -> list[dict[str, Any]]:
    """The client's cadence history `[{from, checkin_interval_days, program, changed_on, previous_end}]`, oldest
    first (a client from before version 1.1 has one entry: its interval and program from the supervision start).
    `previous_end` is set on the entry a program change began (services/programs.py): the end of the period it
    closed, as it stood then."""
    entries = [plain(e) for e in item.schedule or []]
    if not entries:
        return [{"from": item.supervision_start, "checkin_interval_days": int(item.checkin_interval_days),
                 "program": item.program, "changed_on": None, "previous_end": None}]
    return [{"from": e["from"], "checkin_interval_days": int(e["checkin_interval_days"]), "program": e["program"],
             "changed_on": e.get("changed_on"), "previous_end": e.get("previous_end")} for e in entries]


# ----- supervision periods (services/programs.py) ------------------------------------------------------------

def current_period(item: Any) -> dict[str, Any]:
    """The current period's decree and dates: `{sk_number, sk_date, start_date, windows_from, note, changed_at,
    changed_by}` (absent on the item: the period from the supervision start, no decree recorded). Its program
    and end are the client's `program` and `supervision_end`."""
    stored = plain(item.period) if getattr(item, "period", None) else {}
    start = stored.get("start_date") or item.supervision_start
    return {"sk_number": stored.get("sk_number"), "sk_date": stored.get("sk_date"), "start_date": start,
            "windows_from": stored.get("windows_from") or start, "note": stored.get("note"),
            "changed_at": stored.get("changed_at"), "changed_by": stored.get("changed_by")}


def closed_periods(item: Any) -> list[dict[str, Any]]:
    return [plain(e) for e in getattr(item, "periods", None) or []]


def period_bounds(item: Any) -> tuple[date, date]:
    """The current period's first and last day: its stages, progress reports and stage reviews are counted
    within them (the check-in windows run over the whole supervision, from `supervision_start`)."""
    start = date.fromisoformat(current_period(item)["start_date"])
    end = date.fromisoformat(item.supervision_end)
    return min(start, end), end


def bounds_on(item: Any, day: date) -> tuple[date, date]:
    """The first and last day of the period `day` belongs to (the current one after its start)."""
    for closed in closed_periods(item):
        if date.fromisoformat(closed["start_date"]) <= day <= date.fromisoformat(closed["end_date"]):
            return date.fromisoformat(closed["start_date"]), date.fromisoformat(closed["end_date"])
    return period_bounds(item)


def periods_of(item: ClientModel, tz: str, now: datetime) -> list[dict[str, Any]]:
    """Every supervision period, oldest first, the current one last, each with the compliance of its windows."""
    closed, current = closed_periods(item), current_period(item)
    schedule = schedule_of(item, tz)
    starts = [e["windows_from"] for e in closed] + [current["windows_from"]]
    try:
        counts = [c.to_api() for c in rules.by_period(schedule, contacts_of(item, tz), now,
                                                      [date.fromisoformat(d) for d in starts])]
    except ValueError:  # a period whose windows a later PATCH of the dates moved: shown without its counts
        counts = [None] * len(starts)
    out = []
    for entry, compliance in zip([*closed, None], counts, strict=True):
        if entry is None:
            out.append({"program": item.program, "sk_number": current["sk_number"], "sk_date": current["sk_date"],
                        "start_date": current["start_date"], "end_date": item.supervision_end,
                        "planned_end_date": None, "note": current["note"], "started_at": current["changed_at"],
                        "started_by": current["changed_by"], "current": True, "compliance": compliance})
        else:
            out.append({"program": entry["program"], "sk_number": entry.get("sk_number"),
                        "sk_date": entry.get("sk_date"), "start_date": entry["start_date"],
                        "end_date": entry["end_date"], "planned_end_date": entry.get("planned_end_date"),
                        "note": entry.get("note"), "started_at": entry.get("started_at"),
                        "started_by": entry.get("started_by"), "current": False, "compliance": compliance})
    return out


def schedule_of(item: ClientModel, tz: str) -> rules.Schedule:
    start, end = date.fromisoformat(item.supervision_start), date.fromisoformat(item.supervision_end)
    cadence = cadence_of(item)
    # Entries from the start or before it set the first interval; later ones (within the period) are changes.
    first = [e for e in cadence if date.fromisoformat(e["from"]) <= start]
    interval = first[-1]["checkin_interval_days"] if first else cadence[0]["checkin_interval_days"]
    changes = tuple((date.fromisoformat(e["from"]), e["checkin_interval_days"],
                     max(date.fromisoformat(e["changed_on"] or e["from"]), date.fromisoformat(e["from"])),
                     date.fromisoformat(e["previous_end"]) if e.get("previous_end") else None)
                    for e in cadence if start < date.fromisoformat(e["from"]) <= end)
    tracking = date.fromisoformat(item.tracking_from) if item.tracking_from else None
    if tracking is not None and tracking < start:
        tracking = None
    return rules.Schedule(start=start, end=end, interval_days=interval, tz=tz, tracking_from=tracking,
                          changes=changes)


def evaluate_client(item: ClientModel, tz: str, now: datetime,
                    grace: timedelta = rules.DEFAULT_GRACE) -> rules.Compliance:
    return rules.evaluate(schedule_of(item, tz), contacts_of(item, tz), now, grace=grace)


def progress_of(item: ClientModel, tz: str, now: datetime) -> progress.Status:
    """Overdue and next progress reports of the current period, from the facts on the client item (no record is
    read): a new period (a program change) has its own stages, hence its own report periods."""
    reports = [progress.parse_fact(fact) for fact in item.progress_reports or []]
    return progress.evaluate(*period_bounds(item), reports, now, local_today(now, tz))


def reviews_of(item: ClientModel, tz: str, now: datetime) -> reviews.Status:
    """Overdue and next stage reviews of the current period, from the facts on the client item (no record is
    read). Only reviews recorded since the period began count: the old period's `awal` review is not the new
    one's."""
    began = current_period(item)["changed_at"]
    done = [r for r in (reviews.parse_fact(fact) for fact in item.stage_reviews or [])
            if began is None or r.recorded_at >= datetime.fromisoformat(began.replace("Z", "+00:00"))]
    return reviews.evaluate(*period_bounds(item), done, now, local_today(now, tz))


def due_shard(client_id: str) -> str:
    return str(uuid.UUID(client_id).int % settings().due_shards)


def due_fields(client_id: str, result: rules.Compliance) -> tuple[str | None, str | None]:
    """Where the client sits in the due index: re-evaluated by the daily run once `due_at` has passed.

    Normally the close of the current window. A client already in an unreachable episode when written
    (a period moved back, a dead number) is due when the episode's grace period ends, so the run escalates
    it then instead of waiting for the current window to close.
    """
    if result.window_closes_at is None:
        return None, None
    due = result.window_closes_at
    if result.state is rules.State.UNREACHABLE and result.escalation_due_at is not None:
        due = min(due, result.escalation_due_at)
    return due_shard(client_id), to_rfc3339(due)


# ----- representation ------------------------------------------------------------------------------

def to_api(item: ClientModel, tz: str, now: datetime, periods: bool = True) -> dict[str, Any]:
    """The client as the API returns it (`periods=False`: without the per-period compliance, which a list leaves
    out)."""
    result = evaluate_client(item, tz, now, grace=BAPAS.grace(item.bapas_id))
    start, end = period_bounds(item)
    current = current_period(item)
    return {
        "id": item.client_id,
        "bapas_id": item.bapas_id,
        "name": item.name,
        "program": item.program,
        "supervision_start": item.supervision_start,
        "supervision_end": item.supervision_end,
        "checkin_interval_days": int(item.checkin_interval_days),
        "tracking_from": item.tracking_from or item.supervision_start,
        "schedule": cadence_of(item),
        "sk_number": current["sk_number"],
        "sk_date": current["sk_date"],
        "period_start": current["start_date"],
        "periods": periods_of(item, tz, now) if periods else [],
        "stage": stage_on(start, end, local_today(now, tz)).value,
        "officer": item.officer,
        "phones": [phone_view(plain(p)) for p in item.phones],
        "address": plain(item.address),
        "offence": item.offence,
        "notes": item.notes,
        "compliance": result.to_api(),
        "progress_reports": progress_of(item, tz, now).to_api(),
        "stage_reviews": reviews_of(item, tz, now).to_api(),
        "open_escalation_id": item.open_escalation_id,
        "pending_transfer_id": item.pending_transfer_id,
        "reminders_enabled": item.reminders_enabled is not False,
        "version": int(item.version),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


# What a list answers per client: enough for a caseload list (who, where, how they are doing), nothing of the
# record a list has no use for: no phone numbers, no street address or home GPS, no offence, no notes. The
# full record is `GET /v1/clients/{id}` (audited for coordinators and admins).
SUMMARY_FIELDS = ("id", "bapas_id", "name", "program", "supervision_start", "supervision_end", "stage", "officer",
                  "checkin_interval_days", "compliance", "progress_reports", "stage_reviews", "open_escalation_id",
                  "version", "updated_at")


def to_summary(item: ClientModel, tz: str, now: datetime) -> dict[str, Any]:
    full = to_api(item, tz, now, periods=False)
    out = {k: full[k] for k in SUMMARY_FIELDS}
    out["village_code"] = full["address"]["village_code"]
    out["village_name"] = full["address"].get("village_name")
    return out


def _address(body_address: Any) -> dict[str, Any]:
    data = body_address.model_dump(mode="json", exclude_none=True)
    data["village_name"] = lookup_village(data["village_code"]).name
    return data


# ----- rules that need the directory ----------------------------------------------------------------

def _check_officer(username: str, bapas_id: str) -> None:
    officer = DIRECTORY.officer(username)
    if officer is None or not officer.is_pk:
        raise field_error("officer", "is not a PK (Pembimbing Kemasyarakatan) in the user pool")
    if officer.bapas_id != bapas_id:
        raise field_error("officer", "is not a PK of this Bapas")


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise validation_failed([FieldError("supervision_end", "must not be before supervision_start")])


# ----- use cases -----------------------------------------------------------------------------------

def default_tracking_from(start: date, end: date, now: datetime, tz: str) -> date:
    """The local date of registration, clamped into the supervision period."""
    return min(max(local_today(now, tz), start), end)


def _check_tracking_from(tracking: date, start: date, end: date) -> None:
    if not start <= tracking <= end:
        raise field_error("tracking_from", "must be a date of the supervision period "
                                           f"({start.isoformat()} to {end.isoformat()})")


def _decree(sk_number: str | None, sk_date: date | None) -> dict[str, str] | None:
    """The first period's decree (SK), when the registration names it."""
    decree = {"sk_number": sk_number, "sk_date": sk_date.isoformat() if sk_date else None}
    return {k: v for k, v in decree.items() if v is not None} or None


def create_client(p: Principal, body: ClientCreate, now: datetime) -> Saved:
    _check_period(body.supervision_start, body.supervision_end)
    if body.tracking_from is not None:
        _check_tracking_from(body.tracking_from, body.supervision_start, body.supervision_end)
    _check_officer(body.officer, p.bapas_id)
    tz = BAPAS.timezone(p.bapas_id)
    tracking = body.tracking_from or default_tracking_from(body.supervision_start, body.supervision_end, now, tz)
    interval = body.checkin_interval_days or default_interval(body.program)
    client_id = str(body.id or uuid.uuid4())
    request_hash = canonical_hash(body.model_dump(mode="json", exclude={"id"}))
    stamp = to_rfc3339(now)
    item = ClientModel(
        client_id,
        bapas_id=p.bapas_id,
        officer=body.officer,
        officer_key=f"{p.bapas_id}#{body.officer}",
        name=body.name,
        name_key=name_key(body.name, client_id),  # the name search (bapas-name-index)
        program=body.program.value,
        supervision_start=body.supervision_start.isoformat(),
        supervision_end=body.supervision_end.isoformat(),
        end_month=body.supervision_end.isoformat()[:7],  # the retention index (services/retention.py)
        checkin_interval_days=interval,
        tracking_from=tracking.isoformat(),
        schedule=[{"from": body.supervision_start.isoformat(), "checkin_interval_days": interval,
                   "program": body.program.value, "changed_on": local_today(now, tz).isoformat()}],
        period=_decree(body.sk_number, body.sk_date),
        phones=[ph.model_dump(mode="json", exclude_none=True) for ph in body.phones],
        address=_address(body.address),
        village_code=body.address.village_code,
        offence=body.offence,
        notes=body.notes,
        version=1,
        created_at=stamp,
        updated_at=stamp,
        request_hash=request_hash,
        contacts=[],
    )
    item.due_shard, item.due_at = due_fields(client_id, evaluate_client(item, tz, now))
    try:
        with transaction() as tx:
            tx.save(item, condition=ClientModel.client_id.does_not_exist())
            tx.save(audit_entry(p, client_entity(client_id), "client.create", now, version=1))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        existing = _get(client_id)
        if existing is None:
            raise
        if existing.request_hash == request_hash and existing.bapas_id == p.bapas_id:
            return Saved(to_api(existing, tz, now), Written.REPLAYED)  # a retry of the same registration
        if existing.bapas_id != p.bapas_id:
            raise conflict("A record with this id already exists.") from None
        raise conflict("A client with this id exists with different data.") from None
    return Saved(to_api(item, tz, now), Written.CREATED)


def _get(client_id: str) -> ClientModel | None:
    return get_or_none(ClientModel, client_id, consistent_read=True)


def load_client(p: Principal, client_id: str, write: bool = False) -> ClientModel:
    """The client, if the caller may see it (write: and change it); else 404/403."""
    try:
        uuid.UUID(client_id)
    except ValueError:
        raise not_found("Client") from None
    item = _get(client_id)
    if item is None:
        raise not_found("Client")
    (check_client_write if write else check_client_read)(p, item.bapas_id, item.officer)
    if not write and read_is_audited(p):
        audit_read(p, client_id)
    return item


def audit_read(p: Principal, client_id: str) -> None:
    """A coordinator's or admin's read of a client's record is audited (who, when, request id; no values).

    Fail closed: if the entry cannot be written the read is refused (503 for a transient error). Reads go to
    their own partition (`client-read#<id>`) so the client's timeline shows changes, not every look at it.
    """
    from chalicelib.domain.timeutil import now_utc

    audit_entry(p, f"client-read#{client_id}", "client.read", now_utc()).save()


def get_client(p: Principal, client_id: str, now: datetime) -> dict[str, Any]:
    item = load_client(p, client_id)
    return to_api(item, BAPAS.timezone(item.bapas_id), now)


PATCHABLE = ("name", "program", "supervision_start", "supervision_end", "officer", "phones", "address", "offence",
             "notes", "checkin_interval_days", "reminders_enabled")


NOT_NULL = ("name", "program", "supervision_start", "supervision_end", "officer", "phones", "address",
            "tracking_from", "effective_from", "reminders_enabled")


def patch_client(p: Principal, client_id: str, expected_version: int, patch: ClientPatch,
                 now: datetime) -> dict[str, Any]:
    """Apply a merge-patch: check the version, validate, diff against the stored client, write the change."""
    item = load_client(p, client_id, write=True)
    if item.anonymised_at:
        # The retention run purged this client's personal data; a change now would bring some back where no
        # later run would ever purge it again (the client has left the retention index).
        raise conflict("This client's personal data was deleted at the end of the retention period; "
                       "the record can no longer be changed.")
    if int(item.version) != expected_version:
        raise precondition_failed(int(item.version))
    _refuse_nulls(patch)
    tz = BAPAS.timezone(item.bapas_id)
    changes = client_changes(item, patch)
    if "officer" in changes:
        _check_officer(changes["officer"], item.bapas_id)
    _check_period(*_period_after(item, changes))
    _check_periods(item, changes)
    changes.update(_tracking_changes(item, patch, changes))
    changes.update(cadence_changes(item, patch, changes, tz, now))
    _check_summarised_windows(item, changes, tz)
    if not changes:
        # Nothing changes (no write, same version), but the record goes back to the caller: audited like a read
        # (fail closed), under its own action so the audit shows the PATCH.
        audit_entry(p, f"client-read#{client_id}", "client.patch_unchanged", now).save()
        return to_api(item, tz, now)
    _write_changes(p, item, changes, expected_version, tz, now)
    fresh = _get(client_id)
    assert fresh is not None
    return to_api(fresh, tz, now)


def _check_periods(item: ClientModel, changes: dict[str, Any]) -> None:
    """After a program change the earlier periods are history: the supervision start (the first period's) stays,
    and the end (the current period's) stays after the day the current period's windows begin."""
    if "period" in changes and changes["period"] and changes["period"].get("sk_number") in {
            p.get("sk_number") for p in closed_periods(item) if p.get("sk_number")}:
        raise field_error("sk_number", "is the decree of an earlier period of this client")
    if not closed_periods(item):
        return
    if "supervision_start" in changes:
        raise field_error("supervision_start", "cannot change after a program change: the first period is closed "
                                               "(correct it with the decree of a new period instead)")
    current = current_period(item)
    if "supervision_end" in changes and changes["supervision_end"] < current["windows_from"]:
        raise field_error("supervision_end", f"must not be before {current['windows_from']}, when the current "
                                             f"period's check-in windows began")


def _refuse_nulls(patch: ClientPatch) -> None:
    for required in NOT_NULL:
        if required in patch.model_fields_set and getattr(patch, required) is None:
            raise field_error(required, "may not be null")


def client_changes(item: ClientModel, patch: ClientPatch) -> dict[str, Any]:
    """The stored attributes a PATCH changes, with those derived from them (officer_key, village_code,
    end_month, the program's default interval). Pure: reads nothing, validates nothing; empty when the
    patch changes nothing."""
    sent = patch.model_fields_set
    new: dict[str, Any] = {}
    if "officer" in sent and patch.officer != item.officer:
        new["officer"] = patch.officer
        new["officer_key"] = f"{item.bapas_id}#{patch.officer}"
    for simple in ("name", "offence", "notes"):
        if simple in sent and getattr(patch, simple) != getattr(item, simple):
            new[simple] = getattr(patch, simple)
    if "name" in new:
        new["name_key"] = name_key(new["name"], item.client_id)
    if "phones" in sent:
        new["phones"] = carry_state([plain(p) for p in item.phones],  # a kept number keeps its verification
                                    [ph.model_dump(mode="json", exclude_none=True) for ph in patch.phones])
    if "reminders_enabled" in sent and patch.reminders_enabled != (item.reminders_enabled is not False):
        new["reminders_enabled"] = patch.reminders_enabled
    if "address" in sent:
        new["address"] = _address(patch.address)
        new["village_code"] = patch.address.village_code
    new.update(_period_changes(item, patch))
    new.update(_interval_changes(item, patch))
    new.update(_decree_changes(item, patch))
    return new


def _decree_changes(item: ClientModel, patch: ClientPatch) -> dict[str, Any]:
    """A corrected decree (SK) number or date of the current period: its `period` map, rewritten whole."""
    sent = patch.model_fields_set & {"sk_number", "sk_date"}
    stored = plain(item.period) if item.period else {}
    wanted = dict(stored)
    for name in sent:
        value = getattr(patch, name)
        wanted[name] = value.isoformat() if isinstance(value, date) else value
    wanted = {k: v for k, v in wanted.items() if v is not None}
    return {"period": wanted or None} if wanted != stored else {}


def _period_changes(item: ClientModel, patch: ClientPatch) -> dict[str, Any]:
    sent = patch.model_fields_set
    new: dict[str, Any] = {}
    if "supervision_start" in sent and patch.supervision_start.isoformat() != item.supervision_start:
        new["supervision_start"] = patch.supervision_start.isoformat()
    if "supervision_end" in sent and patch.supervision_end.isoformat() != item.supervision_end:
        new["supervision_end"] = patch.supervision_end.isoformat()
        if item.anonymised_at is None:
            new["end_month"] = new["supervision_end"][:7]  # the retention index (services/retention.py)
    return new


def _interval_changes(item: ClientModel, patch: ClientPatch) -> dict[str, Any]:
    """A new program brings its default check-in interval, unless the patch sets one."""
    sent = patch.model_fields_set
    new: dict[str, Any] = {}
    if "program" in sent and patch.program.value != item.program:
        new["program"] = patch.program.value
        new["checkin_interval_days"] = default_interval(patch.program)
    if "checkin_interval_days" in sent and patch.checkin_interval_days is not None:
        new["checkin_interval_days"] = patch.checkin_interval_days
    if new.get("checkin_interval_days") == int(item.checkin_interval_days):
        new.pop("checkin_interval_days")
    return new


def _tracking_changes(item: ClientModel, patch: ClientPatch, changes: dict[str, Any]) -> dict[str, Any]:
    start, end = _period_after(item, changes)
    if "tracking_from" in patch.model_fields_set:
        assert patch.tracking_from is not None  # _refuse_nulls
        _check_tracking_from(patch.tracking_from, start, end)
        if patch.tracking_from.isoformat() != item.tracking_from:
            return {"tracking_from": patch.tracking_from.isoformat()}
    return {}


def cadence_changes(item: ClientModel, patch: ClientPatch, changes: dict[str, Any], tz: str,
                    now: datetime) -> dict[str, Any]:
    """A new program or interval takes effect from the local date of the change (or `effective_from`), never
    before the current window's first day: windows already closed keep their cadence and outcome, and new
    windows start on that date. Returns the new `schedule` (cadence history), or nothing."""
    sent = patch.model_fields_set
    new_cadence = "program" in changes or "checkin_interval_days" in changes
    if "effective_from" in sent and not new_cadence:
        raise field_error("effective_from", "applies only to a change of program or checkin_interval_days")
    if not new_cadence:
        return {}
    start, end = _period_after(item, changes)
    schedule = schedule_of(item, tz)  # as stored: its windows closed by now keep their cadence
    window = schedule.window_at(now)
    earliest = max(window.first_day, start) if window is not None else start
    if schedule.closes_at <= now:
        raise field_error("effective_from" if "effective_from" in sent else "checkin_interval_days",
                          "the supervision period has ended: its cadence can no longer change")
    frm = patch.effective_from if "effective_from" in sent else max(local_today(now, tz), start)
    assert frm is not None
    if frm < earliest:
        raise field_error("effective_from", f"must not be before {earliest.isoformat()}, the first day of the "
                                            "current check-in window (closed windows keep their cadence)")
    if frm > end:
        raise field_error("effective_from", "must not be after supervision_end")
    entry = {"from": frm.isoformat(),
             "checkin_interval_days": int(changes.get("checkin_interval_days", item.checkin_interval_days)),
             "program": changes.get("program", item.program), "changed_on": local_today(now, tz).isoformat()}
    kept = [e for e in cadence_of(item) if date.fromisoformat(e["from"]) < frm]
    # The entry a program change began on this very day keeps saying how the old period's last window ended.
    entry["previous_end"] = next((e["previous_end"] for e in cadence_of(item) if e["from"] == entry["from"]), None)
    if not kept:
        entry["from"] = start.isoformat()
    return {"schedule": [*kept, entry]}


class _Changed:
    """The client item as a PATCH would leave it (for `schedule_of`), without touching the item."""

    def __init__(self, item: ClientModel, changes: dict[str, Any]) -> None:
        self._item, self._changes = item, changes

    def __getattr__(self, name: str) -> Any:
        return self._changes[name] if name in self._changes else getattr(self._item, name)


def _check_summarised_windows(item: ClientModel, changes: dict[str, Any], tz: str) -> None:
    """Windows closed long ago are kept as a summary of their outcomes (domain/compaction.py), not as facts: a
    change that would move one of them (a new start, an end before them) cannot be applied exactly: 422."""
    if not item.contacts_summary or not changes:
        return
    changed: Any = _Changed(item, changes)
    if compaction.same_windows(schedule_of(item, tz), schedule_of(changed, tz), item.contacts_summary):
        return
    name = next((n for n in ("supervision_start", "checkin_interval_days", "supervision_end", "program")
                 if n in changes), sorted(changes)[0])
    raise validation_failed([FieldError(name, f"would move check-in windows that closed more than "
                                              f"{compaction.KEEP_DAYS} days ago; they can no longer change")])


def _period_after(item: ClientModel, changes: dict[str, Any]) -> tuple[date, date]:
    return (date.fromisoformat(changes.get("supervision_start", item.supervision_start)),
            date.fromisoformat(changes.get("supervision_end", item.supervision_end)))


# The stored attributes that define the check-in windows (and which of them can be missed: schedule_of) and the
# current period (period_bounds): what the compliance report's views are computed with.
WINDOW_FIELDS = frozenset({"supervision_start", "supervision_end", "checkin_interval_days", "tracking_from",
                           "schedule", "period"})


def report_view_actions(item: Any, tz: str, now: datetime) -> list[Any]:
    """The compliance report's views of the client (`report_summary`, `progress_summary`: tables.ClientReportIndex)
    recomputed from `item` as a write leaves it: for a write that changes `WINDOW_FIELDS` (the facts they
    summarise are unchanged, so no condition is needed beyond the write's own)."""
    actions = []
    if item.contacts_summary:
        view = compaction.report_view(schedule_of(item, tz), item.contacts_summary, now)
        actions.append(ClientModel.report_summary.set(view) if view else ClientModel.report_summary.remove())
    if item.progress_reports:
        actions.append(ClientModel.progress_summary.set(progress.view(*period_bounds(item), item.progress_reports,
                                                                      now)))
    return actions


def _write_changes(p: Principal, item: ClientModel, changes: dict[str, Any], expected_version: int, tz: str,
                   now: datetime) -> None:
    """One transaction: the client's changed attributes (if still at `expected_version`) and the audit entry;
    on a new officer also the moves of its open escalations and tasks (services/reassignment.py)."""
    work = reassignment.open_work(item.client_id, item.open_escalation_id) if "officer" in changes else None
    for name, value in changes.items():
        setattr(item, name, value)
    shard, due_at = due_fields(item.client_id, evaluate_client(item, tz, now))
    version = int(item.version) + 1
    actions = [getattr(ClientModel, k).set(v) for k, v in changes.items()]
    if WINDOW_FIELDS.intersection(changes):
        actions += report_view_actions(item, tz, now)
    actions += [ClientModel.version.set(version), ClientModel.updated_at.set(to_rfc3339(now))]
    actions += [ClientModel.due_shard.set(shard), ClientModel.due_at.set(due_at)] if shard else \
        [ClientModel.due_shard.remove(), ClientModel.due_at.remove()]
    client_update = ClientModel(item.client_id)
    audit = audit_entry(p, client_entity(item.client_id), "client.update", now, list(changes), version)
    try:
        with transaction() as tx:
            condition = ClientModel.version == expected_version
            if work is not None:  # the open escalation moved with it is still the client's (none opened meanwhile)
                condition &= ClientModel.open_escalation_id == item.open_escalation_id if item.open_escalation_id \
                    else ClientModel.open_escalation_id.does_not_exist()
                reassignment.move(tx, p, work, item.bapas_id, changes["officer"], now)
            tx.update(client_update, actions=actions, condition=condition)
            tx.save(audit)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        current = _get(item.client_id)
        raise precondition_failed(int(current.version) if current else expected_version) from None


def list_clients(p: Principal, params: dict[str, str], page: Page, now: datetime) -> dict[str, Any]:
    if "name" in params:
        if params.get("state") or params.get("village_code"):
            raise field_error("name", "is searched on its own (without state or village_code)")
        return search_clients(p, params, page, now)
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    officer = scoped_officer(p, params.get("officer"))
    state = params.get("state") or None  # a rules.State value: the route's declared enum (http.query_params)
    village = params.get("village_code") or None
    if village:
        try:
            village = lookup_village(village).code
        except UnknownVillage as exc:
            raise field_error("village_code", str(exc)) from None
    tz = BAPAS.timezone_or_none(bapas_id)  # scoped_bapas: the caller's own, or (admin) any name
    if tz is None:
        return {"items": [], "next_cursor": None}
    if officer:
        index, hash_name, hash_value = ClientModel.officer_index, "officer_key", f"{bapas_id}#{officer}"
    else:
        index, hash_name, hash_value = ClientModel.bapas_index, "bapas_id", bapas_id
    start_key = _start_key(page.cursor, hash_name, hash_value)
    condition = ClientModel.village_code == village if village else None
    results = index.query(hash_value, filter_condition=condition, last_evaluated_key=start_key,
                          page_size=min(MAX_ITEMS_READ_PER_LIST, max(page.limit, 50)))
    items: list[dict[str, Any]] = []
    last: ClientModel | None = None
    scanned = 0
    for item in results:
        scanned += 1
        last = item
        view = to_summary(item, tz, now)
        if state and view["compliance"]["state"] != state:
            if scanned >= MAX_ITEMS_READ_PER_LIST:
                break
            continue
        items.append(view)
        if len(items) >= page.limit or scanned >= MAX_ITEMS_READ_PER_LIST:
            break
    # PynamoDB rebuilds the key of the last item read when we stop mid-page.
    lek = results.last_evaluated_key if last is not None else None
    cursor = {"client_id": lek["client_id"]["S"], hash_name: hash_value} if lek else None
    audit_list(p, bapas_id, params, [v["id"] for v in items], now)
    return {"items": items, "next_cursor": encode_cursor(cursor)}


LIST_FILTERS = ("officer", "state", "village_code", "name", "bapas_id", "cursor", "limit")


def audit_list(p: Principal, bapas_id: str, params: dict[str, str], client_ids: list[str], now: datetime,
               what: str = "client", filters: tuple[str, ...] = LIST_FILTERS) -> None:
    """Every list read of clients' data is audited, whoever lists (one entry per page in `<what>-list#<bapas>`:
    who, when, the filters used by name, the ids of the clients answered; no values): client lists and searches,
    transfers (`what="transfer"`) and violations (`what="violation"`). Fail closed like a record read: no entry,
    no list (503)."""
    entry = audit_entry(p, f"{what}-list#{bapas_id}", f"{what}.list", now,
                        [name for name in filters if params.get(name)])
    entry.subjects = client_ids or None
    entry.save()
def search_clients(p: Principal, params: dict[str, str], page: Page, now: datetime) -> dict[str, Any]:
    """Clients whose name starts with `?name=` (folded: case and accents ignored), in name order: one Query of
    the `bapas-name-index` GSI a page (`begins_with` on the folded name), never a Scan. A PK (or `?officer=`)
    gets only that PK's clients (a filter on the same Query)."""
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    officer = scoped_officer(p, params.get("officer"))
    prefix = fold(params.get("name", ""))
    if not prefix:
        raise field_error("name", "must contain a letter or a digit")
    if len(prefix) > MAX_QUERY:
        raise field_error("name", f"must be at most {MAX_QUERY} characters")
    tz = BAPAS.timezone_or_none(bapas_id)  # scoped_bapas: the caller's own, or (admin) any name
    if tz is None:
        return {"items": [], "next_cursor": None}
    start_key = None
    if page.cursor is not None:
        key = page.cursor.get("name_key")
        if set(page.cursor) != {"client_id", "name_key"} or not isinstance(key, str) or \
                not key.startswith(prefix) or not isinstance(page.cursor.get("client_id"), str):
            raise field_error("cursor", "does not belong to this query")
        start_key = {"client_id": {"S": page.cursor["client_id"]}, "bapas_id": {"S": bapas_id},
                     "name_key": {"S": key}}
    condition = ClientModel.officer_key == f"{bapas_id}#{officer}" if officer else None
    results = ClientModel.name_index.query(bapas_id, ClientModel.name_key.startswith(prefix),
                                           filter_condition=condition, last_evaluated_key=start_key,
                                           page_size=min(MAX_ITEMS_READ_PER_LIST, max(page.limit, 50)))
    items: list[dict[str, Any]] = []
    last: ClientModel | None = None
    for scanned, item in enumerate(results, start=1):
        last = item
        items.append(to_summary(item, tz, now))
        if len(items) >= page.limit or scanned >= MAX_ITEMS_READ_PER_LIST:
            break
    lek = results.last_evaluated_key if last is not None else None
    cursor = {"client_id": lek["client_id"]["S"], "name_key": lek["name_key"]["S"]} if lek else None
    audit_list(p, bapas_id, params, [v["id"] for v in items], now)  # a search is a list read: audited too
    return {"items": items, "next_cursor": encode_cursor(cursor)}


def _start_key(cursor: dict[str, Any] | None, hash_name: str, hash_value: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    client_id = cursor.get("client_id")
    if set(cursor) != {"client_id", hash_name} or cursor.get(hash_name) != hash_value or not isinstance(client_id, str):
        raise field_error("cursor", "does not belong to this query")
    return {"client_id": {"S": client_id}, hash_name: {"S": hash_value}}

