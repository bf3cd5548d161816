"""Transfers between Bapas (dilimpahkan): the sending coordinator requests, the receiving one accepts or declines.

Who may do what
    The coordinator of the client's Bapas requests (`POST /v1/clients/{id}/transfer`); the coordinators of both
    Bapas (and admin, read-only) read the transfer; only the receiving coordinator accepts (naming a PK of their
    Bapas) or declines. Anyone else gets 404 for a transfer (its existence is not theirs to know).

Where the history lives
    A client's records (check-ins, visits, progress reports, stage reviews), its audit trail, its compliance facts
    and its photos are reached only through the client item: every read and write of them checks the caller
    against the client item's `bapas_id` and `officer` (`services/clients.load_client`), and a record's write is
    conditioned on the client item's `bapas_id` in the same transaction. So the unbounded part of the history
    moves by changing one attribute of one item, and nothing else needs rewriting: from the commit on, the
    sending Bapas gets 404 for the client and everything under it, its old PK can no longer write, and the
    receiving Bapas and PK see the whole history. Photos stay under their `photos/<bapas_id>/` keys; the client
    keeps the Bapas it came from in `former_bapas` so their URLs can still be issued (`services/photos.py`).
    Escalations and tasks have their own Bapas and PK (they are listed by Bapas and by PK through GSIs), so they
    are rewritten: the open ones (the open work) and the resolved ones (history), with the new Bapas and PK.

One transaction
    Accepting is one `TransactWriteItems`: the transfer (only while `pending`), the client item (only while it is
    still in the sending Bapas with this transfer pending and the same open escalation), each of the client's
    escalations and tasks (only while still in the sending Bapas), and three audit entries: the transfer's, and the
    client's `client.transfer_out` (attributed to the sending Bapas) and `client.transfer_in` (the receiving one).
    Either all of it happens or none of it does, so a crash (or a refused condition, or throttling) never leaves
    the client in two Bapas or in none; the request is simply sent again.

    DynamoDB allows 100 items a transaction: 5 are fixed, so up to 95 escalations and tasks move atomically with
    the client (47 escalation episodes with their tasks — more than any client has in practice). Beyond that the
    rest move right after the commit, one conditional update each, counted in the transfer's `history_pending`;
    an accept sent again finishes them (the step is idempotent: it moves only what is still in the sending Bapas).
    Until then the sending Bapas may still find those old, resolved escalations in its lists; the client itself,
    its open work and everything reached through the client have moved already.

Windows continue without a gap
    The compliance facts and the supervision dates move unchanged, so the client's windows, consecutive misses
    and next due date carry on. Window boundaries are local midnights of the responsible Bapas: when the receiving
    Bapas is in another time zone they shift by that zone difference (one or two hours), never by a window.

Requests per accept: GetItem transfer, GetItem client, Cognito (the PK, cached), Query escalations `client-index`,
BatchGetItem tasks, one TransactWriteItems; then reads for the response.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib.access import (
    check_transfer_decision,
    check_transfer_read,
    may_see_transferred_client,
    scoped_bapas,
)
from chalicelib.adapters.tables import (
    BapasModel,
    ClientModel,
    EscalationModel,
    TaskModel,
    TransferModel,
    get_or_none,
    plain,
)
from chalicelib.auth import Principal
from chalicelib.domain.clients import local_today, stage_on
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import conflict, field_error, not_found
from chalicelib.obs import logger
from chalicelib.paging import Page, encode_cursor
from chalicelib.services.clients import (
    _check_officer,
    audit_list,
    client_entity,
    due_fields,
    evaluate_client,
    load_client,
    period_bounds,
)
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.lifecycle import TransferAccept, TransferDecline, TransferRequest

STATES = ("pending", "accepted", "declined")
DIRECTIONS = ("incoming", "outgoing")
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
FIXED_ITEMS = 5  # the transfer, the client, three audit entries


def transfer_entity(transfer_id: str) -> str:
    return f"transfer#{transfer_id}"


# ----- representation ------------------------------------------------------------------------------

def _client_summary(client: ClientModel, now: datetime) -> dict[str, Any]:
    address = plain(client.address or {})
    start, end = period_bounds(client)  # the stage of the current period (services/programs.py)
    today = local_today(now, BAPAS.timezone(client.bapas_id))
    return {"name": client.name, "program": client.program, "supervision_start": client.supervision_start,
            "supervision_end": client.supervision_end, "stage": stage_on(start, end, today).value,
            "village_code": client.village_code, "village_name": address.get("village_name")}


def _may_see_client(p: Principal, t: TransferModel, client: ClientModel | None) -> bool:
    if client is None:
        return False
    return may_see_transferred_client(p, client.bapas_id, t.to_bapas_id if t.state == "pending" else None)


_BAPAS_NAMES: dict[str, str] = {}


def bapas_name(bapas_id: str) -> str:
    """A Bapas's full name, for people to read (cached: the names do not change)."""
    if bapas_id not in _BAPAS_NAMES:
        found = get_or_none(BapasModel, bapas_id)
        _BAPAS_NAMES[bapas_id] = found.name if found is not None else bapas_id
    return _BAPAS_NAMES[bapas_id]


