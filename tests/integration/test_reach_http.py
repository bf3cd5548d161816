"""Issue 14's "done when" over HTTP against the local stack (moto server + chalice local): reaching the client
before a window is missed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.reach_support import delivery_event, failure
from tests.records_support import checkin_body, new_client


def test_assisted_check_in_channels_are_accepted_and_counted_over_http(stack):
    for channel in ("guarantor_phone", "office"):
        cid = new_client(stack)
        at = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
        r = stack.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi",
                      checkin_body(channel=channel, occurred_at=at))
        assert r.status == 201, r
        assert r.json["channel"] == channel
        compliance = stack.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
        assert compliance["state"] == "compliant" and compliance["last_contact_at"] == r.json["occurred_at"]


# ----- reminders, messages, dead numbers -----------------------------------------------------------------

def _reminder_client(stack, number: str) -> str:
    from tests.escalation_support import today_wib
    from tests.support import client_body

    start = today_wib() - timedelta(days=5)  # weekly window: days 0-6, closing at midnight after tomorrow
    body = client_body("pk.andi", name="Klien Uji Pengingat", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(),
                       phones=[{"number": number, "owner": "client"}])
    r = stack.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json["id"]


def _sms(stack) -> list[tuple[str, str]]:
    import requests

    data = requests.get(f"{stack.stack.endpoint}/moto-api/data.json", timeout=30).json()
    return [(m["phone_number"], m["message"]) for m in data.get("sns", {}).get("SMS", [])]


def _remind(day_hour) -> dict:
    from infra.invoke import invoke

    return invoke("send_reminders", day_hour.isoformat())


def test_a_window_closing_in_two_days_gets_exactly_one_reminder_over_http(stack):
    from tests.escalation_support import at_wib, today_wib
    from tests.support import reset_caches

    reset_caches()
    number = "+6281299887701"
    cid = _reminder_client(stack, "0812-9988-7701")
    result = _remind(at_wib(today_wib(), 9))  # 09:00 WIB, as scheduled
    assert result["sent"] >= 1, result
    messages = stack.get(f"/v1/clients/{cid}/messages", "pk.andi")
    assert messages.status == 200, messages
    [reminder] = messages.json["items"]
    assert reminder["kind"] == "reminder" and reminder["recipient_role"] == "client" and reminder["to"] == number
    assert reminder["status"] == "sent" and "Klien Uji Pengingat" in reminder["text"]
    assert [text for to, text in _sms(stack) if to == number] == [reminder["text"]]
    _remind(at_wib(today_wib(), 10))  # a re-run (or a second run the same day): nothing new
    assert len(stack.get(f"/v1/clients/{cid}/messages", "kasubsi.jaksel").json["items"]) == 1
    assert len([1 for to, _ in _sms(stack) if to == number]) == 1
    assert stack.get(f"/v1/clients/{cid}/messages", "admin.pusat").status == 403


def test_a_wrong_verification_code_is_a_4xx_problem_over_http(stack):
    from tests.support import assert_problem

    cid = new_client(stack)
    sent = stack.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": "0812-3456-7890"})
    # A code goes only in the village's daytime; at night the request is refused (409) and nothing is pending.
    assert sent.status in (202, 409), sent
    wrong = stack.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": "0812-3456-7890",
                                                                      "code": "000000"})
    body = assert_problem(wrong, 422, field="code" if sent.status == 202 else "number", code="validation_failed")
    assert "000000" not in str(body)
    assert_problem(stack.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": "0812-3456-7890",
                                                                               "code": "12ab"}), 422, "code")


def test_a_delivery_failure_marks_the_number_inactive_and_the_client_unreachable_over_http(stack):
    import app as application
    from infra.invoke import _Context
    from tests.escalation_support import at_wib, today_wib
    from tests.support import reset_caches

    reset_caches()
    number = "+6281299887702"
    cid = _reminder_client(stack, "0812-9988-7702")
    _remind(at_wib(today_wib(), 9))
    ddb = stack.boto("dynamodb")
    from chalicelib.adapters.tables import NotificationModel

    found = ddb.query(TableName=NotificationModel.Meta.table_name, IndexName="client-index",
                      KeyConditionExpression="client_id = :c", ExpressionAttributeValues={":c": {"S": cid}})
    [message] = found["Items"]
    message_id = message["message_id"]["S"]
    # The failure record as AWS documents it (SNS SMS delivery logs), for the SMS just sent.
    event = delivery_event(failure(message_id, number, datetime.now(UTC) - timedelta(minutes=1)))
    result = application.sms_delivery_reports(event, _Context())
    assert result == {"number_inactive": 1}, result
    client = stack.get(f"/v1/clients/{cid}", "pk.andi").json
    [phone] = client["phones"]
    assert phone["status"] == "inactive" and phone["verified_at"] is None
    assert client["compliance"]["state"] == "unreachable"
    assert client["compliance"]["reason"] == "number_inactive"
    [listed] = stack.get(f"/v1/clients/{cid}/messages", "pk.andi").json["items"]
    assert listed["status"] == "failed"
    # The same batch delivered again changes nothing.
    assert application.sms_delivery_reports(event, _Context()) == {"already_recorded": 1}
