"""Follow-up after an escalation (contract 1.1), in-process under moto: resolution codes, the home-visit task
closed by a counted contact in the record's own transaction, and the task list with due dates."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import get_args

from chalicelib.adapters.aws import client as aws_client
from chalicelib.adapters.tables import AuditModel, ReplyModel, TaskModel
from chalicelib.config import settings
from chalicelib.domain.followup import RESOLUTIONS
from chalicelib.domain.notices import MAX_LINKED_SMS_CHARS, short_ref
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.schemas.escalations import EscalationResolve
from chalicelib.services import escalation, replies
from tests.escalation_support import (
    BHABIN_PHONE,
    PK_ANDI_PHONE,
    at_wib,
    checkin,
    escalations_of,
    put_village_contacts,
    run_and_drain,
    sms_to,
    today_wib,
    topic_messages,
    unreachable_client,
)
from tests.support import assert_problem


def test_resolution_codes_are_the_contracts():
    assert get_args(EscalationResolve.model_fields["resolution"].annotation) == RESOLUTIONS


def _visit(api, client_id: str, present: bool, at: datetime | None = None, user: str = "pk.andi"):
    at = at or datetime.now(UTC) - timedelta(minutes=5)
    r = api.put(f"/v1/clients/{client_id}/visits/{uuid.uuid4()}", user,
                {"visited_at": at.isoformat(), "location": {"lat": -6.3356, "lon": 106.82, "accuracy_m": 10},
                 "client_present": present, "notes": "Kunjungan rumah."})
    assert r.status == 201, r
    return r.json


def test_a_counted_contact_closes_the_home_visit_task_and_the_task_list(api):
    put_village_contacts(api)
    visited, called, ignored = (unreachable_client(api) for _ in range(3))
    run_and_drain(at_wib(today_wib()))
    tasks = {t["client_id"]: t for t in api.get("/v1/tasks?state=open", "pk.andi").json["items"]}
    assert set(tasks) == {visited, called, ignored}
    due = escalation.task_due_date(datetime.now(UTC), "Asia/Jakarta").isoformat()  # working days ahead
    assert all(t["due_date"] == due and t["due_date"] > today_wib().isoformat() for t in tasks.values())

    # Not closed: a visit that did not find the client, a check-in nobody answered, a contact from before
    # the episode began (a late offline record of week 1).
    _visit(api, visited, present=False)
    checkin(api, called, datetime.now(UTC) - timedelta(minutes=3), outcome="no_answer")
    checkin(api, ignored, at_wib(today_wib() - timedelta(days=40), 9))
    assert len(api.get("/v1/tasks?state=open", "pk.andi").json["items"]) == 3

    # Closed: a visit that found the client at home; a completed check-in. Each in the record's transaction,
    # audited; the escalation stays open for the coordinator to resolve.
    _visit(api, visited, present=True)
    checkin(api, called, datetime.now(UTC) - timedelta(minutes=2))
    open_now = api.get("/v1/tasks?state=open", "pk.andi").json["items"]
    assert [t["client_id"] for t in open_now] == [ignored]
    done = {t["client_id"]: t for t in api.get("/v1/tasks?state=done", "kasubsi.jaksel").json["items"]}
    assert done[visited]["closed_reason"] == "visit_counted" and done[called]["closed_reason"] == "checkin_counted"
    assert done[visited]["closed_at"] and done[visited]["version"] == 2
    audits = list(AuditModel.query(f"task#{tasks[visited]['id']}"))
    assert [(a.action, a.actor, a.version) for a in audits] == [("task.close", "pk.andi", 2)]
    assert api.get("/v1/tasks?state=done&officer=pk.andi", "kasubsi.jaksel").json["items"]
    assert_problem(api.get("/v1/tasks?state=done&officer=pk.budi", "pk.andi"), 403)
    assert all(e.state == "open" for e in escalations_of(visited))

    # Resolving afterwards leaves the closed task as it is.
    esc = escalations_of(visited)[0]
    r = api.post(f"/v1/escalations/{esc.escalation_id}/resolve", "kasubsi.jaksel", {"resolution": "found_at_home"})
    assert r.status == 200 and r.json["resolution"] == "found_at_home", r
    task = TaskModel.get(tasks[visited]["id"], consistent_read=True)
    assert (task.state, task.closed_reason, int(task.version)) == ("done", "visit_counted", 2)


# ----- answers from the village --------------------------------------------------------------------------------

LINK = re.compile(r"(https?://\S+)/r/([A-Za-z0-9_-]+)")


def _form(api, token: str, body: str, source: str | None = None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return api.request("POST", f"/r/{token}", raw=body.encode(), headers=headers)


def _escalated(api) -> tuple[str, str, str]:
    """An escalated client; its Bhabinkamtibmas SMS's reply token and the escalation id."""
    put_village_contacts(api)
    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    [text] = sms_to(BHABIN_PHONE)
    base, token = LINK.search(text).groups()
    assert base == settings().public_url and len(token) == 22  # 16 random bytes = 128 bits
    return cid, token, escalations_of(cid)[0].escalation_id


