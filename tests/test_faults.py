"""Faults on every write path: DynamoDB throttling and cancelled transactions, S3, Cognito, SNS and SQS errors.

Faults are injected with botocore `before-call.<service>.<Operation>` hooks that raise `ClientError` on the
app's own clients (so botocore's retries are used up, as after a long outage). Over HTTP the caller gets a 503
problem with `Retry-After` and nothing is half-written; the same request sent again then completes once: no
duplicate, nothing lost. The escalation worker retries by itself (SQS redelivery of the messages it reports in
`batchItemFailures`), and a message that keeps failing ends in the dead-letter queue.

The DLQ test uses moto's SQS redrive: after `maxReceiveCount` (5) receives a message is moved to the queue named
in the RedrivePolicy, which moto applies on the next ReceiveMessage (the worker's failures are made visible
again at once with visibility timeout 0, as `infra.invoke.drain(retry_failed=True)` does).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.tables import AuditModel, ClientModel, EscalationModel, RecordModel, VillageContactModel
from chalicelib.domain.clients import stage_on
from tests.escalation_support import (
    BHABIN_PHONE,
    PK_ANDI_PHONE,
    at_wib,
    escalations_of,
    notifications_of,
    put_village_contacts,
    sms_to,
    today_wib,
    topic_messages,
    unreachable_client,
)
from tests.records_support import checkin_body, jpeg, new_client, put_photo, upload_keys, visit_body
from tests.support import InProcess, assert_problem, client_body, reset_caches


@pytest.fixture(scope="module")
def api():
    with InProcess() as env:
        yield env
    reset_caches()


# ----- injection --------------------------------------------------------------------------------------------

def _clients(service: str) -> list[Any]:
    if service == "dynamodb":
        from chalicelib.adapters.tables import MODELS
        from chalicelib.services import common

        common.transaction()
        found = [m._get_connection().connection.client for m in MODELS] + [common._connection.client]
        return list({id(c): c for c in found}.values())
    from chalicelib.adapters import aws

    return [aws.client(service)]


def _error(code: str, operation: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "injected fault"},
                                "ResponseMetadata": {"HTTPStatusCode": status}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, operation)


@contextmanager
def fault(service: str, operation: str, code: str, times: int = 1, status: int = 400,
          reasons: list[str] | None = None) -> Iterator[Counter[str]]:
    """The next `times` calls of service.operation fail with `code` (then it works again)."""
    calls: Counter[str] = Counter()

    def hook(**_: Any) -> None:
        calls["calls"] += 1
        if calls["calls"] <= times:
            calls["failed"] += 1
            raise _error(code, operation, status, reasons)

    clients = _clients(service)
    event = f"before-call.{service}.{operation}"
    for c in clients:
        c.meta.events.register(event, hook, unique_id=f"fault-{operation}")
    try:
        yield calls
    finally:
        for c in clients:
            c.meta.events.unregister(event, unique_id=f"fault-{operation}")


def assert_retry_later(r: Any) -> None:
    assert_problem(r, 503, code="service_unavailable")
    assert r.headers["retry-after"].isdigit() and int(r.headers["retry-after"]) > 0


# ----- HTTP write paths ----------------------------------------------------------------------------------------

@dataclass
class WritePath:
    """One write: the request (sent twice, identically), what it must leave behind, and the read it does first."""

    send: Callable[[], Any]
    state: Callable[[], Any]  # everything the write may change
    read: tuple[str, str]  # a (service, operation) the write path reads before writing
    created: int  # the status of the first success


def _audits(entity: str) -> list[str]:
    return sorted(a.action for a in AuditModel.query(entity, consistent_read=True))


def _client_state(cid: str) -> Any:
    try:
        item = ClientModel.get(cid, consistent_read=True)
    except ClientModel.DoesNotExist:
        return None, _audits(f"client#{cid}")
    return (int(item.version), item.notes, sorted(item.contacts or []), sorted(item.progress_reports or [])), \
        _audits(f"client#{cid}")


def _records_state(cid: str) -> Any:
    records = sorted((r.record_key, r.body_hash) for r in RecordModel.query(cid, consistent_read=True))
    audits = sorted(a.action for a in AuditModel.scan(AuditModel.entity.startswith(f"record#{cid}#")))
    return records, audits, _client_state(cid)


def create_client(api: Any) -> WritePath:
    cid = str(uuid.uuid4())
    body = client_body(id=cid)
    from chalicelib.adapters.directory import DIRECTORY

    DIRECTORY.clear()  # so the registration asks Cognito about the officer
    return WritePath(lambda: api.post("/v1/clients", "kasubsi.jaksel", body), lambda: _client_state(cid),
                     ("cognito-idp", "AdminGetUser"), 201)


def patch_client(api: Any) -> WritePath:
    cid = new_client(api)
    return WritePath(lambda: api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "Pindah kerja"},
                                       headers={"If-Match": "1"}), lambda: _client_state(cid),
                     ("dynamodb", "GetItem"), 200)


def put_contacts(api: Any) -> WritePath:
    code = "31.74.09.1002"

    def state() -> Any:
        try:
            item = VillageContactModel.get("jaksel", code, consistent_read=True)
            current = (int(item.version), item.bhabinkamtibmas.as_dict())
        except VillageContactModel.DoesNotExist:
            current = None
        return current, _audits(f"village#jaksel#{code}")

    before = state()[0]
    body = {"bhabinkamtibmas": {"name": "Bripka Uji", "phone": f"0812-7700-{uuid.uuid4().int % 9000 + 1000}"}}
    return WritePath(lambda: api.put(f"/v1/villages/{code}/contacts", "kasubsi.jaksel", body), state,
                     ("dynamodb", "GetItem"), 200 if before else 201)


def put_checkin(api: Any) -> WritePath:
    cid, rid, body = new_client(api), uuid.uuid4(), checkin_body()
    return WritePath(lambda: api.put(f"/v1/clients/{cid}/checkins/{rid}", "pk.andi", body),
                     lambda: _records_state(cid), ("dynamodb", "GetItem"), 201)


def put_visit_with_photo(api: Any) -> WritePath:
    cid, rid = new_client(api), uuid.uuid4()
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    body = visit_body(photos=[up["key"]])
    return WritePath(lambda: api.put(f"/v1/clients/{cid}/visits/{rid}", "pk.andi", body),
                     lambda: _records_state(cid), ("s3", "HeadObject"), 201)


def put_progress_report(api: Any) -> WritePath:
    start = date.today() - timedelta(days=30)
    end = start + timedelta(days=180)
    cid, rid = new_client(api, supervision_start=start.isoformat(), supervision_end=end.isoformat()), uuid.uuid4()
    last = date.today() - timedelta(days=1)
    body = {"stage": stage_on(start, end, last).value, "period_start": start.isoformat(),
            "period_end": last.isoformat(), "assessment_summary": "Kooperatif.", "criminogenic_factors": "Pergaulan.",
            "recommended_program": "Pelatihan kerja.", "submitted_at": checkin_body()["occurred_at"]}
    return WritePath(lambda: api.put(f"/v1/clients/{cid}/progress-reports/{rid}", "pk.andi", body),
                     lambda: _records_state(cid), ("dynamodb", "GetItem"), 201)


def create_uploads(api: Any) -> WritePath:
    cid = new_client(api)
    body = {"client_id": cid, "files": [{"content_type": "image/jpeg", "size_bytes": 2000}]}
    # Presigning is local (no S3 request): nothing is stored, so a retry is simply a new presigned POST.
    return WritePath(lambda: api.post("/v1/uploads", "pk.andi", body), lambda: _client_state(cid),
                     ("dynamodb", "GetItem"), 200)


def resolve_escalation(api: Any) -> WritePath:
    from infra.invoke import invoke

    put_village_contacts(api)
    cid = unreachable_client(api)
    invoke("escalate_unreachable", at_wib(today_wib()).isoformat())
    eid = ClientModel.get(cid, consistent_read=True).open_escalation_id
    assert eid

    def state() -> Any:
        e = EscalationModel.get(eid, consistent_read=True)
        return (e.state, int(e.version), e.resolution), _audits(f"escalation#{eid}"), _client_state(cid)

    return WritePath(lambda: api.post(f"/v1/escalations/{eid}/resolve", "kasubsi.jaksel",
                                      {"resolution": "found_at_home"}), state, ("dynamodb", "GetItem"), 200)


WRITE_PATHS = {f.__name__: f for f in (create_client, patch_client, put_contacts, put_checkin, put_visit_with_photo,
                                       put_progress_report, create_uploads, resolve_escalation)}
FAULTS = {
    "throttled_transaction": ("dynamodb", "TransactWriteItems", "ThrottlingException", 400, None),
    "cancelled_by_throttling": ("dynamodb", "TransactWriteItems", "TransactionCanceledException", 400,
                                ["ThrottlingError", "None", "None"]),
    "conflicting_transaction": ("dynamodb", "TransactWriteItems", "TransactionCanceledException", 400,
                                ["TransactionConflict", "None", "None"]),
    "read_unavailable": None,  # the path's own read (DynamoDB GetItem, S3 HEAD, Cognito): 500/503 from AWS
}


# POST /v1/uploads writes nothing to DynamoDB (presigning is local): its faults are those of its one read.
CASES = [(p, f) for p in WRITE_PATHS for f in FAULTS
         if not (p == "create_uploads" and f in ("cancelled_by_throttling", "conflicting_transaction"))]


@pytest.mark.parametrize("path_name,fault_name", CASES)
def test_a_write_under_a_fault_is_503_then_the_same_request_completes_once(api, path_name, fault_name):
    w = WRITE_PATHS[path_name](api)
    before = w.state()
    spec = FAULTS[fault_name]
    if spec is None:
        service, operation = w.read
        code, status, reasons = ("503" if service == "s3" else "InternalServerError"
                                 if service == "dynamodb" else "TooManyRequestsException"), 503, None
    else:
        service, operation, code, status, reasons = spec
        if path_name == "create_uploads":
            service, operation, code = *w.read, "ProvisionedThroughputExceededException"
    with fault(service, operation, code, status=status, reasons=reasons) as calls:
        failed = w.send()
    assert calls["failed"] == 1, f"{service}.{operation} was not called on this path"
    assert_retry_later(failed)
    assert w.state() == before  # nothing half-written
    first = w.send()
    assert first.status == w.created, first
    after = w.state()
    again = w.send()  # a retry after a lost response: the same answer, nothing more written
    if path_name in ("put_checkin", "put_visit_with_photo", "put_progress_report", "create_client"):
        assert again.status == 200 and again.json == first.json
        assert w.state() == after
    elif path_name == "resolve_escalation":
        assert_problem(again, 409)
        assert w.state() == after
    elif path_name == "patch_client":
        assert_problem(again, 412)  # If-Match 1 is stale now: the change is not applied twice
        assert w.state() == after
    if path_name != "create_uploads":
        assert after != before


def test_a_cancelled_transaction_for_another_reason_is_not_hidden_as_503(api):
    """Only throttling and conflicts are transient; a validation cancellation is a bug to see (500, logged)."""
    for w in (put_contacts(api), put_checkin(api), create_client(api)):
        before = w.state()
        with fault("dynamodb", "TransactWriteItems", "TransactionCanceledException",
                   reasons=["ValidationError", "None", "None"]):
            r = w.send()
        assert_problem(r, 500)
        assert w.state() == before


# ----- the escalation run and its worker -----------------------------------------------------------------------

def _queue(api: Any, name: str) -> str:
    from chalicelib.adapters.aws import client

    return client("sqs").get_queue_url(QueueName=f"pantau-dev-{name}")["QueueUrl"]


def _drain(api: Any) -> dict[str, Any]:
    import app
    from infra.invoke import drain

    return drain(_queue(api, "escalations"), app.escalation_worker, retry_failed=True)


def _run(as_of: Any) -> Any:
    import app
    from infra.invoke import _Context, scheduled_event

    return app.escalate_unreachable(scheduled_event(as_of.isoformat()), _Context())


def _sent_once(cid: str, phone: str = BHABIN_PHONE) -> None:
    [e] = escalations_of(cid)
    notes = notifications_of(e.escalation_id)
    assert {r: n.status for r, n in notes.items()} == {"bhabinkamtibmas": "sent", "village_office": "sent",
                                                        "officer": "sent", "coordinator": "sent"}
    texts = [m for m in sms_to(phone) if e.escalation_id[:8].upper() in m.upper()]
    assert len(texts) == 1, texts


def test_sns_throttling_defers_a_notification_and_the_redelivery_sends_it_once(api):
    put_village_contacts(api)
    cid = unreachable_client(api)
    _run(at_wib(today_wib()))
    with fault("sns", "Publish", "Throttling", times=1) as calls:
        stats = _drain(api)
    assert calls["failed"] == 1 and stats["failed"] == 1 and stats["deleted"] == 1  # failed once, then done
    _sent_once(cid)
    officer_texts = [m for m in sms_to(PK_ANDI_PHONE) if escalations_of(cid)[0].escalation_id[:8].upper() in m.upper()]
    assert len(officer_texts) == 1


def test_a_dynamodb_fault_in_the_worker_fails_the_message_and_the_redelivery_opens_once(api):
    put_village_contacts(api)
    cid = unreachable_client(api)
    _run(at_wib(today_wib()))
    with fault("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException", times=1) as calls:
        stats = _drain(api)
    assert calls["failed"] == 1 and stats["failed"] == 1 and stats["deleted"] == 1
    _sent_once(cid)
    # One opening; one reply link for the one Bhabinkamtibmas SMS sent.
    assert sorted(_audits(f"escalation#{escalations_of(cid)[0].escalation_id}")) == [
        "escalation.open", "reply_link.issue", "reply_link.issue"]  # the links of the Bhabinkamtibmas and village


def test_an_sqs_fault_fails_the_run_and_the_next_run_escalates_once(api):
    put_village_contacts(api)
    cid = unreachable_client(api)
    due_before = ClientModel.get(cid, consistent_read=True).due_at
    with fault("sqs", "SendMessageBatch", "ServiceUnavailable", status=503), pytest.raises(ClientError):
        _run(at_wib(today_wib()))  # the scheduled invocation fails: Lambda retries it
    assert ClientModel.get(cid, consistent_read=True).due_at == due_before  # still due: nothing is lost
    assert escalations_of(cid) == []
    _run(at_wib(today_wib()))
    _drain(api)
    _sent_once(cid)


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue_and_can_be_redriven(api):
    from chalicelib.adapters.aws import client

    sqs = client("sqs")
    queue, dlq = _queue(api, "escalations"), _queue(api, "escalations-dlq")
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
                        ["Attributes"]["RedrivePolicy"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}

    put_village_contacts(api)
    cid = unreachable_client(api)
    _run(at_wib(today_wib()))
    with fault("sns", "Publish", "Throttling", times=1000) as calls:  # SNS down for good
        stats = _drain(api)
    assert stats["messages"] == 5 and stats["failed"] == 5 and stats["deleted"] == 0  # five receives, then ...
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(dead) == 1 and json.loads(dead[0]["Body"])["client_id"] == cid  # ... the dead-letter queue
    assert calls["failed"] >= 5
    [e] = escalations_of(cid)  # nothing lost: the escalation is open, its notifications wait
    assert {n.status for n in notifications_of(e.escalation_id).values()} == {"pending"}
    assert sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages") is None

    # Once SNS is back an operator redrives the DLQ: every notification is sent, once.
    sqs.send_message(QueueUrl=queue, MessageBody=dead[0]["Body"])
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=dead[0]["ReceiptHandle"])
    assert _drain(api)["deleted"] == 1
    _sent_once(cid)
    assert len(topic_messages(api.resources.coordinators_topic_arn)) >= 1
