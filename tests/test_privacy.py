"""Privacy: nothing personal in any log line, short-lived photo URLs only for who may see the client, audited
reads, and the retention job that deletes personal data past the retention period and keeps the statistics."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.adapters.tables import AuditModel, ClientModel, NotificationModel, RecordModel
from chalicelib.schemas.clients import ClientOut
from chalicelib.schemas.photos import PhotoUrlOut
from chalicelib.services import retention
from tests.escalation_support import (
    VILLAGE,
    at_wib,
    checkin,
    dynamodb_calls,
    register,
    run_and_drain,
    sms_to,
    today_wib,
)
from tests.records_support import (
    HOME,
    checkin_body,
    jpeg,
    new_client,
    object_exists,
    put_photo,
    upload_keys,
    visit_body,
)
from tests.support import InProcess, assert_problem, client_body, reset_caches

# Recognisable fake personal data: none of it may reach a log line.
NAME = "Wiranto Kusumadewa"
PHONE = "0813-5555-2468"  # +6281355552468
GUARANTOR = "+62 857 1234 9876"  # +6285712349876
NIK = "3174091203850007"
ADDRESS = "Jalan Melati Harum No. 19 RT 004/RW 007"
OFFENCE = "Pasal 365 KUHP perampokan bersenjata"
NOTES = f"NIK {NIK}, tinggal bersama paman Sugiharto"
RECORD_NOTE = "Klien bercerita tentang Pak Sudarsono Wijayakusuma"
MET_NAME = "Ibu Ratnasari Puspitawati"
BHABIN = "Bripka Handoko Setiabudi"
BHABIN_PHONE = "0812-6600-3141"  # +6281266003141
REMINDED, REMINDED_E164 = "0812-4477-1357", "+6281244771357"  # issue 14: reminded, verified, then found dead
SECRET_WORDS = ("Wiranto", "Kusumadewa", "Melati", "Harum", "perampokan", "bersenjata", "Sugiharto", "Sudarsono",
                "Wijayakusuma", "Ratnasari", "Puspitawati", "Handoko", "Setiabudi", "Pasal 365", NIK)
# Phone numbers, whatever their written form.
SECRET_DIGITS = ("81355552468", "85712349876", "81266003141", "81244771357")
PHONE_LIKE = re.compile(r"(?<![\w.])(?:\+62|0)8\d[\d\s-]{7,}")  # not inside a float
NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")


@pytest.fixture(scope="module")
def api():
    with InProcess() as env:
        yield env
    reset_caches()


def _person(**overrides):
    """A registration body with the fake personal data (without `officer`: `new_client` gives it)."""
    body = client_body("pk.andi", name=NAME, offence=OFFENCE, notes=NOTES,
                       phones=[{"number": PHONE, "owner": "client"},
                               {"number": GUARANTOR, "owner": "guarantor", "name": "Sugiharto"}],
                       address={"text": ADDRESS, "village_code": VILLAGE.replace(".", ""),
                                "location": {"lat": HOME[0], "lon": HOME[1]}})
    body.update(overrides)
    body.pop("officer")
    return body


# ----- logs ------------------------------------------------------------------------------------------------

def test_the_end_to_end_flows_log_nothing_personal(api, caplog, capfd, monkeypatch):
    caplog.set_level(logging.INFO)  # every logger at INFO, as in production (or chattier)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        if logger.level > logging.INFO:
            caplog.set_level(logging.INFO, logger=name)

    # Register (with a retry and a conflicting replay), change, read and list.
    cid = str(uuid.uuid4())
    body = {**_person(id=cid), "officer": "pk.andi"}
    assert api.post("/v1/clients", "kasubsi.jaksel", body).status == 201
    assert api.post("/v1/clients", "kasubsi.jaksel", body).status == 200
    assert_problem(api.post("/v1/clients", "kasubsi.jaksel", {**body, "name": NAME + " Jr"}), 409)
    assert_problem(api.post("/v1/clients", "kasubsi.jaksel", {**body, "id": None, "phones": [
        {"number": "0000-5555-2468", "owner": "client"}]}), 422, "phones[0].number")
    version = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["version"]
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"phones": [{"number": GUARANTOR, "owner": "client"}],
                                                          "notes": NOTES + " (diubah)"},
                  headers={"If-Match": str(version)})
    assert r.status == 200, r
    # Field records: check-ins, a visit with the people met and a photo.
    assert api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi", checkin_body(notes=RECORD_NOTE)).status \
        == 201
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg(HOME[0], HOME[1], datetime.now(UTC)))
    visit = visit_body(notes=RECORD_NOTE, met=[{"role": "family", "name": MET_NAME}], photos=[up["key"]])
    v = api.put(f"/v1/clients/{cid}/visits/{uuid.uuid4()}", "pk.andi", visit)
    assert v.status == 201, v
    photo_id = v.json["stored_photos"][0].rsplit("/", 1)[1]
    assert api.get(f"/v1/clients/{cid}/photos/{photo_id}", "pk.andi").status == 200
    # Escalation with SMS: an unreachable client with a recognisable name and a named Bhabinkamtibmas.
    r = api.put(f"/v1/villages/{VILLAGE}/contacts", "kasubsi.jaksel",
                {"bhabinkamtibmas": {"name": BHABIN, "phone": BHABIN_PHONE, "polsek": "Polsek Jagakarsa"}})
    assert r.status in (200, 201), r
    start = today_wib() - timedelta(days=42)
    lost = register(api, start, name=NAME, offence=OFFENCE, notes=NOTES,
                    phones=[{"number": PHONE, "owner": "client"}])
    checkin(api, lost, at_wib(start + timedelta(days=1), 10))
    run_and_drain(at_wib(today_wib()))
    [sms] = sms_to("+6281266003141")
    assert "Sdr. Wir" in sms  # the SMS names the client (shortened for the reply link): the logs must not
    # The Bhabinkamtibmas opens the reply link and answers with a new address: neither the link nor the answer's
    # notes may reach a log.
    token = sms.rsplit("/r/", 1)[1]
    assert api.get(f"/r/{token}").status == 200
    r = api.request("POST", f"/r/{token}", raw=f"answer=moved&notes=Pindah ke {RECORD_NOTE}".encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    # Issue 14: a reminder, a phone verification (a wrong code, then the right one), the SMS provider reporting
    # the reminder undeliverable, and the client's messages. The code must appear nowhere but in the SMS.
    from chalicelib.api import messages as messages_api
    from chalicelib.services import reminders
    from tests.reach_support import delivery_event, failure

    monkeypatch.setattr(messages_api, "now_utc", lambda: at_wib(today_wib(), 10))
    near = register(api, today_wib() - timedelta(days=5), name=NAME, offence=OFFENCE,
                    phones=[{"number": REMINDED, "owner": "client"}])
    reminders.run(at_wib(today_wib(), 9))
    assert api.post(f"/v1/clients/{near}/phones/verify", "pk.andi", {"number": REMINDED}).status == 202
    code = next(w.rstrip(".") for w in sms_to(REMINDED_E164)[-1].split() if w.rstrip(".").isdigit()
                and len(w.rstrip(".")) == 6)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert_problem(api.post(f"/v1/clients/{near}/phones/confirm", "pk.andi", {"number": REMINDED, "code": wrong}),
                   422, "code")
    assert api.post(f"/v1/clients/{near}/phones/confirm", "pk.andi", {"number": REMINDED, "code": code}).status \
        == 200
    messages = api.get(f"/v1/clients/{near}/messages", "kasubsi.jaksel").json["items"]
    reminder = next(m for m in messages if m["kind"] == "reminder")
    from chalicelib.adapters.tables import NotificationModel

    sent = next(m for m in NotificationModel.client_index.query(near) if m.kind == "reminder")
    import app as application
    from infra.invoke import _Context

    assert application.sms_delivery_reports(delivery_event(failure(sent.message_id, REMINDED_E164, datetime.now(
        UTC))), _Context()) == {"number_inactive": 1}
    assert reminder["to"] == REMINDED_E164
    # Everything a coordinator and admin read.
    for path in ("/v1/clients", f"/v1/clients/{cid}", f"/v1/clients/{cid}/checkins", f"/v1/clients/{cid}/visits",
                 f"/v1/clients/{cid}/timeline", "/v1/escalations", "/v1/tasks", f"/v1/villages/{VILLAGE}/contacts",
                 "/v1/reports/compliance", "/v1/reports/compliance?format=csv"):
        assert api.get(path, "kasubsi.jaksel").status == 200, path
        assert api.get(path + ("&" if "?" in path else "?") + "bapas_id=jaksel", "admin.pusat").status == 200, path
    escalation_id = api.get(f"/v1/clients/{lost}", "kasubsi.jaksel").json["open_escalation_id"]
    r = api.post(f"/v1/escalations/{escalation_id}/resolve", "kasubsi.jaksel",
                 {"resolution": "found_at_home", "notes": f"{NAME} ditemukan. {RECORD_NOTE}"})
    assert r.status == 200, r
    assert_problem(api.get(f"/v1/clients/{cid}", "pk.budi"), 403)

    # Every record with all its attributes (message, args, the structured `extra` keys, exception text) plus
    # everything written to stdout/stderr (Powertools' JSON lines, metrics, warnings).
    lines = [json.dumps(vars(record), default=str, ensure_ascii=False) for record in caplog.records]
    lines += [logging.Formatter().format(record) for record in caplog.records]
    out, err = capfd.readouterr()
    lines += out.splitlines() + err.splitlines()
    assert any('"route": "/v1/clients/{client_id}/visits/{record_id}"' in line or
               '"route":"/v1/clients/{client_id}/visits/{record_id}"' in line for line in lines)  # logs are there
    assert any("escalation opened" in line for line in lines)
    leaks = _leaks(lines) + [line for line in lines if token in line or code in line or wrong in line]
    assert any("reply recorded" in line for line in lines)
    assert not leaks, "\n".join(leaks)
    # ... and the scan would have seen them.
    planted = ['{"to": "0813 5555 2468"}', "(0857) 1234-9876", f"nik={NIK}", "wiranto", "+6281299990000",
               "6281355552468", "alamat Jalan Melati"]
    assert len(_leaks(planted)) == len(planted)
    # ids are not phone numbers, even when their hex happens to start like one
    assert _leaks(['{"client_id": "08158344-45c0-4303-9b1f-e1c36aa31d21"}']) == []


UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _leaks(lines: list[str]) -> list[str]:
    leaks = []
    for raw in lines:
        line = UUID.sub("<uuid>", raw)  # record ids are random hex: "08158344-45c0-…" is not a phone number
        joined = re.sub(r"(?<=\d)[\s()-]+(?=\d)", "", line)  # 0813-5555-2468, (0813) 5555 2468 ... -> digits
        found = [w for w in SECRET_WORDS if w.lower() in line.lower()] + [d for d in SECRET_DIGITS if d in joined]
        found += [m.group() for m in (PHONE_LIKE.search(line), NIK_LIKE.search(line)) if m]
        if found:
            leaks.append(f"{found}: {raw}")
    return leaks


# ----- photo URLs --------------------------------------------------------------------------------------------

def test_photo_urls_go_only_to_who_may_see_the_client_and_expire_within_five_minutes(api):
    import requests

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    photo = jpeg()
    put_photo(up["key"], photo)
    r = api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi", checkin_body(photos=[up["key"]]))
    photo_id = r.json["stored_photos"][0].rsplit("/", 1)[1]
    path = f"/v1/clients/{cid}/photos/{photo_id}"
    for user in ("pk.andi", "kasubsi.jaksel", "admin.pusat"):
        r = api.get(path, user)
        assert r.status == 200, r
        out = PhotoUrlOut.model_validate(r.json)
        query = parse_qs(urlparse(out.url).query)
        assert int(query["X-Amz-Expires"][0]) <= 300 and out.expires_in <= 300
        assert datetime.fromisoformat(out.expires_at) <= datetime.now(UTC) + timedelta(seconds=301)
        assert out.key == r.json["key"] == f"photos/jaksel/{cid}/{photo_id}"
        assert requests.get(out.url, timeout=10).content == photo  # the URL works without a token
    assert_problem(api.get(path, "pk.budi"), 403)  # a colleague's client
    assert_problem(api.get(path, "kasubsi.makassar"), 404)  # another Bapas
    assert_problem(api.get(path, "pk.citra"), 404)
    assert_problem(api.get(path), 401)
    other = new_client(api)  # a photo id of another client is not found under this one
    assert_problem(api.get(f"/v1/clients/{other}/photos/{photo_id}", "kasubsi.jaksel"), 404)
    for bad in (f"{uuid.uuid4()}.jpg", "x.jpg", "..%2F..%2Fsecret.jpg", photo_id.replace(".jpg", ".exe")):
        assert_problem(api.get(f"/v1/clients/{cid}/photos/{bad}", "kasubsi.jaksel"), 404)
    from chalicelib.adapters import storage

    with pytest.raises(ValueError):
        storage.presign_get(f"photos/jaksel/{cid}/{photo_id}", 301)


# ----- audited reads -----------------------------------------------------------------------------------------

def _reads(client_id: str) -> list[AuditModel]:
    return list(AuditModel.query(f"client-read#{client_id}", consistent_read=True))


def test_reads_of_a_client_by_coordinators_and_admin_are_audited_without_values(api):
    cid = new_client(api)
    assert api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi", checkin_body()).status == 201
    for path in ("", "/checkins", "/visits", "/progress-reports"):
        assert api.get(f"/v1/clients/{cid}{path}", "pk.andi").status == 200
    assert _reads(cid) == []  # the client's own PK reads as part of the work: not audited
    paths = ("", "/checkins", "/visits", "/progress-reports", "/timeline")
    for path in paths:
        assert api.get(f"/v1/clients/{cid}{path}", "kasubsi.jaksel").status == 200
    assert api.get(f"/v1/clients/{cid}", "admin.pusat").status == 200
    assert_problem(api.get(f"/v1/clients/{cid}", "kasubsi.makassar"), 404)  # refused: nothing was read
    reads = _reads(cid)
    assert [(a.action, a.actor, a.role) for a in reads] == \
        [("client.read", "kasubsi.jaksel", "coordinator")] * len(paths) + [("client.read", "admin.pusat", "admin")]
    for a in reads:
        assert a.fields is None and a.version is None and a.request_id
        assert set(a.attribute_values) <= {"entity", "at_id", "action", "actor", "role", "bapas_id", "request_id"}
    # The timeline shows changes, not every look at the client.
    timeline = api.get(f"/v1/clients/{cid}/timeline", "kasubsi.jaksel").json["items"]
    assert all(e["data"].get("action") != "client.read" for e in timeline)


def test_a_read_is_refused_when_its_audit_entry_cannot_be_written(api):
    from botocore.exceptions import ClientError

    cid = new_client(api)
    client = AuditModel._get_connection().connection.client

    def throttle(**_):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem")

    client.meta.events.register("before-call.dynamodb.PutItem", throttle, unique_id="audit-down")
    try:
        r = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    finally:
        client.meta.events.unregister("before-call.dynamodb.PutItem", unique_id="audit-down")
    assert_problem(r, 503)
    assert r.headers["retry-after"].isdigit() and "Wiranto" not in r.body.decode()
    assert api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").status == 200


# ----- retention ---------------------------------------------------------------------------------------------

def _years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)) - timedelta(days=days)


def _old_client(api, end: date) -> str:
    start = end - timedelta(days=180)
    cid = new_client(api, **_person(supervision_start=start.isoformat(), supervision_end=end.isoformat()))
    at = at_wib(start + timedelta(days=3), 10).isoformat()
    assert api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi",
                   checkin_body(occurred_at=at, notes=RECORD_NOTE)).status == 201
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    put_photo(up["key"], jpeg(HOME[0], HOME[1]))  # a second version of the object
    r = api.put(f"/v1/clients/{cid}/visits/{uuid.uuid4()}", "pk.andi",
                visit_body(visited_at=at, notes=RECORD_NOTE, met=[{"role": "family", "name": MET_NAME}],
                           photos=[up["key"]]))
    assert r.status == 201, r
    return cid


def _versions(prefix: str) -> int:
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    page = aws.client("s3").list_object_versions(Bucket=settings().bucket, Prefix=prefix)
    return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))


def test_retention_deletes_personal_data_after_the_period_and_keeps_the_statistics(api, monkeypatch, daytime):
    from infra.invoke import invoke

    old = _old_client(api, _years_ago(5, days=3))  # ended five years and three days ago
    recent = _old_client(api, _years_ago(4))  # ended four years ago: kept at the default of five
    current = new_client(api, **_person())
    # A message to the client (a verification code by SMS): its text and number are the client's too.
    r = api.post(f"/v1/clients/{old}/phones/verify", "pk.andi", {"number": PHONE})
    assert r.status in (200, 202), r
    before = ClientModel.get(old, consistent_read=True)
    records_before = {r.record_key: json.loads(r.response) for r in RecordModel.query(old)}
    assert _versions(f"photos/jaksel/{old}/") == 1 and _versions(f"pending/jaksel/{old}/") == 2

    with dynamodb_calls() as calls:
        summary = invoke("apply_retention", datetime.now(UTC).isoformat())  # what `make invoke` runs
    assert "Scan" not in calls and calls["Query"] >= 12 * 20  # one Query per month since 2000, no Scan
    assert summary["clients"] == 1 and summary["errors"] == 0 and summary["photos_deleted"] == 3

    r = api.get(f"/v1/clients/{old}", "kasubsi.jaksel")
    after = ClientOut.model_validate(r.json)
    assert after.name == retention.REDACTED and after.phones == [] and after.offence is None and after.notes is None
    assert after.address.text == retention.REDACTED and after.address.location is None
    assert (after.program, after.supervision_start, after.supervision_end, after.address.village_code,
            after.officer, after.checkin_interval_days) == (before.program, before.supervision_start,
                                                            before.supervision_end, VILLAGE, before.officer,
                                                            int(before.checkin_interval_days))
    item = ClientModel.get(old, consistent_read=True)
    assert item.contacts == before.contacts and item.end_month is None and item.anonymised_at
    assert item.request_hash is None
    assert _versions(f"photos/jaksel/{old}/") == 0 and _versions(f"pending/jaksel/{old}/") == 0
    records_after = {r.record_key: json.loads(r.response) for r in RecordModel.query(old)}
    assert set(records_after) == set(records_before)  # every record is still counted
    for key, rec in records_after.items():
        was = records_before[key]
        assert rec["photos"] == [] and rec["stored_photos"] == []
        for keep in ("occurred_at", "visited_at", "channel", "outcome", "client_present", "location_check",
                     "distance_m", "recorded_at", "recorded_by"):
            assert rec.get(keep) == was.get(keep)
        if key.startswith("visit#"):
            assert rec["notes"] == retention.REDACTED and rec["met"] == [{"role": "family", "name": None}]
            assert rec["photo_evidence"] == [] and rec["location"]["lat"] == round(was["location"]["lat"], 2)
        else:
            assert rec["notes"] is None
    [message] = api.get(f"/v1/clients/{old}/messages", "kasubsi.jaksel").json["items"]
    assert (message["kind"], message["text"], message["to"]) == ("verification", retention.REDACTED, None), message
    assert summary["messages_scrubbed"] == 1
    stored = json.dumps([r.attribute_values for r in RecordModel.query(old)], default=str) + \
        json.dumps(item.attribute_values, default=str) + \
        json.dumps([n.attribute_values for n in NotificationModel.client_index.query(old)], default=str)
    for secret in ("Wiranto", "Melati", "perampokan", NIK, "Sudarsono", "Ratnasari", "+6281355552468"):
        assert secret not in stored
    [audit] = [a for a in AuditModel.query(f"client#{old}") if a.action == "client.anonymise"]
    assert audit.actor == "system" and "name" in audit.fields

    for kept in (recent, current):
        assert ClientModel.get(kept, consistent_read=True).name == NAME
    assert all(object_exists(key) for r in RecordModel.query(recent) for key in json.loads(r.response)["stored_photos"])

    # A PATCH would re-add personal data that no later run purges (the client left the retention index): refused.
    r = api.patch(f"/v1/clients/{old}", "kasubsi.jaksel", {"name": "Wiranto", "notes": "Melati"},
                  headers={"If-Match": str(after.version)})
    assert_problem(r, 409, code="conflict")
    assert ClientModel.get(old, consistent_read=True).name == retention.REDACTED

    again = retention.run(datetime.now(UTC))  # nothing left to do: the anonymised client left the index
    assert again["clients"] == 0
    monkeypatch.setenv("PANTAU_RETENTION_YEARS", "3")
    from chalicelib import config

    config.reset()
    try:
        assert retention.run(datetime.now(UTC))["clients"] == 1  # configurable: four years ago is now past it
    finally:
        monkeypatch.delenv("PANTAU_RETENTION_YEARS")
        config.reset()
    assert ClientModel.get(recent, consistent_read=True).name == retention.REDACTED
    assert ClientModel.get(current, consistent_read=True).name == NAME


def test_retention_cutoff_and_record_scrubbing_rules():
    assert retention.cutoff(datetime(2032, 2, 29, tzinfo=UTC), 5) == date(2027, 2, 28)
    assert retention.months_until(date(2000, 3, 1)) == ["2000-01", "2000-02", "2000-03"]
    body = {"notes": "x", "photos": ["p"], "stored_photos": ["s"], "assessment_summary": "a", "stage": "awal"}
    assert retention.scrub_record("progress_report", body) == {
        "notes": None, "photos": [], "stored_photos": [], "assessment_summary": retention.REDACTED, "stage": "awal"}
