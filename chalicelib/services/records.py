"""Field records made offline by the app: check-ins and home visits, and the photo uploads they reference.

A record is created with `PUT` on an id the app chose, so a retry can never duplicate it:

- one DynamoDB `TransactWriteItems` per PUT writes the record (only if its key does not exist yet), the audit
  entry, and the compliance fact appended to the client item (`contacts`, plus `due_at` for a dead phone so
  the daily escalation run looks at the client). Either all three are written or none is.
- the body is compared by `canonical_hash` of its validated, normalised form: the same body again is 200 with
  the stored response (byte for byte the first one), another body on that id is 409 and changes nothing.
  Concurrent duplicates race on the transaction's `attribute_not_exists` condition: one wins, the others find
  the winner's record and answer as a replay.
- photos are upload keys under the client's `pending/` prefix (`POST /v1/uploads`); each must exist (one HEAD).
  The record stores their permanent `photos/` keys and the objects are copied there after the transaction
  (see `adapters/storage.py`); a replay re-checks the copies, so a copy interrupted by a crash is finished by
  the app's retry.
- an upload is single-use: the transaction also writes one claim per photo (an append-only audit-table item
  `upload#<pending key>` / `claim`, only if absent), so a second record referencing the same key is 409 on
  `photos[i]` and writes nothing. The record keeps the version and ETag of each upload it checked; the copy
  takes exactly that version and never overwrites a kept photo (`storage.keep`).

Requests per first PUT: DynamoDB 1 GetItem (client) + 1 TransactWriteItems; S3 1 HEAD + 1 CopyObject per photo,
and for a visit 1 ranged GET per JPEG photo (EXIF evidence).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import size

from chalicelib.access import bound_officer
from chalicelib.adapters import storage
from chalicelib.adapters.aws_errors import is_transient
from chalicelib.adapters.tables import (
    AuditModel,
    ClientModel,
    EscalationModel,
    RecordModel,
    TaskModel,
    get_or_none,
    plain,
    record_kind_time,
    record_time_key,
)
from chalicelib.auth import Principal
from chalicelib.domain import compaction, compliance, geo, progress, reviews
from chalicelib.domain.clients import Stage, local_today, stage_on
from chalicelib.domain.photo_evidence import EXIF_PREFIX_BYTES, evaluate_photo
from chalicelib.domain.photos import MAX_PHOTO_BYTES
from chalicelib.domain.timeutil import parse_rfc3339, to_rfc3339
from chalicelib.domain.workload import Fact
from chalicelib.errors import FieldError, Problem, conflict, field_error, unavailable, validation_failed
from chalicelib.obs import logger
from chalicelib.paging import Page, encode_cursor
from chalicelib.services.clients import (
    bounds_on,
    due_fields,
    evaluate_client,
    load_client,
    period_bounds,
    schedule_of,
)
from chalicelib.services.common import BAPAS, audit_entry, canonical_hash, transaction
from chalicelib.services.phones import inactive_update
from chalicelib.services.results import Saved, Written

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.lifecycle import StageReviewBody
    from chalicelib.schemas.photos import UploadRequest
    from chalicelib.schemas.records import CheckinBody, VisitBody
    from chalicelib.schemas.reports import ProgressReportBody

CHECKIN, VISIT, PROGRESS, STAGE_REVIEW, VIOLATION = "checkin", "visit", "progress_report", "stage_review", \
    "violation"
KINDS = (CHECKIN, VISIT, PROGRESS, STAGE_REVIEW, VIOLATION)
# What a kind adds to its stored response once the client is known (a violation's evidence: services/violations.py).
Enrich = Callable[[ClientModel, str, datetime], dict[str, Any]]
FUTURE_SKEW = timedelta(minutes=5)
_RECORD_ID_MESSAGE = "must be a UUID (8-4-4-4-12 hexadecimal digits)"


def record_entity(client_id: str, record_key: str) -> str:
    """The audit entity of a field record: `record#<client_id>#<kind>#<id>`."""
    return f"record#{client_id}#{record_key}"


def parse_record_id(raw: str) -> str:
    """The record id in its canonical (lower-case, hyphenated) form; 422 on field `id` otherwise."""
    if len(raw) != 36:
        raise field_error("id", _RECORD_ID_MESSAGE)
    try:
        value = uuid.UUID(raw)
    except ValueError:
        raise field_error("id", _RECORD_ID_MESSAGE) from None
    if str(value) != raw.lower():
        raise field_error("id", _RECORD_ID_MESSAGE)
    return str(value)


@dataclass(frozen=True)
class _Draft:
    """What a PUT asks for, validated and normalised: the hash is of `body`."""

    kind: str
    record_id: str
    time_field: str
    at: datetime
    body: dict[str, Any]
    contact: compliance.ContactKind | None  # None for a progress report or a review: not a supervision contact
    fields_sent: tuple[str, ...]

    @property
    def record_key(self) -> str:
        return f"{self.kind}#{self.record_id}"

    @property
    def body_hash(self) -> str:
        return canonical_hash({"kind": self.kind, **self.body})

    @property
    def photos(self) -> list[str]:
        return list(self.body.get("photos") or [])


Draft = _Draft  # for kinds whose use cases live in their own module (services/violations.py)


def _checkin_draft(record_id: str, body: CheckinBody) -> _Draft:
    normal = {
        "occurred_at": to_rfc3339(body.occurred_at),
        "channel": body.channel,
        "outcome": body.outcome,
        "notes": body.notes or None,
        "photos": list(body.photos or []),
    }
    return _Draft(CHECKIN, record_id, "occurred_at", body.occurred_at, normal,
                  compliance.contact_kind(CHECKIN, outcome=body.outcome), tuple(sorted(body.model_fields_set)))


def _visit_draft(record_id: str, body: VisitBody) -> _Draft:
    normal = {
        "visited_at": to_rfc3339(body.visited_at),
        "location": {"lat": body.location.lat, "lon": body.location.lon, "accuracy_m": body.location.accuracy_m},
        "client_present": body.client_present,
        "met": [{"role": m.role, "name": m.name} for m in body.met or []],
        "notes": body.notes,
        "photos": list(body.photos or []),
    }
    return _Draft(VISIT, record_id, "visited_at", body.visited_at, normal,
                  compliance.contact_kind(VISIT, client_present=body.client_present),
                  tuple(sorted(body.model_fields_set)))


def _progress_draft(record_id: str, body: ProgressReportBody) -> _Draft:
    normal = {
        "stage": body.stage,
        "period_start": body.period_start.isoformat(),
        "period_end": body.period_end.isoformat(),
        "assessment_summary": body.assessment_summary,
        "criminogenic_factors": body.criminogenic_factors,
        "recommended_program": body.recommended_program,
        "submitted_at": to_rfc3339(body.submitted_at),
    }
    return _Draft(PROGRESS, record_id, "submitted_at", body.submitted_at, normal, None,
                  tuple(sorted(body.model_fields_set)))


def _stage_review_draft(record_id: str, body: StageReviewBody) -> _Draft:
    normal = {
        "stage": body.stage,
        "litmas": {"date": body.litmas.date.isoformat(), "summary": body.litmas.summary,
                   "recommendation": body.litmas.recommendation},
        "tpp_session": {"date": body.tpp_session.date.isoformat(), "decision": body.tpp_session.decision,
                        "notes": body.tpp_session.notes or None},
    }
    # `at` (the session's local midnight) is set once the client's time zone is known (`_put`).
    at = datetime.combine(body.tpp_session.date, time(0), tzinfo=ZoneInfo("UTC"))
    return _Draft(STAGE_REVIEW, record_id, "tpp_session.date", at, normal, None, tuple(sorted(body.model_fields_set)))


# ----- use cases -----------------------------------------------------------------------------------

def put_checkin(p: Principal, client_id: str, record_id: str, body: CheckinBody,
                now: datetime) -> Saved:
    return _put(p, client_id, _checkin_draft(parse_record_id(record_id), body), now)


def put_visit(p: Principal, client_id: str, record_id: str, body: VisitBody,
              now: datetime) -> Saved:
    return _put(p, client_id, _visit_draft(parse_record_id(record_id), body), now)


def put_progress_report(p: Principal, client_id: str, record_id: str, body: ProgressReportBody,
                        now: datetime) -> Saved:
    return _put(p, client_id, _progress_draft(parse_record_id(record_id), body), now)


def put_stage_review(p: Principal, client_id: str, record_id: str, body: StageReviewBody,
                     now: datetime) -> Saved:
    return _put(p, client_id, _stage_review_draft(parse_record_id(record_id), body), now)


def put_draft(p: Principal, client_id: str, draft: _Draft, now: datetime, enrich: Enrich | None = None) -> Saved:
    """A record of another module's kind through the same machinery (`services/violations.py`)."""
    return _put(p, client_id, draft, now, enrich)


