"""Issue 11's "done when", over HTTP against the local stack (moto server + chalice local).

The scheduled run is invoked in-process against the stack, as `make invoke fn=escalate_unreachable time=...`
does (it also drains the queue into the worker). SMS are read from the moto server's model dump. Each test
uses its own villages so the stack's other clients do not get in the way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.escalation_support import at_wib, today_wib
from tests.support import assert_problem, client_body

PK = "pk.budi"


def _sms(stack: Any, to: str | None = None) -> list[str]:
    data = requests.get(f"{stack.stack.endpoint}/moto-api/data.json", timeout=30).json()
    return [m["message"] for m in data.get("sns", {}).get("SMS", []) if to is None or m["phone_number"] == to]


def _invoke(as_of: datetime) -> dict[str, Any]:
    from infra.invoke import invoke

    return invoke("escalate_unreachable", as_of.isoformat())


def _register(stack: Any, start, village: str, **overrides: Any) -> dict[str, Any]:
    body = client_body(PK, supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=360)).isoformat(), **overrides)
    body["address"]["village_code"] = village
    r = stack.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    return r.json


def _checkin(stack: Any, client_id: str, at: datetime, outcome: str = "completed") -> None:
    r = stack.put(f"/v1/clients/{client_id}/checkins/{uuid.uuid4()}", PK,
                  {"occurred_at": at.isoformat(), "channel": "phone", "outcome": outcome})
    assert r.status == 201, r


def _escalation(stack: Any, client_id: str) -> dict[str, Any] | None:
    r = stack.get(f"/v1/clients/{client_id}", PK)
    eid = r.json["open_escalation_id"]
    return None if eid is None else stack.get(f"/v1/escalations/{eid}", "kasubsi.jaksel").json


def _contacts(stack: Any, village: str, bhabin: str | None, office: str | None) -> None:
    body: dict[str, Any] = {}
    if bhabin:
        body["bhabinkamtibmas"] = {"name": "Aiptu Sutrisno", "phone": bhabin}
    if office:
        body["village_office"] = {"name": "Sekretaris Lurah", "phone": office}
    r = stack.put(f"/v1/villages/{village}/contacts", "kasubsi.jaksel", body)
    assert r.status in (200, 201), r


def _fresh(stack: Any) -> None:
    from tests.support import reset_caches

    reset_caches()  # in-process tests of this session may have pointed the caches at their own moto


def test_late_registration_and_an_interval_change_never_recount_the_past(stack):
    _fresh(stack)
    today = today_wib()
    late = _register(stack, today - timedelta(days=42), "31.74.09.1004")  # 42 days into asimilasi, no history
    assert late["tracking_from"] == today.isoformat()
    assert (late["compliance"]["state"], late["compliance"]["consecutive_missed"]) == ("due", 0)

    start = today - timedelta(days=150)
    monthly = _register(stack, start, "31.74.09.1004", program="pembebasan_bersyarat",
                        tracking_from=start.isoformat())
    for month in range(5):
        _checkin(stack, monthly["id"], at_wib(start + timedelta(days=30 * month + 3), 10))
    current = stack.get(f"/v1/clients/{monthly['id']}", "kasubsi.jaksel")
    r = stack.patch(f"/v1/clients/{monthly['id']}", "kasubsi.jaksel", {"checkin_interval_days": 7},
                    headers={"If-Match": current.headers["etag"]})
    assert r.status == 200, r
    assert [e["checkin_interval_days"] for e in r.json["schedule"]] == [30, 7]
    assert (r.json["compliance"]["state"], r.json["compliance"]["consecutive_missed"]) == ("due", 0)

    _invoke(at_wib(today + timedelta(days=1), 10))
    assert _escalation(stack, late["id"]) is None and _escalation(stack, monthly["id"]) is None


def test_a_night_run_sends_nothing_outside_the_bapas_and_the_morning_run_sends_it(stack):
    _fresh(stack)
    village, bhabin, office = "31.74.09.1006", "+6281277996006", "+6281277997006"
    _contacts(stack, village, "0812-7799-6006", "0812-7799-7006")
    today = today_wib()
    start = today - timedelta(days=46)
    client = _register(stack, start, village, tracking_from=start.isoformat())  # weeks 0-5 missed
    night = at_wib(today - timedelta(days=2), 22, 30)
    _invoke(night)
    esc = _escalation(stack, client["id"])
    roles = {n["recipient_role"]: n for n in esc["notifications"]}
    assert (roles["bhabinkamtibmas"]["status"], roles["village_office"]["status"]) == ("deferred", "deferred")
    assert roles["bhabinkamtibmas"]["send_after"] == at_wib(today - timedelta(days=1), 8, 0).astimezone(
        UTC).isoformat()
    assert roles["officer"]["status"] == "sent" and roles["coordinator"]["status"] == "sent"
    assert _sms(stack, bhabin) == [] and _sms(stack, office) == []

    _invoke(at_wib(today - timedelta(days=1), 8, 30))
    esc = _escalation(stack, client["id"])
    assert {n["recipient_role"]: n["status"] for n in esc["notifications"]} == {
        "bhabinkamtibmas": "sent", "village_office": "sent", "officer": "sent", "coordinator": "sent"}
    [text] = _sms(stack, bhabin)
    assert text.startswith("Yth. Bapak/Ibu Aiptu Sutrisno, Bapas Kelas I Jakarta Selatan mohon bantuan memastikan")
    assert "Kelurahan Cipedak" in text and "Pasal" not in text and esc["reference"] in text
    assert len(_sms(stack, office)) == 1


def test_a_dead_number_reaches_the_village_office_and_guarantor_not_the_police_after_grace(stack):
    _fresh(stack)
    village, bhabin, office, guarantor = "31.74.09.1003", "+6281277996003", "+6281277997003", "+6281399003003"
    _contacts(stack, village, "0812-7799-6003", "0812-7799-7003")
    today = today_wib()
    phones = [{"number": "0812-3456-0003", "owner": "client"},
              {"number": "0813-9900-3003", "owner": "guarantor", "name": "Ibu Sri"}]
    client = _register(stack, today - timedelta(days=20), village, phones=phones)
    _checkin(stack, client["id"], at_wib(today - timedelta(days=4), 10), outcome="number_inactive")
    got = stack.get(f"/v1/clients/{client['id']}", PK).json["compliance"]
    assert (got["state"], got["reason"]) == ("unreachable", "number_inactive")

    _invoke(at_wib(today - timedelta(days=3), 9))  # 23 hours later: within the grace period
    assert _escalation(stack, client["id"]) is None and _sms(stack, office) == [] and _sms(stack, guarantor) == []
    _invoke(at_wib(today - timedelta(days=2), 11))
    esc = _escalation(stack, client["id"])
    assert esc["reason"] == "number_inactive"
    assert {n["recipient_role"]: n["status"] for n in esc["notifications"]} == {
        "guarantor": "sent", "village_office": "sent", "officer": "sent"}
    assert len(_sms(stack, office)) == 1 and len(_sms(stack, guarantor)) == 1
    assert _sms(stack, bhabin) == []  # never the police for a dead number


def test_a_village_without_a_bhabinkamtibmas_uses_its_kecamatan_polsek(stack):
    _fresh(stack)
    polsek = "+6281255506001"
    r = stack.put("/v1/areas/31.74.06/contacts", "kasubsi.jaksel",
                  {"polsek": {"name": "Iptu Hartono", "phone": "0812-5550-6001"}})
    assert r.status in (200, 201), r
    assert stack.get("/v1/areas/317406/contacts", PK).json["polsek"]["phone"] == polsek
    today = today_wib()
    start = today - timedelta(days=46)
    client = _register(stack, start, "31.74.06.1003", tracking_from=start.isoformat())  # Pondok Labu: no contacts
    _invoke(at_wib(today, 10))
    esc = _escalation(stack, client["id"])
    roles = {n["recipient_role"]: n for n in esc["notifications"]}
    assert (roles["polsek"]["status"], roles["polsek"]["to"]) == ("sent", polsek)
    assert "bhabinkamtibmas" not in roles and roles["village_office"]["status"] == "no_contact"
    [text] = [m for m in _sms(stack, polsek) if esc["reference"] in m]
    assert text.startswith("Yth. Bapak/Ibu Iptu Hartono,")


def test_a_landline_as_a_village_contact_is_refused(stack):
    _fresh(stack)
    r = stack.put("/v1/villages/31.74.09.1002/contacts", "kasubsi.jaksel",
                  {"bhabinkamtibmas": {"name": "Aiptu Sutrisno", "phone": "(021) 7890-1234"}})
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["bhabinkamtibmas.phone"]
    r = stack.put("/v1/areas/31.74/contacts", "kasubsi.jaksel",
                  {"polres": {"name": "Polres", "phone": "0800-1-234567"}})
    assert [e["field"] for e in assert_problem(r, 422)["errors"]] == ["polres.phone"]


def test_the_daily_cap_defers_the_excess(stack):
    _fresh(stack)
    from chalicelib.adapters.tables import BapasModel
    from chalicelib.services.common import BAPAS

    village = "31.74.10.1001"
    _contacts(stack, village, "0812-7799-6101", "0812-7799-7101")
    today = today_wib()
    start = today - timedelta(days=46)
    clients = [_register(stack, start, village, tracking_from=start.isoformat()) for _ in range(2)]
    bapas = BapasModel.get("jaksel")
    saved = bapas.sms_daily_cap
    bapas.update(actions=[BapasModel.sms_daily_cap.set(1)])
    BAPAS.clear()
    try:
        day = today - timedelta(days=5)  # a day nothing else of the stack was sent on
        _invoke(at_wib(day, 10))
        statuses = [n for c in clients for n in _escalation(stack, c["id"])["notifications"]
                    if n["recipient_role"] in ("bhabinkamtibmas", "village_office")]
        held = [n for n in statuses if n["status"] == "deferred"]
        assert len(held) >= 3 and all(n["error"] == "daily SMS cap reached" for n in held), statuses
        assert all(n["send_after"] == at_wib(day + timedelta(days=1), 8, 0).astimezone(UTC).isoformat()
                   for n in held)
        assert sum(n["status"] == "sent" for n in statuses) <= 1
    finally:
        bapas.update(actions=[BapasModel.sms_daily_cap.set(saved) if saved is not None
                              else BapasModel.sms_daily_cap.remove()])
        BAPAS.clear()
