"""The coordinator's and the PK's casework: escalations (list, read, resolve) and tasks (list).

Scoping follows `chalicelib.access`: a coordinator sees their Bapas, a PK only their own clients'
escalations and their own tasks, admin any Bapas (read-only, with `?bapas_id=`). Lists read one index
query per page: escalations by `state#opened_at` newest first, tasks by `state#due_date` soonest first.
Without `?state=` the open ones come first, then the resolved (done) ones; the cursor carries the phase.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.access import check_escalation, scoped_bapas, scoped_officer, visible_casework
from chalicelib.adapters.tables import (
    ClientModel,
    EscalationModel,
    NotificationModel,
    RecordModel,
    TaskModel,
    get_or_none,
)
from chalicelib.auth import Principal
from chalicelib.domain.followup import RESOLUTIONS
from chalicelib.domain.notices import short_ref
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import conflict, field_error, not_found
from chalicelib.paging import Page, encode_cursor
from chalicelib.services.common import audit_entry, condition_failed, transaction
from chalicelib.services.escalation import RECIPIENTS
from chalicelib.services.names import officer_name
from chalicelib.services.replies import responses_to_api

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.escalations import EscalationResolve

ESCALATION_STATES = ("open", "resolved")
TASK_STATES = ("open", "done")


# ----- representation ------------------------------------------------------------------------------

def notification_to_api(n: NotificationModel) -> dict[str, Any]:
    return {
        "recipient_role": n.recipient_role,
        "channel": n.channel,
        "to": n.to,
        # `sending` is a worker's claim: to the reader it is still pending until the outcome is recorded.
        "status": "pending" if n.status == "sending" else n.status,
        "text": n.text,  # the message exactly as sent (never logged)
        "send_after": n.send_after if n.status == "deferred" else None,
        "error": n.error if n.status in ("failed", "no_contact", "cancelled", "deferred") else None,
        "message_id": n.message_id,
        "attempts": int(n.attempts or 0),
        "updated_at": n.updated_at,
    }


def escalation_to_api(e: EscalationModel, notifications: list[NotificationModel]) -> dict[str, Any]:
    order = {r: i for i, r in enumerate(RECIPIENTS)}
    return {
        "id": e.escalation_id,
        "reference": short_ref(e.escalation_id),
        "client_id": e.client_id,
        "bapas_id": e.bapas_id,
        "reason": e.reason,
        "opened_at": e.opened_at,
        "consecutive_missed": int(e.consecutive_missed),
        "state": e.state,
        "notifications": [notification_to_api(n)
                          for n in sorted(notifications, key=lambda n: order.get(n.recipient, 9))],
        "episode_started_at": e.episode_started_at,
        "episode_ended_at": e.episode_ended_at,
        "officer": e.officer,
        "village_code": e.village_code,
        "village_name": e.village_name,
        "task_id": e.task_id,
        # A pre-1.1 escalation was resolved with free text: it reads as `other` (the text is not shown).
        "resolution": e.resolution if e.resolution in RESOLUTIONS or e.resolution is None else "other",
        "notes": e.notes,
        "resolved_by": e.resolved_by,
        "resolved_at": e.resolved_at,
        "responses": responses_to_api(e),
        "version": int(e.version),
    }


def task_to_api(t: TaskModel) -> dict[str, Any]:
    return {
        "id": t.task_id,
        "kind": t.kind,
        "client_id": t.client_id,
        "escalation_id": t.escalation_id,
        "bapas_id": t.bapas_id,
        "officer": t.officer,
        "village_code": t.village_code,
        "due_date": t.due_date,
        "state": t.state,
        "created_at": t.created_at,
        "closed_at": t.closed_at,
        "closed_reason": t.closed_reason,
        "version": int(t.version),
    }


def _notifications_of(escalation_ids: list[str]) -> dict[str, list[NotificationModel]]:
    """Every escalation's notifications with BatchGetItem (keys are known: one per recipient role)."""
    found: dict[str, list[NotificationModel]] = defaultdict(list)
    keys = [(eid, r) for eid in escalation_ids for r in RECIPIENTS]
    if keys:
        for n in NotificationModel.batch_get(keys):
            found[n.escalation_id].append(n)
    return found


# ----- listing ----------------------------------------------------------------------------------