def _put(p: Principal, client_id: str, draft: _Draft, now: datetime, enrich: Enrich | None = None) -> Saved:
    client = load_client(p, client_id, write=True)
    tz = BAPAS.timezone(client.bapas_id)
    if draft.kind == STAGE_REVIEW:
        session = date.fromisoformat(draft.body["tpp_session"]["date"])
        draft = replace(draft, at=datetime.combine(session, time(0), tzinfo=ZoneInfo(tz)))
    try:
        if draft.kind == STAGE_REVIEW:
            _check_review(draft, client, tz, now)
        else:
            _check_time(draft, client, tz, now)
        if draft.kind == PROGRESS:
            _check_report_period(draft, client, tz)
        objects = _check_photos(client, draft.photos)
    except Problem as problem:
        # A replay whose photos were meanwhile kept and expired, or whose client's period has since moved,
        # is still the same record: answer it as the replay it is.
        existing = _get_record(client_id, draft.record_key) if problem.status == 422 else None
        if existing is not None and existing.body_hash == draft.body_hash:
            return Saved(_replay(existing), Written.REPLAYED)
        raise

    response = _response(p, client, draft, objects, tz, now)
    if enrich is not None:
        response = {**response, **enrich(client, tz, now)}
    text = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
    record = RecordModel(
        client_id,
        draft.record_key,
        kind=draft.kind,
        kind_time=record_kind_time(draft.kind, draft.at, draft.record_id),
        time_key=record_time_key(draft.at, draft.kind, draft.record_id),  # the timeline
        bapas_id=client.bapas_id,
        body_hash=draft.body_hash,
        data=response,
        created_at=response["recorded_at"],
        created_by=p.username,
        version=1,
        response=text,
        kept_from=[f"{o.version_id or ''}|{o.etag or ''}" for o in objects] if objects else None,
    )
    claims = [_claim(p, o.key, draft.record_key, now) for o in objects]
    same_facts = None  # the condition a rewrite of the compliance facts needs (compaction)
    if draft.kind == PROGRESS:  # its fact for the due rule (domain/progress.py)
        fact = progress.fact(to_rfc3339(draft.at), *_report_period(draft), draft.record_key)
        actions = [ClientModel.progress_reports.set((ClientModel.progress_reports | []).append([fact]))]
        # The compliance report's bounded view of them (tables.ClientReportIndex), from the list just read: on
        # the condition that no other report was added meanwhile (then the app's retry reads the new list).
        facts = [*(client.progress_reports or []), fact]
        actions.append(ClientModel.progress_summary.set(progress.view(*period_bounds(client), facts, now)))
        same_facts = (size(ClientModel.progress_reports) == len(facts) - 1) if len(facts) > 1 else (
            ClientModel.progress_reports.does_not_exist() | (size(ClientModel.progress_reports) == 0))
    elif draft.kind == STAGE_REVIEW:  # its fact for the due rule (domain/reviews.py)
        fact = reviews.fact(response["recorded_at"], draft.body["stage"], draft.record_key)
        actions = [ClientModel.stage_reviews.set((ClientModel.stage_reviews | []).append([fact]))]
    elif draft.kind == VIOLATION:  # open until its outcome is recorded
        actions = [ClientModel.open_violations.add({draft.record_id})]
    else:
        fact = Fact(draft.at, draft.contact, draft.record_key).to_text()
        actions, same_facts = _fact_actions(client, tz, fact, now)
    # Access was checked on the item just read; the condition makes sure it still holds when we write.
    still_allowed = ClientModel.client_id.exists() & (ClientModel.bapas_id == client.bapas_id)
    if same_facts is not None:
        still_allowed &= same_facts
    if officer := bound_officer(p):
        still_allowed &= ClientModel.officer == officer
    if draft.contact is compliance.ContactKind.INACTIVE:
        shard, _ = due_fields(client_id, evaluate_client(client, tz, now))
        if shard is not None:  # a period that has ended has no window left to escalate in
            # The run looks again when the episode's grace period ends (offline records may end it first).
            due = draft.at + BAPAS.grace(client.bapas_id)
            actions += [ClientModel.due_shard.set(shard), ClientModel.due_at.set(to_rfc3339(due))]
        # The number called is dead: the guarantor's for a call through them, else the client's own.
        owner = "guarantor" if draft.body.get("channel") == "guarantor_phone" else "client"
        phone_actions, same_phones = inactive_update(client, draft.at, owner=owner)
        actions += phone_actions
        if same_phones is not None:
            still_allowed &= same_phones
    audit = audit_entry(p, record_entity(client_id, draft.record_key), f"{draft.kind}.create", now,
                        list(draft.fields_sent), version=1)
    task = _task_closed_by(client, draft)
    try:
        with transaction() as tx:
            tx.save(record, condition=RecordModel.record_key.does_not_exist())
            tx.save(audit)
            tx.update(ClientModel(client_id), actions=actions, condition=still_allowed)
            for claim in claims:
                tx.save(claim, condition=AuditModel.entity.does_not_exist())
            if task is not None:  # the contact the home visit was to make has happened: the task is done
                version = int(task.version) + 1
                tx.save(audit_entry(p, f"task#{task.task_id}", "task.close", now,
                                    ["state", "closed_at", "closed_reason"], version))
                tx.update(TaskModel(task.task_id), condition=(TaskModel.state == "open") &
                          (TaskModel.version == task.version), actions=[
                    TaskModel.state.set("done"), TaskModel.state_due.set(f"done#{task.due_date}#{task.task_id}"),
                    TaskModel.closed_at.set(response["recorded_at"]),
                    TaskModel.closed_reason.set(f"{draft.kind}_counted"), TaskModel.version.set(version)])
        # PynamoDB sends the puts before the updates: record, audit entry, claims, (the task's audit entry,) then
        # the client (and the task); _after_cancel reads the cancellation reasons by that position.
    except TransactWriteError as exc:
        return Saved(_after_cancel(p, client_id, draft, exc, closes_task=task is not None), Written.REPLAYED)
    _keep_photos(response.get("photos", []), response.get("stored_photos", []), record.kept_from, replay=False)
    logger.info("record created", extra={"kind": draft.kind, "record_id": draft.record_id,
                                         "photos": len(draft.photos)})
    return Saved(json.loads(text), Written.CREATED)