def test_the_village_answers_through_the_reply_link(api):
    _, token, eid = _escalated(api)
    [text] = sms_to(BHABIN_PHONE)
    assert len(text) <= MAX_LINKED_SMS_CHARS and text.endswith(f"/r/{token}") and "Klien Uji" in text

    # Stored hashed only: no item of the table holds the token.
    items = [i for page in aws_client("dynamodb").get_paginator("scan").paginate(
        TableName=ReplyModel.Meta.table_name) for i in page["Items"]]
    assert items and token not in json.dumps(items)
    assert any(i["key"]["S"] == f"link#{hashlib.sha256(token.encode()).hexdigest()}" for i in items)

    page = api.get(f"/r/{token}")
    html = page.body.decode()
    assert page.status == 200 and page.headers["content-type"] == "text/html; charset=utf-8", page
    assert "Klien Uji" in html and "Jagakarsa" in html and "apakah klien ini ada" in html
    assert "<script" not in html and "src=" not in html and "http" not in html.split("<body>")[1]
    assert page.headers["referrer-policy"] == "no-referrer" and "no-store" in page.headers["cache-control"]
    assert "Pasal 362" not in html  # the offence is never shown

    r = _form(api, token, "answer=found&notes=Ada+di+rumah+orang+tuanya")
    assert r.status == 200 and "Terima kasih" in r.body.decode() and "Ada di rumah orang tuanya" in r.body.decode()
    r = _form(api, token, "answer=moved&notes=" + urllib.parse.quote_plus("Pindah ke Jl. Mawar 3, Depok <b>"))
    assert r.status == 200 and "&lt;b&gt;" in r.body.decode() and "<b>" not in r.body.decode()
    for user in ("kasubsi.jaksel", "pk.andi"):
        responses = api.get(f"/v1/escalations/{eid}", user).json["responses"]
        assert [(x["recipient_role"], x["answer"]) for x in responses] == [("bhabinkamtibmas", "found"),
                                                                          ("bhabinkamtibmas", "moved")]
        assert responses[1]["notes"] == "Pindah ke Jl. Mawar 3, Depok <b>"
    listed = api.get("/v1/escalations?state=open", "kasubsi.jaksel").json["items"]
    assert [len(e["responses"]) for e in listed if e["id"] == eid] == [2]
    assert "Jawaban terakhir Anda" in api.get(f"/r/{token}").body.decode()  # the page shows what was sent

    # Audited; the PK got an SMS and the coordinators their topic, each without the notes.
    actions = [a.action for a in AuditModel.query(f"escalation#{eid}")]
    assert actions.count("escalation.response") == 2
    assert actions.count("reply_link.issue") == 2  # the Bhabinkamtibmas and the village office each have theirs
    pk_sms = [m for m in sms_to(PK_ANDI_PHONE) if "Jawaban" in m]
    assert len(pk_sms) == 2 and "Mawar" not in pk_sms[1] and short_ref(eid) in pk_sms[0]
    topic = [m for m in topic_messages(settings().coordinators_topic_arn) if "Jawaban" in m[1]]
    assert len(topic) == 2

    # Bad input: a page that says so, never a 5xx, nothing half-written.
    r = _form(api, token, "answer=maybe")
    assert r.status == 422 and "Mohon pilih salah satu jawaban" in r.body.decode()
    r = _form(api, token, "notes=x")
    assert r.status == 422
    r = api.request("POST", f"/r/{token}", raw=b'{"answer": "found"}', headers={"Content-Type": "application/json"})
    assert r.status == 415 and r.headers["content-type"].startswith("text/html")
    r = _form(api, token, "answer=other&notes=" + "x" * 1001)
    assert r.status == 422
    assert len(api.get(f"/v1/escalations/{eid}", "pk.andi").json["responses"]) == 2

    # Unknown, malformed, expired: 404, 404, 410, the same page whatever the token.
    unknown = api.get(f"/r/{secrets.token_urlsafe(16)}")
    assert unknown.status == 404 and "Tautan tidak ditemukan" in unknown.body.decode()
    for bad in ("x", "%3Cscript%3E", "a" * 300, token + "A"):
        r = api.get(f"/r/{bad}")
        assert r.status == 404 and r.body == unknown.body, bad
    assert _form(api, "nope", "answer=found").status == 404
    link = ReplyModel.get(f"link#{hashlib.sha256(token.encode()).hexdigest()}")
    link.update(actions=[ReplyModel.valid_until.set(to_rfc3339(datetime.now(UTC) - timedelta(seconds=1)))])
    gone = api.get(f"/r/{token}")
    assert gone.status == 410 and "sudah tidak berlaku" in gone.body.decode() and "Klien Uji" not in gone.body.decode()
    assert _form(api, token, "answer=found").status == 410
    assert len(api.get(f"/v1/escalations/{eid}", "pk.andi").json["responses"]) == 2
    assert api.get(f"/r/{token}", "kasubsi.jaksel").status == 410  # a bearer token changes nothing


