"""The issue's "done when" over HTTP against the local stack (moto server + chalice local).

The scheduled run is invoked in-process against the stack's moto server, as `make invoke
fn=escalate_unreachable time=...` does (chalice local runs neither schedules nor SQS event sources, so
`infra.invoke` also drains the queue into the worker). SMS are read from the moto server's model dump.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.escalation_support import at_wib, today_wib
from tests.support import client_body

VILLAGE = "31.74.09.1005"  # Tanjung Barat: a village no seeded client lives in
BHABIN = "+6281277995005"
PK = "pk.budi"
PK_PHONE = "+6281100000003"


def _sms(stack: Any) -> list[tuple[str, str]]:
    data = requests.get(f"{stack.stack.endpoint}/moto-api/data.json", timeout=30).json()
    return [(m["phone_number"], m["message"]) for m in data.get("sns", {}).get("SMS", [])]


def _invoke(as_of: datetime) -> dict[str, Any]:
    from infra.invoke import invoke

    return invoke("escalate_unreachable", as_of.isoformat())


def _checkin(stack: Any, client_id: str, at: datetime) -> None:
    r = stack.put(f"/v1/clients/{client_id}/checkins/{uuid.uuid4()}", PK,
                  {"occurred_at": at.isoformat(), "channel": "video_call", "outcome": "completed"})
    assert r.status == 201, r


def _mine(stack: Any, client_id: str, path: str = "/v1/escalations", user: str = "kasubsi.jaksel") -> list[dict]:
    items, cursor = [], None
    while True:
        r = stack.get(path + "?limit=200" + (f"&cursor={cursor}" if cursor else ""), user)
        assert r.status == 200, r
        items += [e for e in r.json["items"] if e["client_id"] == client_id]
        cursor = r.json["next_cursor"]
        if not cursor:
            return items


def test_unreachable_client_is_escalated_once_per_episode_over_http(stack):
    from tests.support import reset_caches

    reset_caches()  # in-process tests of this session may have pointed the caches at their own moto
    r = stack.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel",
                  {"bhabinkamtibmas": {"name": "Aiptu Sutrisno", "phone": "0812-7799-5005"}})
    assert r.status in (200, 201), r
    today = today_wib()
    start = today - timedelta(days=42)  # supervision began six weeks ago
    body = client_body(PK, name="Klien Uji Eskalasi", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(),
                       tracking_from=start.isoformat())  # history on file since the start (contract 1.1)
    body["address"]["village_code"] = VILLAGE
    r = stack.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    cid = r.json["id"]
    _checkin(stack, cid, at_wib(start + timedelta(days=1), 10))  # two completed weekly check-ins
    _checkin(stack, cid, at_wib(start + timedelta(days=8), 10))

    result = _invoke(at_wib(today))
    assert result["escalate_unreachable"]["enqueued"] >= 1, result
    [esc] = _mine(stack, cid)
    assert esc["state"] == "open" and esc["reason"] == "three_missed" and esc["consecutive_missed"] == 4
    roles = {n["recipient_role"]: n for n in esc["notifications"]}
    assert roles["bhabinkamtibmas"]["to"] == BHABIN and roles["bhabinkamtibmas"]["status"] == "sent"
    assert roles["officer"]["status"] == "sent" and roles["coordinator"]["status"] == "sent"
    sms = _sms(stack)
    [to_bhabin] = [m for to, m in sms if to == BHABIN]
    assert "Klien Uji Eskalasi" in to_bhabin and "Tanjung Barat" in to_bhabin and esc["reference"] in to_bhabin
    assert len([m for to, m in sms if to == PK_PHONE and esc["reference"] in m]) == 1
    [task] = _mine(stack, cid, "/v1/tasks", PK)
    assert task["kind"] == "home_visit" and task["state"] == "open" and task["escalation_id"] == esc["id"]
    assert stack.get(f"/v1/clients/{cid}", PK).json["compliance"]["state"] == "unreachable"

    _invoke(at_wib(today))  # invoked again: nothing new sent, for anyone
    assert _sms(stack) == sms and len(_mine(stack, cid)) == 1

    _checkin(stack, cid, datetime.now(UTC) - timedelta(minutes=2))  # the episode ends
    compliance = stack.get(f"/v1/clients/{cid}", PK).json["compliance"]
    assert compliance["state"] == "compliant" and compliance["consecutive_missed"] == 0

    _invoke(at_wib(today + timedelta(days=28)))  # three more missed weeks: a new episode, in its grace period
    assert len(_mine(stack, cid)) == 1
    for _ in range(2):  # two days later: escalated, notified once
        _invoke(at_wib(today + timedelta(days=30)))
    escalations = _mine(stack, cid)
    assert len(escalations) == 2
    second = next(e for e in escalations if e["id"] != esc["id"])
    assert second["consecutive_missed"] == 3 and second["state"] == "open"
    assert [(n["recipient_role"], n["status"]) for n in second["notifications"]] == [
        ("bhabinkamtibmas", "sent"), ("village_office", "no_contact"), ("officer", "sent"), ("coordinator", "sent")]
    assert len([m for to, m in _sms(stack) if to == BHABIN]) == 2
    first = next(e for e in escalations if e["id"] == esc["id"])
    assert first["episode_ended_at"] is not None
