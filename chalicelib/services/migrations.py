"""One-off data migrations, run by an operator (`make invoke fn=migrate_tracking_from time=...`,
`make invoke fn=migrate_report_summary` locally; see
docs/operations.md for AWS). Each is idempotent: a second run changes nothing, and every change is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters.tables import BapasModel, ClientModel
from chalicelib.auth import Principal
from chalicelib.domain import compaction
from chalicelib.domain.timeutil import parse_rfc3339
from chalicelib.obs import logger
from chalicelib.services.clients import client_entity, default_tracking_from, schedule_of
from chalicelib.services.common import audit_entry, condition_failed, transaction

SYSTEM = "system"


def registration_tracking_from(item: ClientModel, tz: str) -> date:
    """Version 1.1's default for a client registered before it: the local date of registration, in the period."""
    return default_tracking_from(date.fromisoformat(item.supervision_start), date.fromisoformat(item.supervision_end),
                                 parse_rfc3339(item.created_at), tz)


def migrate_tracking_from(now: datetime) -> dict[str, Any]:
    """Give every client registered before version 1.1 (no `tracking_from`) `tracking_from` = its registration
    date, so history before Pantau tracked it is never missed. Reads each Bapas's clients through the
    `bapas-index` (the Bapas table itself is a handful of items); writes each client with its audit entry,
    conditionally on `tracking_from` still being absent (a concurrent run or a PATCH wins)."""
    stats = {"bapas": 0, "clients": 0, "migrated": 0, "already": 0}
    for bapas in BapasModel.scan():
        stats["bapas"] += 1
        system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas.bapas_id)
        for item in ClientModel.bapas_index.query(bapas.bapas_id):
            stats["clients"] += 1
            if item.tracking_from:
                stats["already"] += 1
                continue
            tracking = registration_tracking_from(item, str(bapas.timezone)).isoformat()
            try:
                with transaction() as tx:
                    tx.update(ClientModel(item.client_id), actions=[ClientModel.tracking_from.set(tracking)],
                              condition=ClientModel.tracking_from.does_not_exist())
                    tx.save(audit_entry(system, client_entity(item.client_id), "client.migrate_tracking_from", now,
                                        ["tracking_from"]))
            except TransactWriteError as exc:
                if not condition_failed(exc):
                    raise
                stats["already"] += 1
                continue
            stats["migrated"] += 1
    logger.info("tracking_from migration", extra=stats)
    return stats


def migrate_report_summary(now: datetime) -> dict[str, Any]:
    """Issue 16: give every client with compacted windows (`contacts_summary`) and no `report_summary` its bounded
    view (domain/compaction.py `report_view`), which the compliance report reads through the `report-index`
    instead of the summary. Run once after the deployment that adds the index (until then such a client's
    compacted windows are missing from the report). Conditional on the summary being the one read and the view
    still absent (a record's compaction writes both meanwhile: it wins); each change audited."""
    stats = {"bapas": 0, "clients": 0, "migrated": 0, "already": 0}
    for bapas in BapasModel.scan():
        stats["bapas"] += 1
        system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas.bapas_id)
        for item in ClientModel.bapas_index.query(bapas.bapas_id):
            stats["clients"] += 1
            if not item.contacts_summary or item.report_summary:
                stats["already"] += 1
                continue
            view = compaction.report_view(schedule_of(item, str(bapas.timezone)), item.contacts_summary, now)
            if view is None:
                stats["already"] += 1
                continue
            try:
                with transaction() as tx:
                    tx.update(ClientModel(item.client_id), actions=[ClientModel.report_summary.set(view)],
                              condition=(ClientModel.contacts_summary == item.contacts_summary)
                              & ClientModel.report_summary.does_not_exist())
                    tx.save(audit_entry(system, client_entity(item.client_id), "client.migrate_report_summary", now,
                                        ["report_summary"]))
            except TransactWriteError as exc:
                if not condition_failed(exc):
                    raise
                stats["already"] += 1
                continue
            stats["migrated"] += 1
    logger.info("report_summary migration", extra=stats)
    return stats