def _fact_actions(client: ClientModel, tz: str, fact: str, now: datetime) -> tuple[list[Any], Any]:
    """The client update for a new compliance fact, and the condition it needs (None: none).

    Usually the fact is appended. When windows have closed more than `KEEP_DAYS` ago since the last compaction,
    or the fact belongs to a compacted window (a late offline record), the facts of those windows are folded
    into `contacts_summary` (domain/compaction.py) and `contacts` is rewritten from the item just read, on the
    condition that no other write changed either meanwhile (if one did, the transaction is cancelled and the
    app's retry of the same PUT finds the new item)."""
    texts = list(client.contacts or [])
    schedule = schedule_of(client, tz)
    plan = compaction.plan_fact(schedule, client.contacts_summary, texts, fact, now)
    if not plan.rewrites:
        return [ClientModel.contacts.set((ClientModel.contacts | []).append([fact]))], None
    summary, view = ClientModel.contacts_summary, ClientModel.report_summary
    actions = [ClientModel.contacts.set(plan.contacts), summary.set(plan.summary) if plan.summary else summary.remove()]
    # The report's bounded view of the summary, with it (tables.ClientReportIndex).
    view_text = compaction.report_view(schedule, plan.summary, now)
    actions.append(view.set(view_text) if view_text else view.remove())
    same = (size(ClientModel.contacts) == len(texts)) if texts else (
        ClientModel.contacts.does_not_exist() | (size(ClientModel.contacts) == 0))
    same &= (ClientModel.contacts_summary == client.contacts_summary) if client.contacts_summary else \
        ClientModel.contacts_summary.does_not_exist()
    return actions, same


