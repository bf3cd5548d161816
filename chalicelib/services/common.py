"""Pieces every write path shares: the audit entry, canonical body hashes, Bapas time zones."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

# Reading a cancelled transaction lives with the other AWS-error classification; re-exported for the services.
from chalicelib.adapters.aws_errors import cancellation_reasons as cancellation_reasons
from chalicelib.adapters.aws_errors import condition_failed as condition_failed
from chalicelib.adapters.tables import REGION, AuditModel, BapasModel, get_or_none
from chalicelib.auth import Principal
from chalicelib.context import request_id
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.errors import field_error

_connection: Connection | None = None
DEFAULT_GRACE_HOURS = 48  # the Bapas setting `grace_hours` when it is not set


def transaction() -> TransactWrite:
    """One DynamoDB TransactWriteItems request: all of it happens or none of it does."""
    global _connection
    if _connection is None:
        _connection = Connection(region=REGION)
    return TransactWrite(connection=_connection)


_connections_endpoint: str | None = None


def reset_connections(only_if_endpoint_changed: bool = False) -> None:
    """Forget every PynamoDB connection, so the next request makes clients for the current `AWS_ENDPOINT_URL`
    (for a process that talks to several stacks in turn: the tests, the local runner)."""
    global _connection, _connections_endpoint
    import os

    from chalicelib.adapters.tables import MODELS

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if only_if_endpoint_changed and endpoint == _connections_endpoint:
        return
    for model in MODELS:
        model._connection = None
    _connection = None
    _connections_endpoint = endpoint


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical JSON form: same meaning -> same hash, whatever the key order."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def audit_entry(p: Principal, entity: str, action: str, now: datetime, fields: list[str] | None = None,
                version: int | None = None) -> AuditModel:
    return AuditModel(
        entity,
        f"{to_rfc3339(now)}#{uuid.uuid4()}",
        action=action,
        actor=p.username,
        role=p.role,
        bapas_id=p.bapas_id or "-",
        request_id=request_id() or "-",
        fields=sorted(fields) if fields else None,
        version=version,
    )


class BapasDirectory:
    """The Bapas items (full name, time zone, settings), read once per process: operators change them rarely,
    and a new Lambda process (at the latest the next deployment) sees a change."""

    def __init__(self) -> None:
        self._items: dict[str, BapasModel] = {}
        self._lock = threading.Lock()

    def info_or_none(self, bapas_id: str) -> BapasModel | None:
        with self._lock:
            item = self._items.get(bapas_id)
        if item is None:
            item = get_or_none(BapasModel, bapas_id)
            if item is None:
                return None
            with self._lock:
                self._items[bapas_id] = item
        return item

    def info(self, bapas_id: str) -> BapasModel:
        item = self.info_or_none(bapas_id)
        if item is None:
            raise field_error("bapas_id", "is not a registered Bapas")
        return item

    def timezone(self, bapas_id: str) -> str:
        return str(self.info(bapas_id).timezone)

    def timezone_or_none(self, bapas_id: str) -> str | None:
        """The Bapas's time zone; None when no such Bapas is registered (an admin may name any)."""
        item = self.info_or_none(bapas_id)
        return None if item is None else str(item.timezone)

    def grace(self, bapas_id: str) -> timedelta:
        hours = self.info(bapas_id).grace_hours
        return timedelta(hours=float(hours) if hours is not None else DEFAULT_GRACE_HOURS)
    def reminder_days(self, bapas_id: str) -> int:
        """The Bapas setting `reminder_days_before` (1..7, default 2): how many days before a window closes a
        client who has not reported yet is reminded (services/reminders.py)."""
        from chalicelib.domain.reminders import DEFAULT_DAYS_BEFORE, MAX_DAYS_BEFORE

        days = getattr(self.info(bapas_id), "reminder_days_before", None)
        return DEFAULT_DAYS_BEFORE if days is None else max(1, min(MAX_DAYS_BEFORE, int(days)))

    def get(self, bapas_id: str) -> BapasModel:
        return self.info(bapas_id)

    def name(self, bapas_id: str) -> str:
        return str(self.info(bapas_id).name)

    def all(self) -> list[BapasModel]:
        """Every Bapas, by id: one Query of the bapas table's `registry-index` GSI (never a Scan)."""
        items = list(BapasModel.registry_index.query("bapas"))
        with self._lock:
            self._items.update({b.bapas_id: b for b in items})
        return items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


BAPAS = BapasDirectory()
