"""SNS SMS delivery-status records (chalicelib/domain/delivery.py), in the format AWS documents.

The two records below are AWS's own examples of the SNS SMS delivery logs in CloudWatch Logs (AWS Knowledge
Center, "How do I monitor SMS deliveries for Amazon SNS in CloudWatch": log groups
`sns/<region>/<account>/DirectPublishToPhoneNumber` and `.../DirectPublishToPhoneNumber/Failure`), with the
masked destination replaced by an Indonesian number.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.domain.delivery import NotADeliveryReport, parse_report

SUCCESS = {
    "notification": {"messageId": "34d9b400-c6dd-5444-820d-fbeb0f1f54cf", "timestamp": "2016-06-28 00:40:34.558"},
    "delivery": {"phoneCarrier": "My Phone Carrier", "mnc": 270, "destination": "+6281234567890",
                 "priceInUSD": 0.00645, "smsType": "Transactional", "mcc": 310,
                 "providerResponse": "Message has been accepted by phone carrier", "dwellTimeMs": 599,
                 "dwellTimeMsUntilDeviceAck": 1344},
    "status": "SUCCESS",
}
FAILURE = {
    "notification": {"messageId": "1077257a-92f3-5ca3-bc97-6a915b310625", "timestamp": "2016-06-28 00:40:34.559"},
    "delivery": {"mnc": 0, "destination": "+6281234567890", "priceInUSD": 0.00645, "smsType": "Transactional",
                 "mcc": 0, "providerResponse": "Unknown error attempting to reach phone", "dwellTimeMs": 1420,
                 "dwellTimeMsUntilDeviceAck": 1692},
    "status": "FAILURE",
}


def test_the_documented_records_parse():
    ok = parse_report(json.dumps(SUCCESS))
    assert ok.succeeded and not ok.dead_number and ok.message_id == "34d9b400-c6dd-5444-820d-fbeb0f1f54cf"
    failed = parse_report(json.dumps(FAILURE))
    assert not failed.succeeded and failed.dead_number and failed.destination == "+6281234567890"
    assert failed.accepted_at == datetime(2016, 6, 28, 0, 40, 34, 559000, tzinfo=UTC)


@pytest.mark.parametrize(("response", "dead"), [
    ("Unknown error attempting to reach phone", True),
    ("Phone is currently unreachable/unavailable", True),
    ("Invalid phone number", True),
    ("Phone has blocked SMS", True),
    # About us, not the number: never a reason to start the number_inactive ladder.
    ("This delivery would exceed max price", False),
    ("Phone number is opted out", False),
    ("Phone carrier has blocked this message", False),
    ("Rate exceeded", False),
    ("Something new nobody documented", False),
])
def test_only_failures_about_the_phone_mean_a_dead_number(response, dead):
    record = json.loads(json.dumps(FAILURE))
    record["delivery"]["providerResponse"] = response
    assert parse_report(record).dead_number is dead


BAD_TIME = {**FAILURE, "notification": {"messageId": "x", "timestamp": "yesterday"}}


@pytest.mark.parametrize("text", ["", "not json", "[]", json.dumps({"notification": {}}),
                                  json.dumps({**FAILURE, "status": "PENDING"}), json.dumps(BAD_TIME)])
def test_anything_else_is_not_a_report(text):
    with pytest.raises(NotADeliveryReport):
        parse_report(text)
