"""Helpers for the escalation tests: clients with a past, check-ins, runs, SMS and DynamoDB call counts."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support import client_body

WIB = ZoneInfo("Asia/Jakarta")
VILLAGE = "31.74.09.1001"  # Jagakarsa: the village of `client_body()`
BARE_VILLAGE = "31.74.09.1002"  # a village the tests leave without contacts
BHABIN_PHONE = "+6281277001000"
OFFICE_PHONE = "+6281277002000"  # the village office of VILLAGE
GUARANTOR_PHONE = "+6281399001000"
PK_ANDI_PHONE = "+6281100000002"  # infra/seed.py
REGION = "ap-southeast-3"


def today_wib() -> date:
    return datetime.now(WIB).date()


def at_wib(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), WIB)


def put_village_contacts(api: Any, code: str = VILLAGE, phone: str = "0812-7700-1000",
                         office: str | None = "0812-7700-2000") -> None:
    body: dict[str, Any] = {"bhabinkamtibmas": {"name": "Bripka Joko Susilo", "phone": phone,
                                                "polsek": "Polsek Jagakarsa"}}
    if office:
        body["village_office"] = {"name": "Sekretaris Lurah Jagakarsa", "phone": office}
    r = api.put(f"/v1/villages/{code}/contacts", "kasubsi.jaksel", body)
    assert r.status in (200, 201), r


def set_bapas(bapas_id: str = "jaksel", **settings: Any) -> None:
    """Change a Bapas's settings (grace_hours, sms_daily_cap) as an operator would, and forget the cache."""
    from chalicelib.adapters.tables import BapasModel
    from chalicelib.services.common import BAPAS

    item = BapasModel.get(bapas_id)
    for name, value in settings.items():
        setattr(item, name, value)
    item.save()
    BAPAS.clear()


def register(api: Any, start: date, village: str = VILLAGE, officer: str = "pk.andi", **overrides: Any) -> str:
    """A client with its history on file since `start` (tracking_from = start: its past windows count)."""
    overrides.setdefault("tracking_from", start.isoformat())
    body = client_body(officer, supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(), **overrides)
    body["address"]["village_code"] = village
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json["id"]


def checkin(api: Any, client_id: str, at: datetime, outcome: str = "completed", user: str = "pk.andi") -> None:
    """A check-in through the record PUT (issue 3), which appends the compliance fact in its transaction."""
    r = api.put(f"/v1/clients/{client_id}/checkins/{uuid.uuid4()}", user,
                {"occurred_at": at.isoformat(), "channel": "phone", "outcome": outcome})
    assert r.status == 201, r


def unreachable_client(api: Any, village: str = VILLAGE, officer: str = "pk.andi") -> str:
    """Supervision began six weeks ago; check-ins in weeks 1 and 2 only: windows 3-6 missed -> unreachable."""
    start = today_wib() - timedelta(days=42)
    cid = register(api, start, village=village, officer=officer)
    checkin(api, cid, at_wib(start + timedelta(days=1), 10), user=officer)
    checkin(api, cid, at_wib(start + timedelta(days=8), 10), user=officer)
    return cid


def run_and_drain(as_of: datetime) -> dict[str, Any]:
    """`make invoke fn=escalate_unreachable time=...`: the scheduled function, then the queue into the worker."""
    from infra.invoke import invoke

    return invoke("escalate_unreachable", as_of.isoformat())


def sns_backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID][REGION]


def sms_to(phone: str) -> list[str]:
    return [message for to, message in sns_backend().sms_messages.values() if to == phone]


def topic_messages(topic_arn: str) -> list[Any]:
    return list(sns_backend().topics[topic_arn].sent_notifications)


def escalations_of(client_id: str) -> list[Any]:
    from chalicelib.adapters.tables import EscalationModel

    return list(EscalationModel.bapas_index.query("jaksel", filter_condition=EscalationModel.client_id == client_id))


def notifications_of(escalation_id: str) -> dict[str, Any]:
    from chalicelib.adapters.tables import NotificationModel

    return {n.recipient: n for n in NotificationModel.query(escalation_id, consistent_read=True)}


@contextmanager
def dynamodb_calls() -> Iterator[Counter[str]]:
    """Count DynamoDB requests by operation with a botocore `before-call` hook on every PynamoDB client.

    PynamoDB keeps one botocore client per model (and one for transactions), shared by all threads.
    """
    from chalicelib.adapters.tables import MODELS
    from chalicelib.services import common

    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    common.transaction()  # makes sure the transactions' connection exists
    clients = {id(c): c for c in [m._get_connection().connection.client for m in MODELS]
               + [common._connection.client]}.values()
    for c in clients:
        c.meta.events.register("before-call.dynamodb", hook, unique_id="count-dynamodb-calls")
    try:
        yield calls
    finally:
        for c in clients:
            c.meta.events.unregister("before-call.dynamodb", unique_id="count-dynamodb-calls")


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """DynamoDB applies each conditional write (and each transaction) atomically; moto in-process checks the
    condition and writes in separate Python steps, so two threads can both pass. Serialise moto's writes so
    the concurrency tests test our conditions, not moto's lack of a lock."""
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    names = ("put_item", "update_item", "delete_item", "transact_write_items")
    originals = {name: getattr(DynamoDBBackend, name) for name in names}

    def locked(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return fn(*args, **kwargs)

        return wrapper

    for name, fn in originals.items():
        setattr(DynamoDBBackend, name, locked(fn))
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(DynamoDBBackend, name, fn)
