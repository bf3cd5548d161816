"""Which AWS errors are worth retrying: one home for every "transient" code set and for reading a cancelled
DynamoDB transaction.

The HTTP edge maps a transient error to 503 + Retry-After; the SQS worker leaves the message to be delivered
again; a notification stays `pending`.
"""

from __future__ import annotations

from typing import Any

# Error codes (botocore's `Error.Code`, PynamoDB's `cause_response_code`) after which the same call may pass.
TRANSIENT_AWS_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionConflict", "TransactionInProgressException",
    "SlowDown", "InternalError", "RequestTimeout", "LimitExceededException", "TooManyRequestsException",
    "500", "503",  # S3 HEAD errors have no body: botocore's code is the HTTP status
})
# Reasons DynamoDB gives for cancelling a transaction that the same request, sent again, may pass.
TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# SNS adds its own throttling codes.
SNS_TRANSIENT_CODES = TRANSIENT_AWS_CODES | {"InternalErrorException", "ThrottledException", "KMSThrottlingException"}


def is_transient(code: str | None) -> bool:
    """An error code or a cancellation reason after which sending the same request again may succeed."""
    return code in TRANSIENT_AWS_CODES or code in TRANSIENT_CANCELLATIONS


def cancellation_reasons(exc: Any) -> list[str]:
    """The codes DynamoDB gave for cancelling a transaction, one per item that had a reason."""
    return [r.code for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None and r.code]


def condition_failed(exc: Any) -> bool:
    """True when a transaction was refused by one of its conditions (not by throttling or a conflict)."""
    return "ConditionalCheckFailed" in cancellation_reasons(exc)


def transient_cancellation(exc: Any) -> str | None:
    """The first (sorted) transient reason a transaction was cancelled for: a busy table, not a refused
    condition. None when no reason is transient."""
    reasons = set(cancellation_reasons(exc)) & TRANSIENT_CANCELLATIONS
    return sorted(reasons)[0] if reasons else None
