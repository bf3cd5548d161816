"""Answers from the village and the follow-up, over HTTP against the local stack (issue 12's "done when").

The escalation SMS carries `{api_url}/r/{token}` (locally the API's own URL, as `PANTAU_PUBLIC_URL`); the reply
page is opened and answered like a phone's browser would (a plain GET, then a form POST); the answers appear in
`responses` for the coordinator and the PK; bad tokens are 404/410; a visit that finds the client closes the task.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.escalation_support import at_wib, today_wib
from tests.support import client_body

VILLAGE = "31.74.09.1004"  # a village no seeded client lives in
BHABIN = "+6281277995104"
PK, PK_PHONE = "pk.andi", "+6281100000002"


def _sms(stack: Any) -> list[tuple[str, str]]:
    data = requests.get(f"{stack.stack.endpoint}/moto-api/data.json", timeout=30).json()
    return [(m["phone_number"], m["message"]) for m in data.get("sns", {}).get("SMS", [])]


def _escalated_client(stack: Any) -> str:
    from infra.invoke import invoke

    r = stack.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel",
                  {"bhabinkamtibmas": {"name": "Aipda Wahyu", "phone": "0812-7799-5104"}})
    assert r.status in (200, 201), r
    start = today_wib() - timedelta(days=42)
    body = client_body(PK, name="Klien Uji Jawaban", supervision_start=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(),
                       tracking_from=start.isoformat())  # history on file: its missed windows count
    body["address"]["village_code"] = VILLAGE
    r = stack.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    cid = r.json["id"]
    r = stack.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", PK, {
        "occurred_at": at_wib(start + timedelta(days=1), 10).isoformat(), "channel": "phone", "outcome": "completed"})
    assert r.status == 201, r
    invoke("escalate_unreachable", at_wib(today_wib()).isoformat())
    return cid


def test_the_village_answers_by_sms_link_and_the_visit_closes_the_task_over_http(stack):
    from tests.support import reset_caches

    reset_caches()
    cid = _escalated_client(stack)
    [esc] = [e for e in stack.get("/v1/escalations?state=open&limit=200", "kasubsi.jaksel").json["items"]
             if e["client_id"] == cid]

    # The SMS to the Bhabinkamtibmas carries the reply link, on the API's own URL locally.
    [text] = [m for to, m in _sms(stack) if to == BHABIN]
    match = re.search(r"(http://\S+)/r/([A-Za-z0-9_-]{22})$", text)
    assert match and match.group(1) == stack.api_url and esc["reference"] in text, text
    link = match.group(0)

    # The page, as a phone's browser gets it: the client's name, the village, the question; no login.
    phone = requests.Session()
    page = phone.get(link, timeout=30)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Klien Uji Jawaban" in page.text and "Lenteng Agung" in page.text and 'name="answer"' in page.text

    # found, then a second answer: both kept, visible to the coordinator and the PK, both told.
    done = phone.post(link, data={"answer": "found", "notes": "Sedang di rumah, sehat."}, timeout=30)
    assert done.status_code == 200 and "Terima kasih" in done.text
    again = phone.post(link, data={"answer": "other", "notes": "Besok lapor ke Bapas."}, timeout=30)
    assert again.status_code == 200
    for user in ("kasubsi.jaksel", PK):
        responses = stack.get(f"/v1/escalations/{esc['id']}", user).json["responses"]
        assert [(r["recipient_role"], r["answer"], r["notes"]) for r in responses] == [
            ("bhabinkamtibmas", "found", "Sedang di rumah, sehat."),
            ("bhabinkamtibmas", "other", "Besok lapor ke Bapas.")]
    told = [m for to, m in _sms(stack) if to == PK_PHONE and m.startswith("PANTAU: Jawaban")]
    assert len([m for m in told if esc["reference"] in m]) == 2

    # Bad tokens: 404 (unknown, malformed) and 410 (expired), pages that name nothing; never a 5xx.
    for bad in (secrets.token_urlsafe(16), "x", "..%2F..%2Fv1%2Fme", "A" * 500):
        r = phone.get(f"{stack.api_url}/r/{bad}", timeout=30)
        assert r.status_code == 404 and "Klien Uji" not in r.text, bad
        assert phone.post(f"{stack.api_url}/r/{bad}", data={"answer": "found"}, timeout=30).status_code == 404
    from chalicelib.adapters.tables import ReplyModel
    from chalicelib.domain.timeutil import to_rfc3339

    token = match.group(2)
    ReplyModel(f"link#{hashlib.sha256(token.encode()).hexdigest()}").update(
        actions=[ReplyModel.valid_until.set(to_rfc3339(datetime.now(UTC) - timedelta(minutes=1)))])
    expired = phone.get(link, timeout=30)
    assert expired.status_code == 410 and "Klien Uji" not in expired.text
    assert phone.post(link, data={"answer": "found"}, timeout=30).status_code == 410
    assert len(stack.get(f"/v1/escalations/{esc['id']}", PK).json["responses"]) == 2

    # The PK visits and finds the client: the home-visit task is done (in the record's transaction).
    [task] = [t for t in stack.get("/v1/tasks?state=open", PK).json["items"] if t["client_id"] == cid]
    r = stack.put(f"/v1/clients/{cid}/visits/{uuid.uuid4()}", PK, {
        "visited_at": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
        "location": {"lat": -6.3356, "lon": 106.82, "accuracy_m": 10}, "client_present": True,
        "notes": "Klien ada di rumah."})
    assert r.status == 201, r
    assert task["id"] not in [t["id"] for t in stack.get("/v1/tasks?state=open", PK).json["items"]]
    [closed] = [t for t in stack.get("/v1/tasks?state=done&limit=200", "kasubsi.jaksel").json["items"]
                if t["id"] == task["id"]]
    assert closed["closed_reason"] == "visit_counted"
