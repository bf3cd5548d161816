"""Observability: one Powertools Logger, Metrics and Tracer for the whole app.

Logs are JSON with a correlation id per request. They carry ids, roles, codes and counts only:
never names, phone numbers, addresses, offences or request bodies.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pantau")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Pantau"), service=SERVICE)

_tracer: Any = None
_tracer_lock = threading.Lock()


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true") != "true"


def tracer() -> Any:
    """The Powertools Tracer, built on first use rather than at import: building it imports the X-Ray SDK and
    patches botocore (every AWS call a subsegment), some 100 ms of a cold start. The gate calls it on the first
    request when tracing is on (prod); SnapStart's before-snapshot hook builds it into the snapshot."""
    global _tracer
    if _tracer is None:
        with _tracer_lock:
            if _tracer is None:
                from aws_lambda_powertools import Tracer

                _tracer = Tracer(service=SERVICE, disabled=not tracing_enabled())
    return _tracer

# exifread warns about every photo without EXIF ("File format not recognized"): not worth a log line each.
logging.getLogger("exifread").setLevel(logging.ERROR)
