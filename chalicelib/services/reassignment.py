"""Reassigning a client to another PK moves its open work with it (issue 13 item 4, issue 15 item 2).

A PATCH that changes `officer` writes, in the client update's own transaction, the new officer on every open
escalation of the client and on every open task those escalations asked for, each with its audit entry
(`escalation.reassign`, `task.reassign`, the fields named, no values). Each move is conditional on the item
still being open and still naming the previous officer, and the client update is conditional on the open
escalation it had when read: if the escalation run opened one meanwhile, the PATCH is refused (412) and the
app's retry moves it too. Resolved escalations and done tasks keep the officer who handled them (history);
who may read them is decided by the client's current officer (`services/casework.py`).

Requests: 1 Query of the escalations' `client-index` GSI plus one GetItem per open escalation and its task
(consistent: the index may lag), all before the one TransactWriteItems of the PATCH.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters.tables import EscalationModel, TaskModel, get_or_none
from chalicelib.auth import Principal
from chalicelib.services.common import audit_entry


@dataclass(frozen=True)
class OpenWork:
    escalations: list[EscalationModel]
    tasks: list[TaskModel]

    def __bool__(self) -> bool:
        return bool(self.escalations or self.tasks)


def open_work(client_id: str, open_escalation_id: str | None) -> OpenWork:
    """The client's open escalations (from the index, plus the one the client item names) and their open tasks."""
    ids = {e.escalation_id for e in EscalationModel.client_index.query(client_id) if e.state == "open"}
    if open_escalation_id:
        ids.add(open_escalation_id)
    escalations = []
    for escalation_id in sorted(ids):
        e = get_or_none(EscalationModel, escalation_id, consistent_read=True)
        if e is not None and e.state == "open" and e.client_id == client_id:
            escalations.append(e)
    tasks = []
    for e in escalations:
        t = get_or_none(TaskModel, e.task_id, consistent_read=True) if e.task_id else None
        if t is not None and t.state == "open":
            tasks.append(t)
    return OpenWork(escalations, tasks)


def move(tx: Any, p: Principal, work: OpenWork, bapas_id: str, new_officer: str, now: datetime) -> None:
    """Add the moves of `work` to the PATCH's transaction `tx`."""
    officer_key = f"{bapas_id}#{new_officer}"
    for e in work.escalations:
        version = int(e.version) + 1
        tx.update(EscalationModel(e.escalation_id), actions=[
            EscalationModel.officer.set(new_officer), EscalationModel.officer_key.set(officer_key),
            EscalationModel.version.set(version)],
            condition=(EscalationModel.state == "open") & (EscalationModel.officer == e.officer))
        tx.save(audit_entry(p, f"escalation#{e.escalation_id}", "escalation.reassign", now, ["officer"], version))
    for t in work.tasks:
        version = int(t.version) + 1
        tx.update(TaskModel(t.task_id), actions=[
            TaskModel.officer.set(new_officer), TaskModel.officer_key.set(officer_key), TaskModel.version.set(version)],
            condition=(TaskModel.state == "open") & (TaskModel.officer == t.officer))
        tx.save(audit_entry(p, f"task#{t.task_id}", "task.reassign", now, ["officer"], version))
