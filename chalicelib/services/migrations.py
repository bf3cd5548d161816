"""One-off data migrations, run by an operator (`make invoke fn=migrate_tracking_from time=...`,
`make invoke fn=migrate_report_summary`, `make invoke fn=migrate_name_key` locally; see
docs/operations.md for AWS). Each is idempotent: a second run changes nothing, and every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import size

from chalicelib.adapters.tables import BapasModel, ClientModel
from chalicelib.auth import Principal
from chalicelib.domain import compaction, progress
from chalicelib.domain.names import name_key
from chalicelib.domain.timeutil import parse_rfc3339
from chalicelib.obs import logger
from chalicelib.services.clients import client_entity, default_tracking_from, period_bounds, schedule_of
from chalicelib.services.common import audit_entry, condition_failed, transaction

SYSTEM = "system"


def registration_tracking_from(item: ClientModel, tz: str) -> date:
    """Version 1.1's default for a client registered before it: the local date of registration, in the period."""
    return default_tracking_from(date.fromisoformat(item.supervision_start), date.fromisoformat(item.supervision_end),
                                 parse_rfc3339(item.created_at), tz)


@dataclass(frozen=True)
class Change:
    """One client's migration: the update, its condition (the client as read), and the fields for the audit."""

    actions: list[Any]
    condition: Any
    fields: list[str]


# What a plan returns for a client: its Change, or the name of the count it falls under (nothing to write).
Plan = Callable[[ClientModel, BapasModel, datetime], "Change | str"]


def _migrate(name: str, now: datetime, plan: Plan, counts: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run `plan` over every client, Bapas by Bapas through `bapas-index` (the Bapas table itself is a handful
    of items: no Scan of the clients). Each change is one transaction with its audit entry
    (`client.<name>`); a condition that no longer holds (a concurrent run or edit won) counts as `already`."""
    stats = {"bapas": 0, "clients": 0, "migrated": 0, "already": 0, **dict.fromkeys(counts, 0)}
    for bapas in BapasModel.scan():
        stats["bapas"] += 1
        system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas.bapas_id)
        for item in ClientModel.bapas_index.query(bapas.bapas_id):
            stats["clients"] += 1
            change = plan(item, bapas, now)
            if isinstance(change, str):
                stats[change] += 1
                continue
            try:
                with transaction() as tx:
                    tx.update(ClientModel(item.client_id), actions=change.actions, condition=change.condition)
                    tx.save(audit_entry(system, client_entity(item.client_id), f"client.{name}", now, change.fields))
            except TransactWriteError as exc:
                if not condition_failed(exc):
                    raise
                stats["already"] += 1
                continue
            stats["migrated"] += 1
    logger.info("migration", extra={"migration": name, **stats})
    return stats


def _tracking_from(item: ClientModel, bapas: BapasModel, now: datetime) -> Change | str:
    if item.tracking_from:
        return "already"
    tracking = registration_tracking_from(item, str(bapas.timezone)).isoformat()
    return Change([ClientModel.tracking_from.set(tracking)], ClientModel.tracking_from.does_not_exist(),
                  ["tracking_from"])


def migrate_tracking_from(now: datetime) -> dict[str, Any]:
    """Give every client registered before version 1.1 (no `tracking_from`) `tracking_from` = its registration
    date, so history before Pantau tracked it is never missed. Conditional on `tracking_from` still being absent
    (a concurrent run or a PATCH wins)."""
    return _migrate("migrate_tracking_from", now, _tracking_from)


def _report_views(item: ClientModel, bapas: BapasModel, now: datetime) -> Change | str:
    actions, fields, condition = [], [], ClientModel.client_id.exists()
    if item.contacts_summary and not item.report_summary:
        view = compaction.report_view(schedule_of(item, str(bapas.timezone)), item.contacts_summary, now)
        if view is not None:
            actions.append(ClientModel.report_summary.set(view))
            fields.append("report_summary")
            condition &= (ClientModel.contacts_summary == item.contacts_summary) & \
                ClientModel.report_summary.does_not_exist()
    if item.progress_reports and not item.progress_summary:
        actions.append(ClientModel.progress_summary.set(progress.view(*period_bounds(item), item.progress_reports,
                                                                      now)))
        fields.append("progress_summary")
        condition &= (size(ClientModel.progress_reports) == len(item.progress_reports)) & \
            ClientModel.progress_summary.does_not_exist()
    return Change(actions, condition, fields) if actions else "already"


def migrate_report_summary(now: datetime) -> dict[str, Any]:
    """Issue 16: give every client the bounded views the compliance report reads through the `report-index`:
    `report_summary` when its old windows are compacted (`contacts_summary`; domain/compaction.py `report_view`),
    `progress_summary` when it has progress reports (domain/progress.py `view`). Run once after the deployment
    that adds the index (until then the report counts such a client's compacted windows and progress reports as
    missing). Conditional on the facts being those read and the views still absent (a record written meanwhile
    writes them itself: it wins)."""
    return _migrate("migrate_report_summary", now, _report_views)


def _name_key(item: ClientModel, bapas: BapasModel, now: datetime) -> Change | str:
    if item.anonymised_at:
        return "anonymised"
    if item.name_key:
        return "already"
    return Change([ClientModel.name_key.set(name_key(item.name, item.client_id))],
                  ClientModel.name_key.does_not_exist() & (ClientModel.name == item.name)
                  & ClientModel.anonymised_at.does_not_exist(), ["name_key"])


def migrate_name_key(now: datetime) -> dict[str, Any]:
    """Put every client registered before the name search existed (no `name_key`) into `bapas-name-index`, so
    the dashboard's search finds them. Anonymised clients stay out (their name is gone). Conditional on
    `name_key` still being absent and the name unchanged (a concurrent PATCH writes its own key)."""
    return _migrate("migrate_name_key", now, _name_key, counts=("anonymised",))
