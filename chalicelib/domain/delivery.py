"""What the SMS provider says happened to an SMS: Amazon SNS SMS delivery-status log records.

Pure domain logic (standard library only). Amazon SNS writes one JSON record per SMS it tried to deliver to the
CloudWatch Logs group `sns/<region>/<account>/DirectPublishToPhoneNumber` (successes, sampled) or
`.../DirectPublishToPhoneNumber/Failure` (every failure), once the SMS delivery-status logging of the account
is on (docs/operations.md). A record looks like this (the failure example of AWS's documentation, "How do I
monitor SMS deliveries ... Amazon SNS ... CloudWatch"):

    {"notification": {"messageId": "1077257a-92f3-5ca3-bc97-6a915b310625",
                      "timestamp": "2016-06-28 00:40:34.559"},
     "delivery": {"mnc": 0, "destination": "+1XXX5550100", "priceInUSD": 0.00645, "smsType": "Transactional",
                  "mcc": 0, "providerResponse": "Unknown error attempting to reach phone",
                  "dwellTimeMs": 1420, "dwellTimeMsUntilDeviceAck": 1692},
     "status": "FAILURE"}

`messageId` is the id `sns.publish` returned when we sent the SMS (kept on the message record); `timestamp`
is when SNS accepted it, in UTC.

Which failures mean a dead number
    A failure says something about the *number* when the carrier could not reach the phone (unknown or
    unreachable subscriber, invalid number, a phone that refuses SMS). Failures that are about *us* -- the
    account's spend limit or price cap, throttling, the recipient's opt-out of our sender, a carrier filtering
    the content -- say nothing about the number and never mark it inactive: a false "dead number" starts the
    number_inactive ladder (the guarantor and the village office are contacted), so an unknown response is
    treated as *not* about the number unless it names the phone as unreachable or invalid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Provider responses (lower case, substrings) that say the phone cannot be reached by SMS.
_DEAD_NUMBER = ("unknown error attempting to reach phone", "unreachable", "unavailable", "invalid phone number",
                "invalid destination", "phone has blocked sms", "unknown subscriber", "absent subscriber",
                "not a mobile number", "landline")
# ... and those that are about our account, price, rate or content even when they mention the phone.
_NOT_THE_NUMBER = ("opted out", "opt out", "opt-out", "price", "spend", "limit", "throttl", "rate exceeded",
                   "carrier has blocked this message", "blocked this message", "filtered", "spam")


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    destination: str  # E.164 as SNS wrote it
    succeeded: bool
    provider_response: str
    accepted_at: datetime  # when SNS accepted the SMS (UTC)

    @property
    def dead_number(self) -> bool:
        """The failure says the number cannot receive SMS (see the module docstring)."""
        if self.succeeded:
            return False
        text = self.provider_response.lower()
        if any(marker in text for marker in _NOT_THE_NUMBER):
            return False
        return any(marker in text for marker in _DEAD_NUMBER)


class NotADeliveryReport(ValueError):
    pass


def parse_report(message: str | dict[str, Any]) -> DeliveryReport:
    """One SNS SMS delivery-status record (the JSON text of a CloudWatch Logs event, or its parsed dict)."""
    try:
        data = json.loads(message) if isinstance(message, str) else message
        notification, delivery = data["notification"], data["delivery"]
        status = data["status"]
        message_id = notification["messageId"]
        destination = delivery["destination"]
        stamp = notification["timestamp"]
    except (ValueError, TypeError, KeyError) as exc:
        raise NotADeliveryReport("not an SNS SMS delivery-status record") from exc
    if not isinstance(message_id, str) or not message_id or not isinstance(destination, str):
        raise NotADeliveryReport("a delivery-status record without a message id or destination")
    if status not in ("SUCCESS", "FAILURE"):
        raise NotADeliveryReport(f"unknown delivery status {status!r}")
    return DeliveryReport(message_id=message_id, destination=destination, succeeded=status == "SUCCESS",
                          provider_response=str(delivery.get("providerResponse") or ""),
                          accepted_at=_timestamp(stamp))


def _timestamp(text: Any) -> datetime:
    """SNS's `"2016-06-28 00:40:34.559"` (UTC, no offset); an ISO time with an offset is accepted too."""
    if not isinstance(text, str):
        raise NotADeliveryReport("timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise NotADeliveryReport("timestamp is not a time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
