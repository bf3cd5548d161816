"""Invoke one of the app's scheduled or event functions in-process, with a scheduled event of a given time.

`chalice local` never runs schedules; this is how the daily job is run locally (`make invoke`).
"""

from __future__ import annotations

import uuid
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


def invoke(fn: str, time: str) -> Any:
    import app as application

    handler = getattr(application, fn, None)
    if handler is None or not callable(handler):
        raise SystemExit(f"app has no function {fn}")
    return handler(scheduled_event(time), _Context())
