"""Invoke one of the app's scheduled or event functions in-process, with a scheduled event of a given time.

`chalice local` never runs schedules nor event sources; this is how the daily job is run locally
(`make invoke`). After `escalate_unreachable`, the escalation queue is drained into the worker the way
Lambda's SQS event source mapping would (batches of 10, per-item failures kept on the queue): a local-only
emulation, which is why it lives here and not in the app.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from chalicelib.domain.timeutil import parse_rfc3339, to_rfc3339


class _Context:
    function_name = "pantau-local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:pantau-local"
    aws_request_id = ""

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def scheduled_event(time: str) -> dict[str, Any]:
    at = to_rfc3339(parse_rfc3339(time)).replace("+00:00", "Z")
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": at, "region": "ap-southeast-3",
        "resources": ["arn:aws:events:ap-southeast-3:123456789012:rule/pantau-local"], "detail": {},
    }


# Scheduled functions whose work continues on a queue: (queue settings attribute, worker function in app.py).
QUEUE_WORKERS = {"escalate_unreachable": ("escalation_queue_url", "escalation_worker")}


# One-off operator functions (not Lambda functions): `make invoke fn=<name> time=<RFC 3339>` runs them too.
MIGRATIONS = {name: ("chalicelib.services.migrations", name)
              for name in ("migrate_tracking_from", "migrate_report_summary", "migrate_name_key")}


def invoke(fn: str, time: str) -> Any:
    if fn in MIGRATIONS:
        import importlib

        module, name = MIGRATIONS[fn]
        return getattr(importlib.import_module(module), name)(parse_rfc3339(time))
    import app as application

    handler = getattr(application, fn, None)
    if handler is None or not callable(handler):
        raise SystemExit(f"app has no function {fn}")
    result = handler(scheduled_event(time), _Context())
    if fn not in QUEUE_WORKERS:
        return result
    queue_setting, worker = QUEUE_WORKERS[fn]
    from chalicelib.config import settings

    return {fn: result, worker: drain(getattr(settings(), queue_setting), getattr(application, worker))}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping gives the function for these received messages."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def drain(queue_url: str, worker: Any, retry_failed: bool = False, max_batches: int = 10_000) -> dict[str, Any]:
    """Feed the queue to `worker` in batches of 10 until it is empty; delete what the worker did not fail.

    Failed messages stay on the queue, invisible for its visibility timeout, as in AWS (and go to the DLQ
    after maxReceiveCount). `retry_failed` makes them visible again at once, for tests of redelivery.
    """
    from chalicelib.adapters.aws import client
    from chalicelib.config import settings

    sqs = client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stats: Counter[str] = Counter()
    for _ in range(max_batches):
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = received.get("Messages", [])
        if not messages:
            break
        stats["batches"] += 1
        stats["messages"] += len(messages)
        try:
            response = worker(sqs_event(messages, queue_arn, settings().region), _Context()) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # an invocation error fails the whole batch, as in Lambda
            stats["invocation_errors"] += 1
            stats["last_error"] = type(exc).__name__  # type: ignore[assignment]
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        stats["deleted"] += len(done)
        stats["failed"] += len(failed)
        if retry_failed and failed:
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages) if m["MessageId"] in failed])
    return dict(stats)