def _task_closed_by(client: ClientModel, draft: _Draft) -> TaskModel | None:
    """The open home-visit task this record closes: a counted contact (a completed check-in, a visit that found
    the client present) made since the unreachable episode of the client's open escalation began.

    Two GetItems, only for a counted contact of a client with an open escalation (rare)."""
    if draft.contact is not compliance.ContactKind.COUNTED or not client.open_escalation_id:
        return None
    try:
        escalation = EscalationModel.get(client.open_escalation_id, consistent_read=True)
        task = TaskModel.get(escalation.task_id, consistent_read=True) if escalation.task_id else None
    except (EscalationModel.DoesNotExist, TaskModel.DoesNotExist):
        return None
    if task is None or task.state != "open" or draft.at < parse_rfc3339(escalation.episode_started_at):
        return None  # a contact from before the episode does not end it
    return task


def _after_cancel(p: Principal, client_id: str, draft: _Draft, exc: TransactWriteError,
                  closes_task: bool = False) -> dict[str, Any]:
    """The transaction was refused: an existing record (replay or conflict), lost access, or a busy table."""
    reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
    if not reasons:
        raise exc  # not a cancellation (throttling, network ...): the route maps transient codes to 503
    if closes_task:  # [..., claims, task audit, client, task]: a task closed meanwhile is a retry (503) away
        reasons = [*reasons[:-3], reasons[-2]] if len(reasons) > 4 else reasons
    record_failed, client_failed = reasons[0], reasons[-1] if len(reasons) > 2 else None
    claim_reasons = reasons[2:-1]
    if record_failed == "ConditionalCheckFailed" or any(is_transient(r) for r in reasons):
        existing = _get_record(client_id, draft.record_key)
        if existing is not None:
            if existing.body_hash != draft.body_hash:
                raise conflict(f"A {draft.kind} with this id exists with different data.") from None
            return _replay(existing)
    used = [FieldError(f"photos[{i}]", "this upload belongs to another record already; upload the photo again")
            for i, reason in enumerate(claim_reasons) if reason == "ConditionalCheckFailed"]
    if used:
        raise Problem(409, "conflict", "Conflict", "A photo of this record is part of another record already.",
                      used) from None
    if client_failed == "ConditionalCheckFailed":
        load_client(p, client_id, write=True)  # 403/404 when the client was reassigned or removed meanwhile
    logger.warning("record transaction cancelled", extra={"kind": draft.kind, "reasons": reasons})
    if not any(r == "ConditionalCheckFailed" or is_transient(r) for r in reasons):
        raise exc  # e.g. ValidationError: sending it again cannot help, so not a 503 (the route logs a 500)
    raise unavailable() from None