def to_api(p: Principal, t: TransferModel, client: ClientModel | None, now: datetime) -> dict[str, Any]:
    return {
        "id": t.transfer_id,
        "client_id": t.client_id,
        "from_bapas_id": t.from_bapas_id,
        "from_bapas_name": bapas_name(t.from_bapas_id),
        "to_bapas_id": t.to_bapas_id,
        "to_bapas_name": bapas_name(t.to_bapas_id),
        "from_officer": t.from_officer,
        "reason": t.reason,
        "state": t.state,
        "requested_by": t.requested_by,
        "requested_at": t.requested_at,
        "officer": t.officer,
        "decided_by": t.decided_by,
        "decided_at": t.decided_at,
        "decline_reason": t.decline_reason,
        "moved": int(t.moved) if t.moved is not None else None,
        "client": _client_summary(client, now) if _may_see_client(p, t, client) else None,
        "version": int(t.version),
    }


def _client(client_id: str) -> ClientModel | None:
    return get_or_none(ClientModel, client_id, consistent_read=True)


def _get(transfer_id: str) -> TransferModel | None:
    return get_or_none(TransferModel, transfer_id, consistent_read=True)


def _load(p: Principal, transfer_id: str) -> TransferModel:
    """The transfer, if the caller's Bapas sends or receives it (admin: any); 404 otherwise."""
    try:
        uuid.UUID(transfer_id)
    except ValueError:
        raise not_found("Transfer") from None
    t = _get(transfer_id)
    if t is None:
        raise not_found("Transfer")
    check_transfer_read(p, t.from_bapas_id, t.to_bapas_id)
    return t


def _receiver_only(p: Principal, t: TransferModel) -> None:
    check_transfer_decision(p, t.to_bapas_id)


def get_transfer(p: Principal, transfer_id: str, now: datetime) -> dict[str, Any]:
    t = _load(p, transfer_id)
    return to_api(p, t, _client(t.client_id), now)


# ----- request ----------------------------------------------------------------------------------------

