"""Version 1.1 tracking and cadence through the API (moto): `tracking_from`, the cadence history, and that
neither a late registration nor a change of interval recounts the past."""

from __future__ import annotations

from datetime import timedelta

from tests.escalation_support import VILLAGE, at_wib, checkin, escalations_of, run_and_drain, today_wib
from tests.support import assert_problem, client_body


def _register(api, start, **overrides):
    body = client_body("pk.andi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=360)).isoformat(), **overrides)
    body["address"]["village_code"] = VILLAGE
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json


def _patch(api, client, body, status=200):
    r = api.patch(f"/v1/clients/{client['id']}", "kasubsi.jaksel", body,
                  headers={"If-Match": str(client["version"])})
    assert r.status == status, r
    return r


def test_a_client_registered_late_is_due_not_unreachable(api):
    today = today_wib()
    start = today - timedelta(days=42)  # 42 days into asimilasi, no history on file
    client = _register(api, start)
    assert client["tracking_from"] == today.isoformat()
    assert client["schedule"] == [{"from": start.isoformat(), "checkin_interval_days": 7, "program": "asimilasi",
                                   "changed_on": today.isoformat(), "previous_end": None}]
    c = client["compliance"]
    assert (c["state"], c["consecutive_missed"], c["reason"], c["escalation_due_at"]) == ("due", 0, None, None)
    assert run_and_drain(at_wib(today, 10))["escalate_unreachable"]["enqueued"] == 0
    assert escalations_of(client["id"]) == []

    # With its history on file (tracking_from = start) the same client is unreachable, as 1.0 said.
    old = _register(api, start, tracking_from=start.isoformat())
    assert (old["compliance"]["state"], old["compliance"]["reason"]) == ("unreachable", "three_missed")
    # tracking_from may be moved later by PATCH: the history before it is never missed.
    fixed = _patch(api, old, {"tracking_from": today.isoformat()}).json
    assert (fixed["compliance"]["state"], fixed["compliance"]["consecutive_missed"]) == ("due", 0)


def test_tracking_from_must_lie_in_the_period(api):
    today = today_wib()
    start = today - timedelta(days=10)
    body = client_body("pk.andi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=30)).isoformat())
    for bad in ((start - timedelta(days=1)).isoformat(), (start + timedelta(days=31)).isoformat(), "2026-13-01"):
        assert_problem(api.post("/v1/clients", "kasubsi.jaksel", {**body, "tracking_from": bad}), 422, "tracking_from")
    # Registered before the supervision starts: tracking begins with it.
    future = today + timedelta(days=5)
    client = _register(api, future)
    assert client["tracking_from"] == future.isoformat()
    assert_problem(_patch(api, client, {"tracking_from": None}, 422), 422, "tracking_from")


def test_an_interval_change_keeps_the_closed_windows(api):
    today = today_wib()
    start = today - timedelta(days=150)  # five monthly windows closed, each met
    client = _register(api, start, program="pembebasan_bersyarat", tracking_from=start.isoformat())
    for month in range(5):
        checkin(api, client["id"], at_wib(start + timedelta(days=30 * month + 3), 10))
    client = api.get(f"/v1/clients/{client['id']}", "kasubsi.jaksel").json
    assert client["compliance"]["state"] == "due" and client["checkin_interval_days"] == 30

    # Monthly -> weekly: five compliant months stay compliant (1.0 recounted them as 16 missed windows).
    weekly = _patch(api, client, {"checkin_interval_days": 7}).json
    assert weekly["schedule"] == [
        {"from": start.isoformat(), "checkin_interval_days": 30, "program": "pembebasan_bersyarat",
         "changed_on": today.isoformat(), "previous_end": None},
        {"from": today.isoformat(), "checkin_interval_days": 7, "program": "pembebasan_bersyarat",
         "changed_on": today.isoformat(), "previous_end": None}]
    c = weekly["compliance"]
    assert (c["state"], c["consecutive_missed"], c["next_due"]) == ("due", 0, (today + timedelta(days=6)).isoformat())
    assert run_and_drain(at_wib(today + timedelta(days=1), 10))["escalate_unreachable"]["enqueued"] == 0

    # effective_from: not before the current window's first day, not without a cadence change.
    assert_problem(_patch(api, weekly, {"checkin_interval_days": 14,
                                        "effective_from": (today - timedelta(days=1)).isoformat()}, 422),
                   422, "effective_from")
    assert_problem(_patch(api, weekly, {"notes": "x", "effective_from": today.isoformat()}, 422), 422,
                   "effective_from")
    later = (today + timedelta(days=7)).isoformat()
    program = _patch(api, weekly, {"program": "asimilasi", "effective_from": later}).json
    assert [(e["from"], e["checkin_interval_days"], e["program"]) for e in program["schedule"]][1:] == [
        (today.isoformat(), 7, "pembebasan_bersyarat"), (later, 7, "asimilasi")]
    assert program["compliance"]["consecutive_missed"] == 0
    # A second change on the same day replaces a cadence that has not begun.
    again = _patch(api, program, {"checkin_interval_days": 14, "effective_from": later}).json
    assert [(e["from"], e["checkin_interval_days"]) for e in again["schedule"]][-1] == (later, 14)
    assert len(again["schedule"]) == 3


def test_a_change_dated_back_to_the_window_start_never_misses_a_closed_window(api):
    today = today_wib()
    start = today - timedelta(days=50)  # monthly: window 1 began 20 days ago, nothing owed yet
    client = _register(api, start, program="cuti_bersyarat", tracking_from=start.isoformat())
    checkin(api, client["id"], at_wib(start + timedelta(days=3), 10))
    back = _patch(api, client, {"checkin_interval_days": 7,
                                "effective_from": (start + timedelta(days=30)).isoformat()}).json
    c = back["compliance"]
    assert (c["state"], c["consecutive_missed"]) == ("due", 0)  # weeks that ended before today are not missed
