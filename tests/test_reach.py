"""Reaching the client before a window is missed (issue 14), in-process under moto: reminders (once per window,
under re-runs, concurrent runs and crashes), phone verification, dead numbers from SMS delivery reports, and a
client's messages."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.tables import AuditModel, ClientModel, NotificationModel
from tests.escalation_support import at_wib, atomic_dynamodb_writes, sms_to, sns_backend, today_wib
from tests.reach_support import delivery_event, failure
from tests.support import assert_problem, client_body

NUMBER, NUMBER_LOCAL = "+6281299001100", "0812-9900-1100"
GUARANTOR, GUARANTOR_LOCAL = "+6281399001100", "0813-9900-1100"


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


_counter = iter(range(10_000))


def _numbers() -> tuple[str, str]:
    """A fresh client and guarantor mobile number per client, so SMS counts are per client."""
    n = next(_counter)
    return f"+62812990{n:05d}", f"+62813990{n:05d}"


def register(api: Any, start: date, phones: list[dict] | None = None, **overrides: Any) -> tuple[str, str]:
    mine, guarantor = _numbers()
    if phones is None:
        phones = [{"number": mine, "owner": "client"}, {"number": guarantor, "owner": "guarantor", "name": "Ibu Sri"}]
    body = client_body("pk.andi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(), phones=phones, **overrides)
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json["id"], mine


def remind(as_of: datetime) -> dict[str, Any]:
    from infra.invoke import invoke

    return invoke("send_reminders", as_of.isoformat())


def reminders_of(client_id: str) -> list[NotificationModel]:
    return [m for m in NotificationModel.client_index.query(client_id) if m.kind == "reminder"]


def checkin(api: Any, client_id: str, at: datetime, outcome: str = "completed") -> None:
    import uuid

    r = api.put(f"/v1/clients/{client_id}/checkins/{uuid.uuid4()}", "pk.andi",
                {"occurred_at": at.isoformat(), "channel": "phone", "outcome": outcome})
    assert r.status == 201, r


# ----- reminders ----------------------------------------------------------------------------------------

def test_a_window_closing_within_two_days_gets_one_reminder_and_a_rerun_none(api):
    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))  # window: days 0-6, closes at midnight after tomorrow
    early, _ = register(api, today - timedelta(days=3))  # closes in four days: not yet
    reported, _ = register(api, today - timedelta(days=5))
    checkin(api, reported, at_wib(today - timedelta(days=1), 10))
    result = remind(at_wib(today, 9))
    assert result.get("errors", 0) == 0 and result["sent"] >= 1, result  # outcome counts: an absent one is 0
    [reminder] = reminders_of(cid)
    assert reminder.status == "sent" and reminder.to == mine and reminder.recipient_role == "client"
    assert sms_to(mine) == [reminder.text]
    text = reminder.text
    assert text.startswith("Yth. Bapak/Ibu Klien Uji") and "Pasal" not in text and "362" not in text
    assert reminders_of(early) == [] and reminders_of(reported) == []
    audit = [a for a in AuditModel.query(f"client#{cid}") if a.action == "reminder.create"]
    assert len(audit) == 1 and audit[0].actor == "system"
    for hour in (9, 11, 15):  # re-runs the same day: nothing new
        remind(at_wib(today, hour))
    assert len(reminders_of(cid)) == 1 and len(sms_to(mine)) == 1
    # The next window gets its own reminder when it is about to close.
    remind(at_wib(today + timedelta(days=7), 9))
    assert len(reminders_of(cid)) == 2 and len(sms_to(mine)) == 2


def test_the_guarantor_gets_it_when_the_client_has_no_usable_number_and_nobody_when_switched_off(api):
    today = today_wib()
    _, guarantor = _numbers()
    cid, _ = register(api, today - timedelta(days=5), phones=[
        {"number": "(021) 7890123", "owner": "client"}, {"number": guarantor, "owner": "guarantor",
                                                         "name": "Ibu Sri"}])
    off, off_number = register(api, today - timedelta(days=5))
    client = api.get(f"/v1/clients/{off}", "kasubsi.jaksel").json
    assert client["reminders_enabled"] is True
    r = api.patch(f"/v1/clients/{off}", "kasubsi.jaksel", {"reminders_enabled": False},
                  headers={"If-Match": str(client["version"])})
    assert r.status == 200 and r.json["reminders_enabled"] is False, r
    assert_problem(api.patch(f"/v1/clients/{off}", "pk.andi", {"reminders_enabled": True},
                             headers={"If-Match": "2"}), 403)
    remind(at_wib(today, 9))
    [reminder] = reminders_of(cid)
    assert reminder.recipient_role == "guarantor" and reminder.to == guarantor
    assert sms_to(guarantor) == [reminder.text] and reminder.text.startswith("Yth. Bapak/Ibu Ibu Sri")
    assert reminders_of(off) == [] and sms_to(off_number) == []


def test_nothing_is_sent_at_night_it_is_held_until_the_morning(api):
    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))
    remind(at_wib(today, 5))  # 05:00 WIB: before daytime
    [held] = reminders_of(cid)
    assert held.status == "deferred" and sms_to(mine) == []
    remind(at_wib(today, 9))  # the morning run sends what is due
    [sent] = reminders_of(cid)
    assert sent.status == "sent" and len(sms_to(mine)) == 1


def test_concurrent_runs_send_one_reminder(api):
    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            from chalicelib.services import reminders

            reminders.run(at_wib(today, 9))
        except BaseException as exc:
            errors.append(exc)

    with atomic_dynamodb_writes():
        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert len(reminders_of(cid)) == 1 and len(sms_to(mine)) == 1


def test_a_run_that_crashed_before_the_sms_is_finished_by_the_next_run(api, monkeypatch):
    from chalicelib.services import outbound

    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))
    real_send = outbound.send

    def crash(record: Any, now: datetime) -> str:
        raise RuntimeError("the Lambda was killed")

    monkeypatch.setattr(outbound, "send", crash)
    with pytest.raises(RuntimeError):
        from chalicelib.services import reminders

        reminders.remind(ClientModel.get(cid), at_wib(today, 9))
    monkeypatch.setattr(outbound, "send", real_send)
    [claimed] = reminders_of(cid)
    assert claimed.status == "sending" and sms_to(mine) == []
    remind(at_wib(today, 9, 1))  # a minute later: the claim may be a live run's, so it is left alone
    assert sms_to(mine) == []
    remind(at_wib(today, 9, 10))  # the claim is stale: this run sends it, once
    assert len(sms_to(mine)) == 1 and reminders_of(cid)[0].status == "sent"
    remind(at_wib(today, 9, 30))
    assert len(sms_to(mine)) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days_in=st.integers(min_value=0, max_value=6),
       hours=st.lists(st.integers(min_value=0, max_value=7 * 24 - 1), min_size=1, max_size=6),
       reported_hour=st.one_of(st.none(), st.integers(min_value=0, max_value=7 * 24 - 1)))
def test_property_one_reminder_per_window_whatever_the_runs(api, days_in, hours, reported_hour):
    """Daily runs, re-runs and night runs at any instants of a client's current window (in time order, as the
    schedule runs them): at most one reminder for the window, and exactly one when a daytime run saw it owed
    within two days of its close."""
    start = today_wib() - timedelta(days=days_in)
    cid, mine = register(api, start)
    opens = at_wib(start, 0)
    closes = opens + timedelta(days=7)
    reported = None
    if reported_hour is not None and opens + timedelta(hours=reported_hour) <= datetime.now(UTC):
        reported = opens + timedelta(hours=reported_hour)
        checkin(api, cid, reported)
    runs = sorted(opens + timedelta(hours=h, minutes=30) for h in hours)
    for as_of in runs:
        remind(as_of)
    sent = [m for m in reminders_of(cid) if m.status == "sent"]
    assert len(reminders_of(cid)) <= 1 and len(sent) == len(sms_to(mine)) <= 1
    owed_in_daytime = any(closes - timedelta(days=2) < r < closes and 8 <= r.astimezone(opens.tzinfo).hour < 18
                          and (reported is None or reported > r) for r in runs)
    assert len(sent) == (1 if owed_in_daytime else 0), (runs, reported, [m.status for m in reminders_of(cid)])


# ----- phone verification -------------------------------------------------------------------------------

def _code_sent_to(number: str) -> str:
    [text] = sms_to(number)[-1:]
    return next(word.rstrip(".") for word in text.split() if word.rstrip(".").isdigit() and len(word.rstrip(".")) == 6)


def test_verify_and_confirm_a_number(api, daytime):
    cid, mine = register(api, today_wib() - timedelta(days=2))
    sent = api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": mine})
    assert sent.status == 202, sent
    code = _code_sent_to(mine)
    assert code not in sent.body.decode()
    item = ClientModel.get(cid, consistent_read=True)
    assert code not in json.dumps(item.verification.as_dict() if hasattr(item.verification, "as_dict")
                                  else dict(item.verification))
    [message] = api.get(f"/v1/clients/{cid}/messages", "pk.andi").json["items"]
    assert message["kind"] == "verification" and code not in message["text"] and "******" in message["text"]
    # Too soon for another code; a wrong code is a 422 on `code` and spends an attempt.
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": mine}), 429)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    body = assert_problem(api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi",
                                   {"number": mine, "code": wrong}), 422, "code", code="validation_failed")
    assert code not in json.dumps(body)
    ok = api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": mine, "code": code})
    assert ok.status == 200, ok
    phone = next(p for p in ok.json["phones"] if p["number"] == mine)
    assert phone["verified_at"] is not None and phone["status"] == "active"
    assert ClientModel.get(cid, consistent_read=True).verification is None
    # The code is spent.
    assert_problem(api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": mine, "code": code}),
                   422, "number")
    actions = sorted(a.action for a in AuditModel.query(f"client#{cid}") if a.action.startswith("phone."))
    assert actions == ["phone.verification_attempt", "phone.verification_attempt", "phone.verification_sent",
                       "phone.verified"]


def test_verification_is_refused_when_it_cannot_work(api, daytime):
    cid, mine = register(api, today_wib() - timedelta(days=2))
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": "0812-1111-2222"}), 422,
                   "number")  # not the client's
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": "x"}), 422, "number")
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "pk.budi", {"number": mine}), 403)
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "admin.pusat", {"number": mine}), 403)
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "kasubsi.makassar", {"number": mine}), 404)
    daytime["now"] = at_wib(today_wib(), 20)  # 20:00 in the village: no SMS to the client at night
    assert_problem(api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": mine}), 409)
    assert sms_to(mine) == []
    # Five wrong codes, then the challenge is spent: even the right code needs a new one.
    daytime["now"] = at_wib(today_wib(), 10)
    assert api.post(f"/v1/clients/{cid}/phones/verify", "kasubsi.jaksel", {"number": mine}).status == 202
    code = _code_sent_to(mine)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert_problem(api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": mine, "code": wrong}),
                       422, "code")
    assert_problem(api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": mine, "code": code}), 429)
    # An expired code.
    daytime["now"] = at_wib(today_wib(), 11)
    assert api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": mine}).status == 202
    code = _code_sent_to(mine)
    daytime["now"] = at_wib(today_wib(), 11, 11)
    assert_problem(api.post(f"/v1/clients/{cid}/phones/confirm", "pk.andi", {"number": mine, "code": code}), 422,
                   "code")


# ----- dead numbers from SMS delivery reports -----------------------------------------------------------

def deliver(event: dict[str, Any]) -> dict[str, Any]:
    import app as application
    from infra.invoke import _Context

    return application.sms_delivery_reports(event, _Context())


def test_an_undeliverable_reminder_marks_the_number_inactive_and_the_client_unreachable(api):
    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))
    remind(at_wib(today, 9))
    [reminder] = reminders_of(cid)
    sent_at = at_wib(today, 9)
    # Failures that are about us, not the number, change nothing.
    assert deliver(delivery_event(failure(reminder.message_id, mine, sent_at, "Phone number is opted out"),
                                  failure(reminder.message_id, mine, sent_at, "This delivery would exceed max "
                                                                             "price"))) == \
        {"failed_not_the_number": 2}
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["phones"][0]["status"] == "active"
    assert deliver(delivery_event(failure("no-such-message", mine, sent_at))) == {"unknown_message": 1}
    assert deliver(delivery_event(message_type="CONTROL_MESSAGE")) == {"control": 1}

    assert deliver(delivery_event(failure(reminder.message_id, mine, sent_at))) == {"number_inactive": 1}
    client = api.get(f"/v1/clients/{cid}", "pk.andi").json
    assert [p["status"] for p in client["phones"]] == ["inactive", "active"]
    assert client["compliance"]["state"] == "unreachable"
    assert client["compliance"].get("reason", "number_inactive") == "number_inactive"  # `reason`: issue 11
    item = ClientModel.get(cid, consistent_read=True)
    assert item.contacts[-1] == f"{sent_at.astimezone(UTC).isoformat()}|inactive|delivery#{reminder.message_id}"
    assert item.due_at is not None
    [listed] = api.get(f"/v1/clients/{cid}/messages", "kasubsi.jaksel").json["items"]
    assert listed["status"] == "failed"
    assert [a.action for a in AuditModel.query(f"client#{cid}")].count("phone.undeliverable") == 1
    # A redelivered batch changes nothing; the next reminder goes to the guarantor.
    assert deliver(delivery_event(failure(reminder.message_id, mine, sent_at))) == {"already_recorded": 1}


def test_an_undeliverable_sms_to_someone_else_marks_no_client_number(api):
    from chalicelib.services import delivery

    cid, _ = register(api, today_wib() - timedelta(days=5))
    other = "+6281277001000"
    assert delivery.mark_number_inactive(cid, other, datetime.now(UTC), "delivery#x") == "not_a_client_number"
    assert api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]["state"] != "unreachable"
    assert sns_backend() is not None


# ----- messages -----------------------------------------------------------------------------------------

def test_messages_are_listed_newest_first_for_the_pk_and_the_coordinator_only(api, daytime):
    today = today_wib()
    cid, mine = register(api, today - timedelta(days=5))
    remind(at_wib(today, 9))
    assert api.post(f"/v1/clients/{cid}/phones/verify", "pk.andi", {"number": mine}).status == 202
    first = api.get(f"/v1/clients/{cid}/messages?limit=1", "kasubsi.jaksel").json
    assert [m["kind"] for m in first["items"]] == ["verification"] and first["next_cursor"]
    rest = api.get(f"/v1/clients/{cid}/messages?cursor={first['next_cursor']}", "pk.andi").json
    assert [m["kind"] for m in rest["items"]] == ["reminder"] and rest["next_cursor"] is None
    assert set(rest["items"][0]) == {"id", "kind", "recipient_role", "channel", "to", "text", "status", "send_after",
                                     "at"}
    assert_problem(api.get(f"/v1/clients/{cid}/messages", "pk.budi"), 403)
    assert_problem(api.get(f"/v1/clients/{cid}/messages", "kasubsi.makassar"), 404)
    assert_problem(api.get(f"/v1/clients/{cid}/messages", "admin.pusat"), 403)
    other, _ = register(api, today - timedelta(days=5))
    assert_problem(api.get(f"/v1/clients/{other}/messages?cursor={first['next_cursor']}", "pk.andi"), 422,
                   "cursor")


def test_reminders_use_only_their_share_of_the_daily_cap_and_escalations_keep_the_rest(api):
    """A day of many reminders must never hold back an escalation notice: reminders stop at half the cap."""
    from chalicelib.services import outbound
    from tests.escalation_support import set_bapas

    day = today_wib() + timedelta(days=40)  # a day of its own: the cap counter is per Bapas and local day
    clients = [register(api, day - timedelta(days=5))[0] for _ in range(4)]
    set_bapas(sms_daily_cap=4)
    try:
        remind(at_wib(day, 9))
        statuses = sorted(reminders_of(cid)[0].status for cid in clients)
        assert statuses == ["deferred", "deferred", "sent", "sent"], statuses
        held = [reminders_of(cid)[0] for cid in clients if reminders_of(cid)[0].status == "deferred"]
        assert all(h.error == "daily SMS cap reached" for h in held)
        # The other half is still there for escalation notices, and only that half.
        now = at_wib(day, 10)
        assert [outbound._take_cap("jaksel", now, "escalation") for _ in range(3)] == [True, True, False]
        assert outbound._take_cap("jaksel", now, "reminder") is False
    finally:
        set_bapas(sms_daily_cap=None)