def request_transfer(p: Principal, client_id: str, body: TransferRequest, now: datetime) -> dict[str, Any]:
    client = load_client(p, client_id, write=True)
    if body.to_bapas_id == client.bapas_id:
        raise field_error("to_bapas_id", "is the client's own Bapas")
    try:
        BapasModel.get(body.to_bapas_id)
    except BapasModel.DoesNotExist:
        raise field_error("to_bapas_id", "is not a registered Bapas") from None
    if client.pending_transfer_id:
        raise conflict(f"This client already has a pending transfer ({client.pending_transfer_id}).")
    transfer_id, stamp = str(uuid.uuid4()), to_rfc3339(now)
    t = TransferModel(transfer_id, client_id=client_id, from_bapas_id=client.bapas_id, to_bapas_id=body.to_bapas_id,
                      from_officer=client.officer, reason=body.reason, state="pending",
                      state_requested=f"pending#{stamp}#{transfer_id}", requested_by=p.username, requested_at=stamp,
                      version=1)
    try:
        with transaction() as tx:
            tx.save(t, condition=TransferModel.transfer_id.does_not_exist())
            tx.update(ClientModel(client_id), actions=[ClientModel.pending_transfer_id.set(transfer_id)],
                      condition=(ClientModel.bapas_id == client.bapas_id)
                      & ClientModel.pending_transfer_id.does_not_exist())
            tx.save(audit_entry(p, transfer_entity(transfer_id), "transfer.request", now,
                                ["to_bapas_id", "reason"], 1))
            tx.save(audit_entry(p, client_entity(client_id), "client.transfer_request", now, ["pending_transfer_id"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        load_client(p, client_id, write=True)  # 404 when it left the Bapas meanwhile
        raise conflict("This client already has a pending transfer.") from None
    logger.info("transfer requested", extra={"transfer_id": transfer_id, "to_bapas_id": body.to_bapas_id})
    client.pending_transfer_id = transfer_id
    return to_api(p, t, client, now)


# ----- list ---------------------------------------------------------------------------------------------

TRANSFER_FILTERS = ("direction", "state", "bapas_id", "cursor", "limit")


def list_transfers(p: Principal, params: dict[str, str], page: Page, now: datetime) -> dict[str, Any]:
    """A Bapas's incoming (default) or outgoing transfers; pending first, then accepted, then declined, each
    newest first; one index Query a page."""
    bapas_id = scoped_bapas(p, params.get("bapas_id"))
    # direction and state are the route's declared enums (http.query_params)
    direction = params.get("direction") or "incoming"
    state = params.get("state") or None
    states = [state] if state else list(STATES)
    index, hash_name = ((TransferModel.incoming_index, "to_bapas_id") if direction == "incoming"
                        else (TransferModel.outgoing_index, "from_bapas_id"))
    phase, start_key = states[0], None
    if page.cursor is not None:
        phase, start_key = _check_cursor(page.cursor, states, hash_name, bapas_id)
    items: list[TransferModel] = []
    cursor: dict[str, Any] | None = None
    for i in range(states.index(phase), len(states)):
        results = index.query(bapas_id, TransferModel.state_requested.startswith(f"{states[i]}#"),
                              scan_index_forward=False, limit=page.limit - len(items), last_evaluated_key=start_key,
                              page_size=page.limit)
        start_key = None
        items.extend(results)
        if len(items) >= page.limit:
            lek = results.last_evaluated_key
            if lek:
                cursor = {"state": states[i], "key": {k: v["S"] for k, v in lek.items()}}
            elif i + 1 < len(states):
                cursor = {"state": states[i + 1], "key": None}
            break
    clients = {c.client_id: c for c in ClientModel.batch_get({t.client_id for t in items})} if items else {}
    audit_list(p, bapas_id, params, list(dict.fromkeys(t.client_id for t in items)), now, what="transfer",
               filters=TRANSFER_FILTERS)  # the answer names clients: audited like a client list
    return {"items": [to_api(p, t, clients.get(t.client_id), now) for t in items],
            "next_cursor": encode_cursor(cursor)}


def _check_cursor(cursor: dict[str, Any], states: list[str], hash_name: str,
                  bapas_id: str) -> tuple[str, dict[str, Any] | None]:
    state, key = cursor.get("state"), cursor.get("key")
    if set(cursor) != {"state", "key"} or state not in states:
        raise field_error("cursor", "does not belong to this query")
    if key is None:
        return state, None
    names = {"transfer_id", hash_name, "state_requested"}
    if not isinstance(key, dict) or set(key) != names or not all(isinstance(v, str) for v in key.values()) \
            or key[hash_name] != bapas_id or not key["state_requested"].startswith(f"{state}#"):
        raise field_error("cursor", "does not belong to this query")
    return state, {k: {"S": v} for k, v in key.items()}


# ----- accept -------------------------------------------------------------------------------------------

def _casework(client: ClientModel, from_bapas: str) -> list[EscalationModel | TaskModel]:
    """The client's escalations and their tasks still in the sending Bapas: the open ones first."""
    escalations = {e.escalation_id: e for e in EscalationModel.client_index.query(client.client_id)}
    if client.open_escalation_id and client.open_escalation_id not in escalations:  # the index may lag
        try:
            e = EscalationModel.get(client.open_escalation_id, consistent_read=True)
            escalations[e.escalation_id] = e
        except EscalationModel.DoesNotExist:
            pass
    task_ids = {e.task_id for e in escalations.values() if e.task_id}
    tasks = list(TaskModel.batch_get(task_ids)) if task_ids else []
    items: list[EscalationModel | TaskModel] = [*escalations.values(), *tasks]
    items = [i for i in items if i.bapas_id == from_bapas]
    items.sort(key=lambda i: (i.state != "open", getattr(i, "escalation_id", "") or getattr(i, "task_id", "")))
    return items


def _move_actions(item: EscalationModel | TaskModel, to_bapas: str, officer: str) -> list[Any]:
    model = type(item)
    return [model.bapas_id.set(to_bapas), model.officer.set(officer), model.officer_key.set(f"{to_bapas}#{officer}"),
            model.version.set(int(item.version) + 1)]


def _key(item: EscalationModel | TaskModel) -> EscalationModel | TaskModel:
    if isinstance(item, EscalationModel):
        return EscalationModel(item.escalation_id)
    return TaskModel(item.task_id)


def accept_transfer(p: Principal, transfer_id: str, body: TransferAccept, now: datetime) -> dict[str, Any]:
    t = _load(p, transfer_id)
    _receiver_only(p, t)
    if t.state == "accepted" and t.officer == body.officer:
        _finish_history(t)  # a retry after a lost answer (or after a crash in the follow-up step)
        return get_transfer(p, transfer_id, now)
    if t.state != "pending":
        raise conflict(f"This transfer is already {t.state}.")
    _check_officer(body.officer, t.to_bapas_id)
    client = _client(t.client_id)
    if client is None or client.bapas_id != t.from_bapas_id or client.pending_transfer_id != transfer_id:
        raise conflict("The client is no longer waiting for this transfer.")
    casework = _casework(client, t.from_bapas_id)
    capacity = MAX_TRANSACTION_ITEMS - FIXED_ITEMS
    now_moved, later = casework[:capacity], casework[capacity:]

    to_bapas, officer, stamp, version = t.to_bapas_id, body.officer, to_rfc3339(now), int(client.version) + 1
    # The same facts and dates, evaluated in the receiving Bapas's time zone: where the due index must point now.
    shard, due_at = due_fields(client.client_id, evaluate_client(client, BAPAS.timezone(to_bapas), now))
    client_actions = [
        ClientModel.bapas_id.set(to_bapas), ClientModel.officer.set(officer),
        ClientModel.officer_key.set(f"{to_bapas}#{officer}"),
        ClientModel.former_bapas.set((ClientModel.former_bapas | []).append([t.from_bapas_id])),
        ClientModel.pending_transfer_id.remove(), ClientModel.version.set(version),
        ClientModel.updated_at.set(stamp),
    ]
    client_actions += [ClientModel.due_shard.set(shard), ClientModel.due_at.set(due_at)] if shard else \
        [ClientModel.due_shard.remove(), ClientModel.due_at.remove()]
    client_still = (ClientModel.bapas_id == t.from_bapas_id) & (ClientModel.pending_transfer_id == transfer_id)
    client_still &= (ClientModel.open_escalation_id == client.open_escalation_id) if client.open_escalation_id \
        else ClientModel.open_escalation_id.does_not_exist()
    transfer_actions = [
        TransferModel.state.set("accepted"),
        TransferModel.state_requested.set(f"accepted#{t.requested_at}#{t.transfer_id}"),
        TransferModel.officer.set(officer), TransferModel.decided_by.set(p.username),
        TransferModel.decided_at.set(stamp),
        TransferModel.moved.set(len(casework)), TransferModel.history_pending.set(len(later)),
        TransferModel.version.set(int(t.version) + 1),
    ]
    fields = ["bapas_id", "officer", "former_bapas"]
    sender = audit_entry(p, client_entity(client.client_id), "client.transfer_out", now, fields, version)
    sender.bapas_id = t.from_bapas_id  # the sending Bapas's side of the hand-over
    try:
        with transaction() as tx:
            tx.update(TransferModel(transfer_id), actions=transfer_actions,
                      condition=(TransferModel.state == "pending") & (TransferModel.version == t.version))
            tx.update(ClientModel(client.client_id), actions=client_actions, condition=client_still)
            for item in now_moved:
                tx.update(_key(item), actions=_move_actions(item, to_bapas, officer),
                          condition=type(item).bapas_id == t.from_bapas_id)
            tx.save(audit_entry(p, transfer_entity(transfer_id), "transfer.accept", now, ["state", "officer"],
                                int(t.version) + 1))
            tx.save(sender)
            tx.save(audit_entry(p, client_entity(client.client_id), "client.transfer_in", now, fields, version))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # throttling or a conflicting transaction: the route answers 503; nothing was written
        current = _get(transfer_id)
        if current is not None and current.state == "accepted" and current.officer == officer:
            return get_transfer(p, transfer_id, now)  # a concurrent identical accept won
        raise conflict("The transfer or the client changed at the same time; read it and try again.") from None
    logger.info("transfer accepted", extra={"transfer_id": transfer_id, "moved": len(casework),
                                            "history_pending": len(later)})
    if later:
        _finish_history(_get(transfer_id) or t)
    return get_transfer(p, transfer_id, now)


def _finish_history(t: TransferModel) -> None:
    """Move what did not fit in the accept's transaction (idempotent: only what is still in the sending Bapas)."""
    if not t.history_pending:
        return
    client = _client(t.client_id)
    if client is None or client.bapas_id != t.to_bapas_id or t.officer is None:
        return
    for item in _casework(client, t.from_bapas_id):
        try:
            _key(item).update(actions=_move_actions(item, t.to_bapas_id, t.officer),
                              condition=type(item).bapas_id == t.from_bapas_id)
        except (UpdateError, PutError) as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
    TransferModel(t.transfer_id).update(actions=[TransferModel.history_pending.set(0)],
                                        condition=TransferModel.state == "accepted")
    logger.info("transfer history moved", extra={"transfer_id": t.transfer_id})


# ----- decline ------------------------------------------------------------------------------------------

def decline_transfer(p: Principal, transfer_id: str, body: TransferDecline, now: datetime) -> dict[str, Any]:
    t = _load(p, transfer_id)
    _receiver_only(p, t)
    if t.state == "declined" and t.decline_reason == body.reason:
        return get_transfer(p, transfer_id, now)  # a retry
    if t.state != "pending":
        raise conflict(f"This transfer is already {t.state}.")
    stamp = to_rfc3339(now)
    try:
        with transaction() as tx:
            tx.update(TransferModel(transfer_id), condition=(TransferModel.state == "pending")
                      & (TransferModel.version == t.version), actions=[
                TransferModel.state.set("declined"),
                TransferModel.state_requested.set(f"declined#{t.requested_at}#{t.transfer_id}"),
                TransferModel.decline_reason.set(body.reason), TransferModel.decided_by.set(p.username),
                TransferModel.decided_at.set(stamp), TransferModel.version.set(int(t.version) + 1)])
            tx.update(ClientModel(t.client_id), actions=[ClientModel.pending_transfer_id.remove()],
                      condition=ClientModel.pending_transfer_id == transfer_id)
            tx.save(audit_entry(p, transfer_entity(transfer_id), "transfer.decline", now, ["state", "decline_reason"],
                                int(t.version) + 1))
            tx.save(audit_entry(p, client_entity(t.client_id), "client.transfer_declined", now,
                                ["pending_transfer_id"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        raise conflict("The transfer changed at the same time; read it and try again.") from None
    logger.info("transfer declined", extra={"transfer_id": transfer_id})
    return get_transfer(p, transfer_id, now)