def _replay(existing: RecordModel) -> dict[str, Any]:
    body = json.loads(existing.response)
    _keep_photos(body.get("photos", []), body.get("stored_photos", []), existing.kept_from, replay=True)
    return body


def upload_claim_entity(pending_key: str) -> str:
    return f"upload#{pending_key}"


def _claim(p: Principal, pending_key: str, record_key: str, now: datetime) -> AuditModel:
    """The one claim on an upload (written only if absent): an append-only audit-table item naming the record."""
    claim = audit_entry(p, upload_claim_entity(pending_key), "photo.claim", now)
    claim.at_id = "claim"
    claim.target = record_key
    return claim


def _get_record(client_id: str, record_key: str) -> RecordModel | None:
    return get_or_none(RecordModel, client_id, record_key, consistent_read=True)


# ----- rules that need the client or the clock -----------------------------------------------------

def supervision_starts_at(client: ClientModel, tz: str) -> datetime:
    """Local midnight of the first supervision day, in the Bapas time zone."""
    start = datetime.fromisoformat(client.supervision_start).date()
    return datetime.combine(start, time(0), tzinfo=ZoneInfo(tz))


def _check_time(draft: _Draft, client: ClientModel, tz: str, now: datetime) -> None:
    if draft.at > now + FUTURE_SKEW:
        raise field_error(draft.time_field, "may not lie in the future (5 minutes of clock skew are allowed)")
    if draft.at < supervision_starts_at(client, tz):
        raise field_error(draft.time_field, f"may not be before the supervision start ({client.supervision_start})")


