"""Helpers for issue 14's tests: SNS SMS delivery-failure records and the CloudWatch Logs invocation carrying them."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any


def failure(message_id: str, destination: str, at: datetime,
            response: str = "Unknown error attempting to reach phone") -> dict[str, Any]:
    """SNS's delivery-status record of a failed SMS, in the format of AWS's own example (AWS Knowledge Center,
    "How do I monitor SMS deliveries for Amazon SNS in CloudWatch": log group
    `sns/<region>/<account>/DirectPublishToPhoneNumber/Failure`; see tests/unit/test_delivery.py)."""
    return {"notification": {"messageId": message_id,
                             "timestamp": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
            "delivery": {"mnc": 0, "destination": destination, "priceInUSD": 0.00645, "smsType": "Transactional",
                         "mcc": 0, "providerResponse": response, "dwellTimeMs": 1420,
                         "dwellTimeMsUntilDeviceAck": 1692},
            "status": "FAILURE"}


def delivery_event(*records: dict[str, Any], message_type: str = "DATA_MESSAGE") -> dict[str, Any]:
    """The event a CloudWatch Logs subscription filter gives a Lambda function: `awslogs.data` is the base64 of
    the gzipped JSON {messageType, owner, logGroup, logStream, subscriptionFilters, logEvents[{id, timestamp,
    message}]} (CloudWatch Logs User Guide, "Using CloudWatch Logs subscription filters")."""
    data = {"messageType": message_type, "owner": "123456789012",
            "logGroup": "sns/ap-southeast-3/123456789012/DirectPublishToPhoneNumber/Failure",
            "logStream": "3a1b2c3d-sms-failures", "subscriptionFilters": ["pantau-sms-delivery-reports"],
            "logEvents": [{"id": str(i), "timestamp": 1764662400000 + i, "message": json.dumps(r)}
                          for i, r in enumerate(records)]}
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}
