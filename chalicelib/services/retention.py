"""Retention: personal data of clients whose supervision ended long ago is deleted; the statistics stay.

The scheduled function `apply_retention` (daily; locally `make invoke fn=apply_retention time=<RFC 3339>`) finds
every client whose `supervision_end` lies more than `PANTAU_RETENTION_YEARS` (default 5) years before its time,
through the sparse `retention-index` GSI of the clients table (hash `end_month` = "YYYY-MM" of the supervision
end; keys only): one Query per month from `FIRST_MONTH` to the cut-off month, never a Scan. Each such client is
anonymised:

1. its photos are deleted from S3, every version (`photos/` and `pending/` prefixes of the client);
2. its records are scrubbed: notes, the names of the people met, photo keys and EXIF evidence go; visit GPS
   fixes are rounded to 0.01° (about 1 km); progress-report texts and the litmas and TPP texts of stage reviews
   are replaced;
3. escalation notes, pre-1.1 free-text resolutions and the notes of the village's answers (a new address,
   a remark) are replaced (resolution codes and the answers themselves stay); the stored text of every
   message sent to or about the client (SMS and topic messages name the client) is replaced, and the number of
   a message sent to the client or the guarantor removed (kept: kind, recipient role, status and times); the
   free-text reasons of its transfers between Bapas (a request's reason, a decline's reason) are replaced
   (kept: the Bapas, states and dates);
4. one transaction replaces the client's name, removes phones, address text and location, offence, notes and
   the registration hash, sets `anonymised_at`, removes `end_month` (so the client leaves the index) and
   writes the audit entry `client.anonymise` (field names only).

The notes of its supervision periods (program changes) are replaced too.

Kept, for the statistics: the ids, Bapas, officer, program, supervision dates and interval, the periods' programs,
decree (SK) numbers and dates, village code and name, the compliance facts (`contacts`, `progress_reports`),
every record's kind, time, channel, outcome, presence, distance and location check, and the escalations' reasons
and dates. Steps 1-3 are idempotent and
come before the client's transaction, so a run that stops half-way is finished by the next one.

Logs carry counts only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters import storage
from chalicelib.adapters.tables import (
    ClientModel,
    EscalationModel,
    NotificationModel,
    RecordModel,
    TransferModel,
    get_or_none,
    plain,
)
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain.followup import RESOLUTIONS
from chalicelib.domain.timeutil import now_utc, parse_rfc3339, to_rfc3339
from chalicelib.obs import logger, metrics
from chalicelib.services.common import audit_entry, transaction

REDACTED = "[dihapus]"
FIRST_MONTH = (2000, 1)  # no supervision ends earlier (schemas.Day)
STOP_WHEN_MS_LEFT = 30_000
CLIENT_FIELDS = ("name", "phones", "address.text", "address.location", "offence", "notes")
SYSTEM = "system"
PRIVATE_RECIPIENTS = ("client", "guarantor")  # a message's `to` is personal data for these recipient roles


def cutoff(as_of: datetime, years: int) -> date:
    """Supervisions that ended before this date are past retention."""
    day = as_of.date()
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def months_until(last: date) -> list[str]:
    year, month = FIRST_MONTH
    out = []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def run(as_of: datetime, remaining_ms: Callable[[], int] | None = None,
        years: int | None = None) -> dict[str, Any]:
    years = settings().retention_years if years is None else years
    limit = cutoff(as_of, years)
    stats: Counter[str] = Counter()
    stopped_early = False
    for month in months_until(limit):
        stats["months"] += 1
        for key in ClientModel.retention_index.query(month):
            item = _get(key.client_id)
            if item is None or item.supervision_end >= limit.isoformat():
                continue
            try:
                anonymise(item, as_of, stats)
            except Exception as exc:  # one client must not stop the others; it stays in the index for tomorrow
                stats["errors"] += 1
                logger.error("client not anonymised", extra={"client_id": item.client_id,
                                                             "error": type(exc).__name__})
            if remaining_ms is not None and remaining_ms() < STOP_WHEN_MS_LEFT:
                stopped_early = True
                break
        if stopped_early:
            break
    summary = {"as_of": to_rfc3339(as_of), "retention_years": years, "cutoff": limit.isoformat(),
               "stopped_early": stopped_early,
               **{k: stats[k] for k in ("months", "clients", "photos_deleted", "records_scrubbed",
                                        "escalations_scrubbed", "messages_scrubbed", "transfers_scrubbed",
                                        "errors")}}
    logger.info("retention run", extra=summary)
    metrics.add_metric(name="ClientsAnonymised", unit=MetricUnit.Count, value=stats["clients"])
    metrics.flush_metrics()
    return summary


def run_scheduled(event: Any) -> dict[str, Any]:
    """The EventBridge schedule: run as of the event's time (`make invoke fn=apply_retention time=...`)."""
    as_of = parse_rfc3339(event.time) if getattr(event, "time", None) else now_utc()
    context = getattr(event, "context", None)
    return run(as_of, getattr(context, "get_remaining_time_in_millis", None))