def _check_review(draft: _Draft, client: ClientModel, tz: str, now: datetime) -> None:
    """Both dates within the supervision and not in the future, the litmas not after the session, and the
    stage begun by the session's date."""
    litmas = date.fromisoformat(draft.body["litmas"]["date"])
    session = date.fromisoformat(draft.body["tpp_session"]["date"])
    start = date.fromisoformat(client.supervision_start)
    period_start, end = period_bounds(client)  # the stages are the current period's (services/programs.py)
    today = local_today(now, tz)
    errors = []
    for name, day in (("litmas.date", litmas), ("tpp_session.date", session)):
        if day > today:
            errors.append(FieldError(name, f"may not lie in the future (today is {today} in the Bapas time zone)"))
        elif day < start:
            errors.append(FieldError(name, f"may not be before the supervision start ({start})"))
    if not errors and session < litmas:
        errors.append(FieldError("tpp_session.date", "may not be before the litmas date"))
    first = reviews.stage_first_day(period_start, end, Stage(draft.body["stage"]))
    if first is None:
        errors.append(FieldError("stage", "is not a stage of this supervision period (too short to have it)"))
    elif not errors and session < first:
        errors.append(FieldError("stage", f"had not begun by the TPP session's date (it begins {first})"))
    if errors:
        raise validation_failed(errors)


def _report_period(draft: _Draft) -> tuple[date, date]:
    return date.fromisoformat(draft.body["period_start"]), date.fromisoformat(draft.body["period_end"])


def _check_report_period(draft: _Draft, client: ClientModel, tz: str) -> None:
    """The period lies within the supervision, ends by the submission date, and `stage` is its end's stage."""
    first, last = _report_period(draft)
    start = date.fromisoformat(client.supervision_start)
    stage_start, end = bounds_on(client, last)  # the stages of the period period_end belongs to
    errors = []
    if first < start:
        errors.append(FieldError("period_start", f"may not be before the supervision start ({start})"))
    if last < first:
        errors.append(FieldError("period_end", "may not be before period_start"))
    elif last > end:
        errors.append(FieldError("period_end", f"may not be after the supervision end ({end})"))
    elif last > draft.at.astimezone(ZoneInfo(tz)).date():
        errors.append(FieldError("period_end", "may not be after the submission date"))
    elif draft.body["stage"] != stage_on(stage_start, end, last).value:
        errors.append(FieldError("stage", f"must be {stage_on(stage_start, end, last).value}: the stage of "
                                          "period_end"))
    if errors:
        raise validation_failed(errors)


def _check_photos(client: ClientModel, keys: list[str]) -> list[storage.StoredObject]:
    """Every key was issued for this client and its object exists (one HEAD each); 422 on `photos[i]`."""
    errors: list[FieldError] = []
    parsed: list[tuple[int, storage.PendingKey]] = []
    for i, key in enumerate(keys):
        pending = storage.parse_pending_key(key)
        if pending is None or pending.bapas_id != client.bapas_id or pending.client_id != client.client_id:
            errors.append(FieldError(f"photos[{i}]", "is not an upload key issued for this client"))
        elif key in keys[:i]:
            errors.append(FieldError(f"photos[{i}]", "is listed twice"))
        else:
            parsed.append((i, pending))
    if errors:
        raise validation_failed(errors)
    objects = []
    for i, pending in parsed:
        found = storage.head(pending.key)
        if found is None:
            errors.append(FieldError(f"photos[{i}]", "no uploaded photo under this key (upload it first)"))
        elif found.size > MAX_PHOTO_BYTES or found.size < 1:
            errors.append(FieldError(f"photos[{i}]", "the uploaded photo is not 1 B to 10 MiB"))
        else:
            objects.append(found)
    if errors:
        raise validation_failed(errors)
    return objects


