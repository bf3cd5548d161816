"""Violations: opened by a coordinator (or when an escalation is resolved as `violation_referred`), holding the
evidence, the BAP date, the TPP decision and the outcome; the timeline as a CSV for the letter to the Kanwil.

A violation is a field record of kind `violation` (`services/records.py`): created with an offline-safe PUT on an
id the app chose (201, the same body again 200 with the stored record, another body 409, concurrent duplicates
make one record), in one transaction with its audit entry and the client item's `open_violations` set. The
evidence is a snapshot taken then, from what the client item and the indexes hold: the closed windows without a
counted contact (the client's compliance facts, no record read), the escalation with its notifications and the
village's answers, and the home visits since the first of those windows with their photos and location checks.

What happens next is a `PATCH` with `If-Match` (the BAP date, the TPP session, the outcome): one transaction
rewrites the record only at the version read (PutItem with a condition), writes the audit entry and, when the
outcome is set, removes the id from the client's `open_violations` (the violation is closed). The record's stored
response is rewritten with it, so lists and replays show the current state.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.access import scoped_bapas, scoped_officer
from chalicelib.adapters.tables import (
    AuditModel,
    ClientModel,
    EscalationModel,
    RecordModel,
    record_kind_time,
    record_time_key,
)
from chalicelib.auth import Principal
from chalicelib.domain import violations as rules
from chalicelib.domain.clients import local_today
from chalicelib.domain.notices import short_ref
from chalicelib.domain.timeutil import now_utc, to_rfc3339
from chalicelib.errors import FieldError, conflict, field_error, not_found, precondition_failed, validation_failed
from chalicelib.paging import Page, encode_cursor
from chalicelib.services import records
from chalicelib.services.casework import _notifications_of, notification_to_api
from chalicelib.services.clients import audit_list, contacts_of, load_client, schedule_of
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.results import Saved

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.lifecycle import ViolationBody, ViolationPatch

MAX_WINDOWS = 20
MAX_VISITS = 50
MAX_CLIENTS_READ = 2000


def violation_id_for(escalation_id: str) -> str:
    """The violation an escalation resolved as `violation_referred` opens: one per escalation."""
    return str(uuid.uuid5(uuid.UUID(escalation_id), "violation"))


# ----- evidence -------------------------------------------------------------------------------------------

def _escalation_evidence(client: ClientModel, escalation_id: str) -> dict[str, Any]:
    try:
        e = EscalationModel.get(escalation_id, consistent_read=True)
    except EscalationModel.DoesNotExist:
        e = None
    if e is None or e.client_id != client.client_id:
        raise field_error("escalation_id", "is not an escalation of this client")
    notes = _notifications_of([e.escalation_id]).get(e.escalation_id, [])
    return {
        "id": e.escalation_id, "reference": short_ref(e.escalation_id), "reason": e.reason,
        "opened_at": e.opened_at, "consecutive_missed": int(e.consecutive_missed), "state": e.state,
        "resolution": e.resolution, "resolved_at": e.resolved_at, "resolved_by": e.resolved_by,
        "notifications": [{k: v for k, v in notification_to_api(n).items()
                           if k in ("recipient_role", "channel", "status", "updated_at")} for n in notes],
        "responses": _responses(e),
    }


def _responses(e: EscalationModel) -> list[dict[str, Any]]:
    """The village's answers to the reply links, as the escalation keeps them (issue 12's reply page)."""
    try:
        from chalicelib.services import replies  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - before the reply page exists
        return []
    to_api = getattr(replies, "responses_to_api", None)
    return [dict(r) for r in to_api(e)] if to_api else []


def _visits_since(client_id: str, since: datetime) -> list[dict[str, Any]]:
    start = f"{records.VISIT}#{since.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
    rows = RecordModel.time_index.query(client_id, RecordModel.kind_time.between(start, f"{records.VISIT}#~"),
                                        scan_index_forward=False, limit=MAX_VISITS, page_size=MAX_VISITS)
    out = []
    for row in rows:
        v = json.loads(row.response)
        out.append({"id": v["id"], "visited_at": v["visited_at"], "client_present": v["client_present"],
                    "distance_m": v.get("distance_m"), "location_check": v.get("location_check", "unknown"),
                    "photos": list(v.get("stored_photos") or []),
                    "photo_flags": sorted({f for e in v.get("photo_evidence") or [] for f in e.get("flags", [])}),
                    "recorded_by": v.get("recorded_by")})
    return sorted(out, key=lambda v: v["visited_at"])


def _evidence(client: ClientModel, tz: str, now: datetime, escalation_id: str | None) -> dict[str, Any]:
    missed = rules.missed_windows(schedule_of(client, tz), contacts_of(client), now)[-MAX_WINDOWS:]
    escalation = _escalation_evidence(client, escalation_id) if escalation_id else None
    since = missed[0].opens_at if missed else None
    if escalation is not None:
        opened = datetime.fromisoformat(escalation["opened_at"])
        since = min(since, opened) if since else opened
    return {
        "missed_windows": [{"first_day": w.first_day.isoformat(), "last_day": w.last_day.isoformat()}
                           for w in missed],
        "escalation": escalation,
        "visits": _visits_since(client.client_id, since) if since else [],
    }


# ----- use cases --------------------------------------------------------------------------------------------

def _draft(record_id: str, body: ViolationBody) -> records.Draft:
    normal = {"reported_at": to_rfc3339(body.reported_at), "summary": body.summary,
              "escalation_id": str(body.escalation_id) if body.escalation_id else None}
    return records.Draft(records.VIOLATION, record_id, "reported_at", body.reported_at, normal, None,
                         tuple(sorted(body.model_fields_set)))


def put_violation(p: Principal, client_id: str, record_id: str, body: ViolationBody, now: datetime) -> Saved:
    draft = _draft(records.parse_record_id(record_id), body)

    def enrich(client: ClientModel, tz: str, at: datetime) -> dict[str, Any]:
        return {"state": "open", "evidence": _evidence(client, tz, at, draft.body["escalation_id"]),
                "bap_date": None, "tpp_session": None, "outcome": None, "outcome_notes": None, "closed_at": None,
                "closed_by": None, "updated_at": None}

    return records.put_draft(p, client_id, draft, now, enrich)


def referral(p: Principal, client: ClientModel, escalation: EscalationModel, notes: str | None,
             now: datetime) -> tuple[RecordModel, AuditModel, Any]:
    """The violation an escalation resolved as `violation_referred` opens, to be written in the resolve's own
    transaction (`services/casework.py`): the record (only if new: its id comes from the escalation's), its audit
    entry and the client action that lists it among the open violations."""
    tz = BAPAS.timezone(client.bapas_id)
    record_id = violation_id_for(escalation.escalation_id)
    reason = rules.REASONS.get(escalation.reason, escalation.reason)
    summary = f"Diteruskan dari eskalasi {short_ref(escalation.escalation_id)}: {reason}."
    if notes:
        summary += f" {notes}"
    draft = records.Draft(records.VIOLATION, record_id, "reported_at", now,
                          {"reported_at": to_rfc3339(now), "summary": summary,
                           "escalation_id": escalation.escalation_id}, None, ("escalation_id", "summary"))
    evidence = _evidence(client, tz, now, escalation.escalation_id)
    # The escalation as this resolve leaves it.
    evidence["escalation"].update(state="resolved", resolution="violation_referred", resolved_at=to_rfc3339(now),
                                  resolved_by=p.username)
    stamp = to_rfc3339(now)
    response = {"id": record_id, "client_id": client.client_id, **draft.body, "recorded_by": p.username,
                "recorded_at": stamp, "version": 1, "state": "open", "evidence": evidence, "bap_date": None,
                "tpp_session": None, "outcome": None, "outcome_notes": None, "closed_at": None, "closed_by": None,
                "updated_at": None}
    record = RecordModel(client.client_id, draft.record_key, kind=records.VIOLATION,
                         kind_time=record_kind_time(records.VIOLATION, now, record_id),
                         time_key=record_time_key(now, records.VIOLATION, record_id), bapas_id=client.bapas_id,
                         body_hash=draft.body_hash, data=response, created_at=stamp, created_by=p.username, version=1,
                         response=json.dumps(response, ensure_ascii=False, separators=(",", ":")))
    audit = audit_entry(p, records.record_entity(client.client_id, draft.record_key), "violation.create", now,
                        ["escalation_id", "summary"], 1)
    return record, audit, ClientModel.open_violations.add({record_id})


def _record(client_id: str, record_id: str) -> RecordModel:
    try:
        uuid.UUID(record_id)
        return RecordModel.get(client_id, f"{records.VIOLATION}#{record_id}", consistent_read=True)
    except (ValueError, RecordModel.DoesNotExist):
        raise not_found("Violation") from None


def patch_violation(p: Principal, client_id: str, record_id: str, expected_version: int, patch: ViolationPatch,
                    now: datetime) -> dict[str, Any]:
    client = load_client(p, client_id, write=True)
    record = _record(client_id, record_id)
    if int(record.version) != expected_version:
        raise precondition_failed(int(record.version))
    current = json.loads(record.response)
    sent = patch.model_fields_set
    changes: dict[str, Any] = {}
    if "bap_date" in sent:
        changes["bap_date"] = patch.bap_date.isoformat() if patch.bap_date else None
    if "tpp_session" in sent:
        tpp = patch.tpp_session
        changes["tpp_session"] = {"date": tpp.date.isoformat(), "decision": tpp.decision,
                                  "notes": tpp.notes or None} if tpp else None
    if "outcome_notes" in sent:
        changes["outcome_notes"] = patch.outcome_notes or None
    if "outcome" in sent:
        if current["state"] == "closed" and patch.outcome != current["outcome"]:
            raise conflict("This violation is closed: its outcome is recorded.")
        changes["outcome"] = patch.outcome
    _check_dates(current, changes, now, BAPAS.timezone(client.bapas_id))
    changes = {k: v for k, v in changes.items() if current.get(k) != v}
    if not changes:
        return current
    stamp, version = to_rfc3339(now), int(record.version) + 1
    updated = {**current, **changes, "updated_at": stamp, "version": version}
    closing = current["state"] == "open" and updated.get("outcome") is not None
    if closing:
        updated.update(state="closed", closed_at=stamp, closed_by=p.username)
    record.data = updated
    record.response = json.dumps(updated, ensure_ascii=False, separators=(",", ":"))
    record.version = version
    still_allowed = ClientModel.bapas_id == client.bapas_id
    try:
        with transaction() as tx:
            tx.save(record, condition=RecordModel.version == expected_version)
            tx.save(audit_entry(p, records.record_entity(client_id, record.record_key), "violation.update", now,
                                list(changes), version))
            if closing:
                tx.update(ClientModel(client_id), actions=[ClientModel.open_violations.delete({record_id})],
                          condition=still_allowed)
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        load_client(p, client_id, write=True)
        raise precondition_failed(int(_record(client_id, record_id).version)) from None
    return updated


def _check_dates(current: dict[str, Any], changes: dict[str, Any], now: datetime, tz: str) -> None:
    today = local_today(now, tz)
    reported = local_today(datetime.fromisoformat(current["reported_at"]), tz)
    errors = []
    for name, day in (("bap_date", changes.get("bap_date")),
                      ("tpp_session.date", (changes.get("tpp_session") or {}).get("date"))):
        if day is None:
            continue
        if date.fromisoformat(day) > today:
            errors.append(FieldError(name, f"may not lie in the future (today is {today} in the Bapas time zone)"))
        elif date.fromisoformat(day) < reported:
            errors.append(FieldError(name, f"may not be before the violation was reported ({reported})"))
    if "outcome_notes" in changes and changes["outcome_notes"] and not (changes.get("outcome")
                                                                         or current.get("outcome")):
        errors.append(FieldError("outcome_notes", "needs an outcome"))
    if errors:
        raise validation_failed(errors)


def get_violation(p: Principal, client_id: str, record_id: str) -> dict[str, Any]:
    load_client(p, client_id)
    return json.loads(_record(client_id, record_id).response)


def timeline_csv(p: Principal, client_id: str, record_id: str) -> tuple[str, str]:
    """The CSV and its file name."""
    client = load_client(p, client_id)
    violation = json.loads(_record(client_id, record_id).response)
    text = rules.timeline_csv(rules.timeline(violation), BAPAS.timezone(client.bapas_id))
    return text, f"pelanggaran-{violation['reported_at'][:10]}-{record_id[:8]}.csv"


VIOLATION_FILTERS = ("officer", "bapas_id", "cursor", "limit")


def list_open(p: Principal, params: dict[str, str], page: Page) -> dict[str, Any]:
    """A Bapas's open violations (a PK: their clients'), from the clients' `open_violations` (index Query with a
    filter, then one GetItem per open violation)."""
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    officer = scoped_officer(p, params.get("officer"))
    if officer:
        index, hash_name, hash_value = ClientModel.officer_index, "officer_key", f"{bapas_id}#{officer}"
    else:
        index, hash_name, hash_value = ClientModel.bapas_index, "bapas_id", bapas_id
    start_key = None
    if page.cursor is not None:
        cid = page.cursor.get("client_id")
        if set(page.cursor) != {"client_id", hash_name} or page.cursor.get(hash_name) != hash_value \
                or not isinstance(cid, str):
            raise field_error("cursor", "does not belong to this query")
        start_key = {"client_id": {"S": cid}, hash_name: {"S": hash_value}}
    results = index.query(hash_value, filter_condition=ClientModel.open_violations.exists(),
                          last_evaluated_key=start_key, page_size=page.limit)
    items: list[dict[str, Any]] = []
    for read, client in enumerate(results, start=1):
        for vid in sorted(client.open_violations or []):
            items.append(json.loads(_record(client.client_id, vid).response))
        if len(items) >= page.limit or read >= MAX_CLIENTS_READ:
            break
    lek = results.last_evaluated_key
    cursor = {"client_id": lek["client_id"]["S"], hash_name: hash_value} if lek else None
    items.sort(key=lambda v: v["reported_at"], reverse=True)
    audit_list(p, bapas_id, params, list(dict.fromkeys(v["client_id"] for v in items)), now_utc(),
               what="violation", filters=VIOLATION_FILTERS)  # evidence about clients: audited like a client list
    return {"items": items, "next_cursor": encode_cursor(cursor)}