def test_reply_links_are_rate_limited_by_source_and_by_link(api, monkeypatch):
    _, token, eid = _escalated(api)
    monkeypatch.setattr(replies, "LINK_LIMIT", 3)
    statuses = [api.get(f"/r/{token}").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = _form(api, token, "answer=found")
    assert r.status == 429 and "Terlalu banyak" in r.body.decode() and r.headers["retry-after"] == "3600"
    assert api.get(f"/v1/escalations/{eid}", "pk.andi").json["responses"] == []
    monkeypatch.setattr(replies, "SOURCE_LIMIT", 1)  # this source has made more than one request already
    assert api.get(f"/r/{secrets.token_urlsafe(16)}").status == 429  # guessing tokens is limited too


def test_an_oversized_reply_is_a_page_not_a_problem(api):
    r = _form(api, secrets.token_urlsafe(16), "answer=found&notes=" + "x" * (64 * 1024))
    assert r.status == 413 and r.headers["content-type"].startswith("text/html")
    assert "terlalu panjang" in r.body.decode()


# ----- what the dashboard needs: names, a name search that works for a large Bapas --------------------------------

def test_names_on_lists_and_the_name_search_reads_one_index(api):
    from tests.escalation_support import dynamodb_calls, register

    me = api.get("/v1/me/profile", "kasubsi.jaksel").json
    assert (me["name"], me["bapas_name"], me["timezone"]) == ("Siti Rahmawati", "Bapas Kelas I Jakarta Selatan",
                                                              "Asia/Jakarta")
    assert api.get("/v1/me/profile", "admin.pusat").json["bapas_name"] is None
    start = today_wib() - timedelta(days=3)
    ids = {name: register(api, start, name=name, officer=officer) for name, officer in (
        ("Ádi Nugroho", "pk.andi"), ("Adi Saputra", "pk.budi"), ("Adinda Lestari", "pk.andi"),
        ("Budi Adi", "pk.andi"))}

    def names(query: str, user: str = "kasubsi.jaksel") -> list[str]:
        r = api.get(f"/v1/clients?{query}", user)
        assert r.status == 200, r
        return [c["name"] for c in r.json["items"]]

    with dynamodb_calls() as calls:
        assert names("name=adi") == ["Ádi Nugroho", "Adi Saputra", "Adinda Lestari"]  # accents and case folded
    assert "Scan" not in calls and calls["Query"] == 1, calls
    assert names("name=ADI%20s") == ["Adi Saputra"]
    assert names("name=adi", "pk.andi") == ["Ádi Nugroho", "Adinda Lestari"]  # a PK: their own only
    assert names("name=adi&officer=pk.budi") == ["Adi Saputra"]
    assert names("name=adi", "kasubsi.makassar") == []
    assert names("name=adi&bapas_id=jaksel", "admin.pusat") == ["Ádi Nugroho", "Adi Saputra", "Adinda Lestari"]
    first = api.get("/v1/clients?name=adi&limit=2", "kasubsi.jaksel").json
    rest = api.get(f"/v1/clients?name=adi&limit=2&cursor={first['next_cursor']}", "kasubsi.jaksel").json
    assert [c["name"] for c in first["items"] + rest["items"]] == ["Ádi Nugroho", "Adi Saputra", "Adinda Lestari"]
    assert_problem(api.get(f"/v1/clients?name=bud&cursor={first['next_cursor']}", "kasubsi.jaksel"), 422, "cursor")
    assert_problem(api.get("/v1/clients?name=%20-%20", "kasubsi.jaksel"), 422, "name")
    assert_problem(api.get("/v1/clients?name=adi&state=due", "kasubsi.jaksel"), 422, "name")
    # A renamed client is found by the new name only.
    cid = ids["Budi Adi"]
    version = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"]
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"name": "Adi Budiman"}, headers={"If-Match": str(version)})
    assert r.status == 200, r
    assert names("name=adi%20b") == ["Adi Budiman"] and names("name=budi%20a") == []

    # Escalations and tasks carry the client's and the PK's names; notifications their text.
    put_village_contacts(api)
    unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    [esc] = api.get("/v1/escalations", "kasubsi.jaksel").json["items"]
    assert (esc["client_name"], esc["officer_name"]) == ("Klien Uji", "Andi Saputra")
    texts = {n["recipient_role"]: n["text"] for n in esc["notifications"]}
    assert texts["bhabinkamtibmas"] == sms_to(BHABIN_PHONE)[0] and "Klien Uji" in texts["officer"]
    [task] = api.get("/v1/tasks", "pk.andi").json["items"]
    assert (task["client_name"], task["officer_name"]) == ("Klien Uji", "Andi Saputra")