def _scope(p: Principal, params: dict[str, str], states: tuple[str, ...]) -> tuple[str, str | None, list[str]]:
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    officer = scoped_officer(p, params.get("officer"))
    state = params.get("state") or None  # one of `states`: the route's declared enum (http.query_params)
    return bapas_id, officer, [state] if state else list(states)


def _phased_query(model: Any, range_name: str, id_name: str, bapas_id: str, officer: str | None,
                  states: list[str], page: Page, newest_first: bool) -> tuple[list[Any], dict[str, Any] | None]:
    """One state after another, each newest (or soonest) first, with a cursor that names the phase."""
    if officer:
        index, hash_name, hash_value = model.officer_index, "officer_key", f"{bapas_id}#{officer}"
    else:
        index, hash_name, hash_value = model.bapas_index, "bapas_id", bapas_id
    phase, start_key = states[0], None
    if page.cursor is not None:
        phase, start_key = _check_cursor(page.cursor, states, {id_name, hash_name, range_name}, hash_name, hash_value,
                                         range_name)
    range_attr = getattr(model, range_name)
    items: list[Any] = []
    for i, state in enumerate(states[states.index(phase):], start=states.index(phase)):
        results = index.query(hash_value, range_attr.startswith(f"{state}#"), scan_index_forward=not newest_first,
                              limit=page.limit - len(items), last_evaluated_key=start_key, page_size=page.limit)
        start_key = None
        items.extend(results)
        if len(items) >= page.limit:
            lek = results.last_evaluated_key
            if lek:
                return items, {"state": state, "key": {k: v["S"] for k, v in lek.items()}}
            nxt = states[i + 1] if i + 1 < len(states) else None
            return items, {"state": nxt, "key": None} if nxt else None
    return items, None


def _check_cursor(cursor: dict[str, Any], states: list[str], key_names: set[str], hash_name: str, hash_value: str,
                  range_name: str) -> tuple[str, dict[str, Any] | None]:
    state, key = cursor.get("state"), cursor.get("key")
    if set(cursor) != {"state", "key"} or state not in states:
        raise field_error("cursor", "does not belong to this query")
    if key is None:
        return state, None
    if not isinstance(key, dict) or set(key) != key_names or not all(isinstance(v, str) for v in key.values()) \
            or key[hash_name] != hash_value or not key[range_name].startswith(f"{state}#"):
        raise field_error("cursor", "does not belong to this query")
    return state, {k: {"S": v} for k, v in key.items()}


def list_escalations(p: Principal, params: dict[str, str], page: Page) -> dict[str, Any]:
    bapas_id, officer, states = _scope(p, params, ESCALATION_STATES)
    items, cursor = _phased_query(EscalationModel, "state_opened", "escalation_id", bapas_id, officer, states, page,
                                  newest_first=True)
    clients = _ClientFacts()
    items = visible_casework(p, items, clients.officers)
    notes = _notifications_of([e.escalation_id for e in items])
    return {"items": _named([escalation_to_api(e, notes.get(e.escalation_id, [])) for e in items], clients),
            "next_cursor": encode_cursor(cursor)}


def list_tasks(p: Principal, params: dict[str, str], page: Page) -> dict[str, Any]:
    bapas_id, officer, states = _scope(p, params, TASK_STATES)
    items, cursor = _phased_query(TaskModel, "state_due", "task_id", bapas_id, officer, states, page,
                                  newest_first=False)
    clients = _ClientFacts()
    items = visible_casework(p, items, clients.officers)
    return {"items": _named([task_to_api(t) for t in items], clients), "next_cursor": encode_cursor(cursor)}


class _ClientFacts:
    """The current PK and the name of a page's clients, read once: one BatchGetItem a page serves both the PK's
    visibility check and the names on the items."""

    def __init__(self) -> None:
        self._read: dict[str, tuple[str | None, str | None]] = {}

    def _load(self, client_ids: set[str]) -> None:
        missing = sorted(set(client_ids) - set(self._read))
        if missing:
            for c in ClientModel.batch_get(missing, attributes_to_get=["client_id", "officer", "name"]):
                self._read[c.client_id] = (c.officer, c.name)

    def officers(self, client_ids: set[str]) -> dict[str, str]:
        self._load(client_ids)
        return {cid: self._read[cid][0] for cid in client_ids if cid in self._read and self._read[cid][0]}

    def names(self, client_ids: set[str]) -> dict[str, str]:
        self._load(client_ids)
        return {cid: self._read[cid][1] for cid in client_ids if cid in self._read and self._read[cid][1]}