def _keep_photos(pending_keys: list[str], final_keys: list[str], kept_from: list[str] | None, replay: bool) -> None:
    """Copy the checked versions of referenced uploads to their permanent keys, after the record is written.
    503 if S3 fails: the app's retry of the same PUT is a replay, which finishes the copies."""
    sources = [tuple(v or None for v in s.split("|", 1)) for s in kept_from or []] or [(None, None)] * len(final_keys)
    try:
        for pending, final, (version_id, etag) in zip(pending_keys, final_keys, sources, strict=True):
            if not replay:
                storage.keep(pending, final, version_id, etag)
            elif not storage.ensure_kept(pending, final, version_id, etag):
                logger.error("photo lost before it was kept", extra={"key": final})
    except ClientError as exc:
        logger.warning("photo copy failed", extra={"aws_code": exc.response.get("Error", {}).get("Code")})
        raise unavailable("The record is saved but its photos are not stored yet; send the same request again.") \
            from None


# ----- representation ------------------------------------------------------------------------------

def _response(p: Principal, client: ClientModel, draft: _Draft, objects: list[storage.StoredObject], tz: str,
              now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"id": draft.record_id, "client_id": client.client_id, **draft.body}
    if draft.kind in (CHECKIN, VISIT):
        out["stored_photos"] = [storage.parse_pending_key(o.key).final_key for o in objects]  # type: ignore[union-attr]
    if draft.kind == VISIT:
        fix = draft.body["location"]
        distance, check = geo.check_location(_registered_location(client), (fix["lat"], fix["lon"]),
                                             fix["accuracy_m"])
        out["distance_m"] = distance
        out["location_check"] = check.value
        out["photo_evidence"] = [
            evaluate_photo(o.key, storage.read_prefix(o.key, o.size, EXIF_PREFIX_BYTES, o.version_id), draft.at,
                           fix["lat"], fix["lon"], tz).to_dict()
            for o in objects if o.content_type == "image/jpeg"
        ]
    out["recorded_by"] = p.username
    out["recorded_at"] = to_rfc3339(now)
    out["version"] = 1
    return out


def _registered_location(client: ClientModel) -> tuple[float, float] | None:
    location = plain(client.address or {}).get("location")
    if not location or location.get("lat") is None or location.get("lon") is None:
        return None
    return float(location["lat"]), float(location["lon"])


# ----- lists ---------------------------------------------------------------------------------------

def list_records(p: Principal, client_id: str, kind: str, page: Page) -> dict[str, Any]:
    """A client's records of one kind, newest first, through the `kind-time-index` LSI."""
    load_client(p, client_id)
    start_key = _start_key(page.cursor, client_id, kind)
    results = RecordModel.time_index.query(
        client_id, RecordModel.kind_time.startswith(f"{kind}#"), scan_index_forward=False,
        limit=page.limit + 1, page_size=page.limit + 1, last_evaluated_key=start_key,
    )
    rows = list(results)
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    items = [json.loads(r.response) for r in rows]
    cursor = {"kind_time": rows[-1].kind_time, "record_key": rows[-1].record_key} if more else None
    return {"items": items, "next_cursor": encode_cursor(cursor)}


def _start_key(cursor: dict[str, Any] | None, client_id: str, kind: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    kind_time, record_key = cursor.get("kind_time"), cursor.get("record_key")
    if set(cursor) != {"kind_time", "record_key"} or not isinstance(kind_time, str) or \
            not isinstance(record_key, str) or not kind_time.startswith(f"{kind}#") or \
            not record_key.startswith(f"{kind}#"):
        raise field_error("cursor", "does not belong to this query")
    return {"client_id": {"S": client_id}, "record_key": {"S": record_key}, "kind_time": {"S": kind_time}}


# ----- uploads -------------------------------------------------------------------------------------

def create_uploads(p: Principal, body: UploadRequest, now: datetime) -> dict[str, Any]:
    """Presigned POSTs for the files the app is about to upload, each to its own key under the client."""
    client = load_client(p, str(body.client_id), write=True)
    expires_at = to_rfc3339(now + timedelta(seconds=storage.UPLOAD_EXPIRY_SECONDS))
    uploads = []
    for f in body.files:
        key = storage.new_pending_key(client.bapas_id, client.client_id, f.content_type)
        post = storage.presign_upload(key, f.content_type)
        uploads.append({"key": key, "url": post["url"], "fields": post["fields"], "expires_at": expires_at})
    logger.info("uploads issued", extra={"client_id": client.client_id, "files": len(uploads)})
    return {"uploads": uploads}