def _get(client_id: str) -> ClientModel | None:
    return get_or_none(ClientModel, client_id, consistent_read=True)


def anonymise(item: ClientModel, now: datetime, stats: Counter[str]) -> None:
    client_id, bapas_id = item.client_id, item.bapas_id
    for prefix in (storage.FINAL_PREFIX, storage.PENDING_PREFIX):
        for owner in dict.fromkeys([bapas_id, *(item.former_bapas or [])]):  # and the Bapas it was transferred from
            stats["photos_deleted"] += storage.delete_prefix(f"{prefix}{owner}/{client_id}/")
    for record in RecordModel.query(client_id, consistent_read=True):
        body = json.loads(record.response) if record.response else record.data.as_dict()
        clean = scrub_record(record.kind, body)
        if clean != body:
            record.data = clean
            record.response = json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
            record.save(condition=RecordModel.record_key.exists())
            stats["records_scrubbed"] += 1
    for e in EscalationModel.client_index.query(client_id):
        actions = []
        if e.notes is not None:
            actions.append(EscalationModel.notes.remove())
        if e.resolution not in (None, REDACTED, *RESOLUTIONS):  # a code stays; pre-1.1 free text goes
            actions.append(EscalationModel.resolution.set(REDACTED))
        answers = [r.as_dict() if hasattr(r, "as_dict") else dict(r) for r in e.responses or []]
        if any(a.get("notes") not in (None, REDACTED) for a in answers):  # a new address, a remark
            actions.append(EscalationModel.responses.set(
                [{**a, "notes": REDACTED} if a.get("notes") is not None else a for a in answers]))
        if actions:
            EscalationModel(e.escalation_id).update(actions=actions, condition=EscalationModel.escalation_id.exists())
            stats["escalations_scrubbed"] += 1
    for n in NotificationModel.client_index.query(client_id):
        actions = [attr.set(REDACTED) for attr, value in ((NotificationModel.text, n.text),
                                                         (NotificationModel.subject, n.subject))
                   if value not in (None, REDACTED)]
        if n.to and n.recipient_role in PRIVATE_RECIPIENTS:  # the client's or the guarantor's own number
            actions.append(NotificationModel.to.remove())
        if actions:
            NotificationModel(n.escalation_id, n.recipient).update(
                actions=actions, condition=NotificationModel.escalation_id.exists())
            stats["messages_scrubbed"] += 1
    for owner in dict.fromkeys([bapas_id, *(item.former_bapas or [])]):  # transfers out of each Bapas it was in
        for t in TransferModel.outgoing_index.query(owner, filter_condition=TransferModel.client_id == client_id):
            actions = [attr.set(REDACTED) for attr, value in ((TransferModel.reason, t.reason),
                                                             (TransferModel.decline_reason, t.decline_reason))
                       if value not in (None, REDACTED)]
            if actions:
                TransferModel(t.transfer_id).update(actions=actions, condition=TransferModel.transfer_id.exists())
                stats["transfers_scrubbed"] += 1
    address = plain(item.address or {})
    version = int(item.version) + 1
    actions = [
        ClientModel.name.set(REDACTED), ClientModel.name_key.remove(),  # out of the name search too
        ClientModel.phones.set([]), ClientModel.verification.remove(),  # the pending code's number too
        ClientModel.address.set({"text": REDACTED, "village_code": address.get("village_code", item.village_code),
                                 "village_name": address.get("village_name", item.village_code)}),
        ClientModel.offence.remove(), ClientModel.notes.remove(), ClientModel.request_hash.remove(),
        ClientModel.end_month.remove(), ClientModel.anonymised_at.set(to_rfc3339(now)),
        ClientModel.version.set(version), ClientModel.updated_at.set(to_rfc3339(now)),
    ]
    notes = _period_notes(item)
    actions += notes
    system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas_id)
    try:
        with transaction() as tx:
            tx.update(ClientModel(client_id), actions=actions, condition=ClientModel.version == item.version)
            tx.save(audit_entry(system, f"client#{client_id}", "client.anonymise", now,
                                [*CLIENT_FIELDS, *(["period notes"] if notes else [])], version))
    except TransactWriteError:
        stats["errors"] += 1  # changed meanwhile (or busy): still in the index, so tomorrow's run does it
        logger.warning("client changed during anonymisation", extra={"client_id": client_id})
        return
    stats["clients"] += 1