def _named(items: list[dict[str, Any]], clients: _ClientFacts | None = None) -> list[dict[str, Any]]:
    """Add the client's and the PK's names for readers (one BatchGetItem a page, shared with the visibility
    check; PK names from the directory)."""
    names = (clients or _ClientFacts()).names({i["client_id"] for i in items})
    return [{**i, "client_name": names.get(i["client_id"]), "officer_name": officer_name(i["officer"])}
            for i in items]


# ----- one escalation ------------------------------------------------------------------------------

def _load(p: Principal, escalation_id: str, write: bool = False) -> EscalationModel:
    try:
        uuid.UUID(escalation_id)
        e = EscalationModel.get(escalation_id, consistent_read=True)
    except (ValueError, EscalationModel.DoesNotExist):
        raise not_found("Escalation") from None
    check_escalation(p, e.bapas_id, e.officer, lambda: _current_officer(e.client_id), write=write)
    return e


def _current_officer(client_id: str) -> str | None:
    client = get_or_none(ClientModel, client_id)
    return client.officer if client else None


def get_escalation(p: Principal, escalation_id: str) -> dict[str, Any]:
    e = _load(p, escalation_id)
    return _named([escalation_to_api(e, _notifications_of([e.escalation_id]).get(e.escalation_id, []))])[0]


def resolve_escalation(p: Principal, escalation_id: str, body: EscalationResolve, now: datetime) -> dict[str, Any]:
    e = _load(p, escalation_id, write=True)
    if e.state != "open":
        raise conflict("This escalation is already resolved.")
    stamp = to_rfc3339(now)
    version = int(e.version) + 1
    client = get_or_none(ClientModel, e.client_id, consistent_read=True)
    task = get_or_none(TaskModel, e.task_id, consistent_read=True) if e.task_id else None
    referred = None
    if body.resolution == "violation_referred" and client is not None:
        from chalicelib.services.violations import referral  # it reads this module's notifications

        referred = referral(p, client, e, body.notes, now)  # the violation it opens, in this transaction
    actions = [EscalationModel.state.set("resolved"),
               EscalationModel.state_opened.set(f"resolved#{e.opened_at}#{e.escalation_id}"),
               EscalationModel.resolution.set(body.resolution),
               EscalationModel.notes.set(body.notes) if body.notes else EscalationModel.notes.remove(),
               EscalationModel.resolved_by.set(p.username), EscalationModel.resolved_at.set(stamp),
               EscalationModel.version.set(version)]
    try:
        with transaction() as tx:
            tx.update(EscalationModel(e.escalation_id), actions=actions,
                      condition=(EscalationModel.state == "open") & (EscalationModel.version == e.version))
            client_actions = [referred[2]] if referred else []
            if client is not None and client.open_escalation_id == e.escalation_id:
                tx.update(ClientModel(e.client_id), actions=[ClientModel.open_escalation_id.remove(), *client_actions],
                          condition=ClientModel.open_escalation_id == e.escalation_id)
            elif client_actions:
                tx.update(ClientModel(e.client_id), actions=client_actions, condition=ClientModel.client_id.exists())
            if referred:
                tx.save(referred[0], condition=RecordModel.record_key.does_not_exist())
                tx.save(referred[1])
            if task is not None and task.state == "open":
                tx.update(TaskModel(task.task_id), condition=TaskModel.state == "open", actions=[
                    TaskModel.state.set("done"), TaskModel.state_due.set(f"done#{task.due_date}#{task.task_id}"),
                    TaskModel.closed_at.set(stamp), TaskModel.closed_reason.set("escalation_resolved"),
                    TaskModel.version.set(int(task.version) + 1)])
            tx.save(audit_entry(p, f"escalation#{e.escalation_id}", "escalation.resolve", now,
                                ["state", "resolution", "notes"], version))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # throttling or a conflicting transaction: the route answers 503 with Retry-After
        current = EscalationModel.get(e.escalation_id, consistent_read=True)
        if current.state != "open":
            raise conflict("This escalation is already resolved.") from None
        raise conflict("The escalation changed at the same time; read it and try again.") from None
    return get_escalation(p, e.escalation_id)
