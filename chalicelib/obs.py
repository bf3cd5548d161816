"""Observability: one Powertools Logger, Metrics and Tracer for the whole app.

Logs are JSON with a correlation id per request. They carry ids, roles, codes and counts only:
never names, phone numbers, addresses, offences or request bodies.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pantau")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Pantau"), service=SERVICE)
tracer = Tracer(service=SERVICE, disabled=os.environ.get("POWERTOOLS_TRACE_DISABLED", "true") == "true")

# exifread warns about every photo without EXIF ("File format not recognized"): not worth a log line each.
logging.getLogger("exifread").setLevel(logging.ERROR)