def _period_notes(item: ClientModel) -> list[Any]:
    """The notes of the client's supervision periods may name people: replaced. The program, decree numbers and
    dates are not personal data and stay (services/programs.py)."""
    actions = []
    current = plain(item.period) if item.period else {}
    if current.get("note"):
        actions.append(ClientModel.period.set({**current, "note": REDACTED}))
    closed = [plain(p) for p in item.periods or []]
    if any(p.get("note") for p in closed):
        actions.append(ClientModel.periods.set([{**p, "note": REDACTED} if p.get("note") else p for p in closed]))
    return actions


def scrub_record(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The record without its personal content; times, outcomes, presence and checks stay."""
    out = dict(body)
    if "notes" in out:
        out["notes"] = REDACTED if kind == "visit" else None
    for key in ("photos", "stored_photos", "photo_evidence"):
        if key in out:
            out[key] = []
    if isinstance(out.get("met"), list):
        out["met"] = [{**m, "name": None} for m in out["met"]]
    location = out.get("location")
    if isinstance(location, dict) and location.get("lat") is not None:
        out["location"] = {**location, "lat": round(float(location["lat"]), 2),
                           "lon": round(float(location["lon"]), 2)}
    for key in ("assessment_summary", "criminogenic_factors", "recommended_program"):
        if key in out:
            out[key] = REDACTED
    if isinstance(out.get("litmas"), dict):  # a stage review: its texts, not its dates or decision
        out["litmas"] = {**out["litmas"], "summary": REDACTED, "recommendation": REDACTED}
    if isinstance(out.get("tpp_session"), dict) and out["tpp_session"].get("notes") is not None:
        out["tpp_session"] = {**out["tpp_session"], "notes": REDACTED}
    if kind == "violation":  # its texts and the village's answers; dates, decisions and checks stay
        out["summary"] = REDACTED
        if out.get("outcome_notes") is not None:
            out["outcome_notes"] = REDACTED
        evidence = dict(out.get("evidence") or {})
        if isinstance(evidence.get("escalation"), dict):
            responses = [{**r, "notes": None} for r in evidence["escalation"].get("responses") or []]
            evidence["escalation"] = {**evidence["escalation"], "responses": responses}
        evidence["visits"] = [{**v, "photos": []} for v in evidence.get("visits") or []]
        out["evidence"] = evidence
    return out
