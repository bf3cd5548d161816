"""Violations: offline-safe PUT with an evidence snapshot (missed windows, the escalation with its notifications,
visits with photos and location checks), PATCH for the BAP, TPP session and outcome, the open list, the timeline
CSV for the Kanwil."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.escalation_support import at_wib, put_village_contacts, run_and_drain, today_wib, unreachable_client
from tests.records_support import (
    audits_of,
    client_item,
    concurrent_identical_puts,
    jpeg,
    new_client,
    new_id,
    put_photo,
    records_of,
    upload_keys,
    visit_body,
)
from tests.support import InProcess, assert_problem, reset_caches


@pytest.fixture(scope="module")
def api():
    with InProcess() as env:
        put_village_contacts(env)
        yield env
    reset_caches()


def stamp(minutes_ago: int = 10) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")


def violation_body(escalation_id: str | None = None, **over: Any) -> dict[str, Any]:
    body = {"reported_at": stamp(), "summary": "Tiga kali berturut-turut tidak lapor diri.",
            "escalation_id": escalation_id}
    body.update(over)
    return body


def _path(cid: str, vid: str) -> str:
    return f"/v1/clients/{cid}/violations/{vid}"


def test_a_violation_holds_its_evidence_and_is_replayed_and_conflicts(api):
    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    escalation_id = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["open_escalation_id"]
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    visit = api.put(f"/v1/clients/{cid}/visits/{new_id()}", "pk.andi", visit_body(client_present=False,
                                                                                 photos=[up["key"]]))
    assert visit.status == 201, visit

    vid, body = new_id(), violation_body(escalation_id)
    created = api.put(_path(cid, vid), "kasubsi.jaksel", body)
    assert created.status == 201, created
    v = created.json
    assert v["state"] == "open" and v["escalation_id"] == escalation_id and created.headers["etag"] == '"1"'
    evidence = v["evidence"]
    assert len(evidence["missed_windows"]) >= 3
    assert evidence["escalation"]["id"] == escalation_id and evidence["escalation"]["reason"] == "three_missed"
    assert {n["recipient_role"] for n in evidence["escalation"]["notifications"]} >= {"bhabinkamtibmas", "officer"}
    [seen] = evidence["visits"]
    assert seen["client_present"] is False and seen["location_check"] == "ok"
    assert seen["photos"] == visit.json["stored_photos"]

    replay = api.put(_path(cid, vid), "kasubsi.jaksel", body)
    assert replay.status == 200 and replay.body == created.body
    assert_problem(api.put(_path(cid, vid), "kasubsi.jaksel", {**body, "summary": "Lain."}), 409, code="conflict")
    assert [r.record_key for r in records_of(cid) if r.kind == "violation"] == [f"violation#{vid}"]
    assert client_item(cid)["open_violations"] == {"SS": [vid]}
    assert [a.action for a in audits_of(f"record#{cid}#violation#")] == ["violation.create"]

    assert api.get(f"/v1/clients/{cid}/violations", "pk.andi").json["items"] == [v]
    assert vid in [x["id"] for x in api.get("/v1/violations", "kasubsi.jaksel").json["items"]]
    assert vid in [x["id"] for x in api.get("/v1/violations", "pk.andi").json["items"]]
    assert api.get("/v1/violations", "pk.budi").json["items"] == []
    # Each page of the list is audited like a client list: who read it and which clients' violations it held.
    reads = sorted(audits_of("violation-list#jaksel"), key=lambda a: a.at_id)[-3:]
    assert [(a.action, a.actor) for a in reads] == [("violation.list", "kasubsi.jaksel"), ("violation.list", "pk.andi"),
                                                    ("violation.list", "pk.budi")]
    assert cid in reads[0].subjects and reads[2].subjects is None

    # What happened next, with If-Match; the outcome closes it.
    assert_problem(api.patch(_path(cid, vid), "kasubsi.jaksel", {"bap_date": today_wib().isoformat()}), 428)
    assert_problem(api.patch(_path(cid, vid), "kasubsi.jaksel", {"bap_date": today_wib().isoformat()},
                             headers={"If-Match": '"7"'}), 412)
    assert_problem(api.patch(_path(cid, vid), "kasubsi.jaksel",
                             {"bap_date": (today_wib() + timedelta(days=1)).isoformat()}, headers={"If-Match": "1"}),
                   422, field="bap_date")
    assert_problem(api.patch(_path(cid, vid), "pk.andi", {"bap_date": today_wib().isoformat()},
                             headers={"If-Match": "1"}), 403)
    r = api.patch(_path(cid, vid), "kasubsi.jaksel", {"bap_date": today_wib().isoformat(), "tpp_session": {
        "date": today_wib().isoformat(), "decision": "propose_revocation"}}, headers={"If-Match": "1"})
    assert r.status == 200 and r.json["version"] == 2 and r.json["state"] == "open", r
    r = api.patch(_path(cid, vid), "kasubsi.jaksel", {"outcome": "revoked", "outcome_notes": "SK pencabutan."},
                  headers={"If-Match": "2"})
    assert r.status == 200 and r.json["state"] == "closed" and r.json["closed_by"] == "kasubsi.jaksel", r
    assert "open_violations" not in client_item(cid)
    assert vid not in [x["id"] for x in api.get("/v1/violations", "kasubsi.jaksel").json["items"]]
    assert_problem(api.patch(_path(cid, vid), "kasubsi.jaksel", {"outcome": "warning"}, headers={"If-Match": "3"}),
                   409)
    assert api.get(_path(cid, vid), "pk.andi").json == r.json
    assert api.put(_path(cid, vid), "kasubsi.jaksel", body).json == r.json  # a late replay shows the current state
    assert sorted(a.action for a in audits_of(f"record#{cid}#violation#")) == ["violation.create",
                                                                             "violation.update", "violation.update"]

    # The timeline for the Kanwil.
    csv_r = api.get(f"{_path(cid, vid)}/timeline", "kasubsi.jaksel")
    assert csv_r.status == 200 and csv_r.headers["content-type"].startswith("text/csv")
    assert csv_r.headers["content-disposition"].startswith('attachment; filename="pelanggaran-')
    rows = list(csv.reader(io.StringIO(csv_r.body.decode("utf-8-sig"))))
    assert rows[0] == ["Waktu", "Peristiwa", "Keterangan", "Oleh"]
    whats = [row[1] for row in rows[1:]]
    assert whats[0] == "Tidak lapor diri" and "Eskalasi dibuka" in whats and "Kunjungan rumah" in whats
    assert whats[-4:] == ["Pelanggaran dicatat", "Berita acara pemeriksaan (BAP)", "Sidang TPP", "Hasil akhir"]
    assert_problem(api.get(f"{_path(cid, vid)}/timeline", "pk.andi"), 403)
    assert_problem(api.get(f"{_path(cid, vid)}/timeline", "kasubsi.makassar"), 404)


def test_concurrent_identical_violations_make_one_record(api, atomic_moto_transactions):
    cid = new_client(api)
    vid = new_id()
    concurrent_identical_puts(api, _path(cid, vid), "kasubsi.jaksel", violation_body(), 6)
    assert [r.record_key for r in records_of(cid)] == [f"violation#{vid}"]


def test_invalid_violations_name_the_field_and_write_nothing(api):
    cid, other = new_client(api), unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    foreign = api.get(f"/v1/clients/{other}", "kasubsi.jaksel").json["open_escalation_id"]
    assert foreign
    cases = [
        (violation_body(foreign), "escalation_id"),  # another client's escalation
        (violation_body(new_id()), "escalation_id"),
        (violation_body(reported_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()), "reported_at"),
        (violation_body(reported_at="2020-01-01T00:00:00+07:00"), "reported_at"),
        (violation_body(summary=""), "summary"),
        (violation_body(escalation_id="nope"), "escalation_id"),
        ({**violation_body(), "state": "closed"}, "state"),
    ]
    for body, field in cases:
        assert_problem(api.put(_path(cid, new_id()), "kasubsi.jaksel", body), 422, field=field)
    assert records_of(cid) == []
    assert_problem(api.put(_path(cid, new_id()), "pk.andi", violation_body()), 403)
    assert_problem(api.put(_path(cid, new_id()), "kasubsi.makassar", violation_body()), 404)
    assert_problem(api.get(_path(cid, new_id()), "kasubsi.jaksel"), 404)
    assert_problem(api.patch(_path(cid, new_id()), "kasubsi.jaksel", {"bap_date": "2026-01-01"},
                             headers={"If-Match": "1"}), 404)
    assert records_of(cid) == []


def test_retention_scrubs_a_violations_texts():
    from chalicelib.services.retention import REDACTED, scrub_record

    body = {"summary": "Rahasia", "outcome_notes": "Catatan", "evidence": {
        "missed_windows": [{"first_day": "2026-01-01", "last_day": "2026-01-07"}],
        "escalation": {"responses": [{"answer": "moved", "notes": "Pindah ke Bekasi"}]},
        "visits": [{"id": "v", "photos": ["photos/x.jpg"], "location_check": "ok"}]}}
    clean = scrub_record("violation", body)
    assert clean["summary"] == REDACTED and clean["outcome_notes"] == REDACTED
    assert clean["evidence"]["escalation"]["responses"] == [{"answer": "moved", "notes": None}]
    assert clean["evidence"]["visits"] == [{"id": "v", "photos": [], "location_check": "ok"}]
    assert clean["evidence"]["missed_windows"] == body["evidence"]["missed_windows"]


def test_an_escalation_resolved_as_violation_referred_opens_its_violation_in_the_same_transaction(api):
    from chalicelib.services.violations import violation_id_for
    from tests.test_faults import assert_retry_later, fault

    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    escalation_id = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json["open_escalation_id"]
    body = {"resolution": "violation_referred", "notes": "Klien tidak ditemukan di alamat."}
    with fault("dynamodb", "TransactWriteItems", "ThrottlingException", times=10):
        assert_retry_later(api.post(f"/v1/escalations/{escalation_id}/resolve", "kasubsi.jaksel", body))
    assert [r for r in records_of(cid) if r.kind == "violation"] == []  # nothing half-written
    r = api.post(f"/v1/escalations/{escalation_id}/resolve", "kasubsi.jaksel", body)
    assert r.status == 200 and r.json["state"] == "resolved", r
    vid = violation_id_for(escalation_id)
    v = api.get(_path(cid, vid), "kasubsi.jaksel").json
    assert v["state"] == "open" and v["escalation_id"] == escalation_id and v["recorded_by"] == "kasubsi.jaksel"
    assert v["summary"].startswith("Diteruskan dari eskalasi ") and v["summary"].endswith("tidak ditemukan di alamat.")
    assert v["evidence"]["escalation"]["resolution"] == "violation_referred"
    assert v["evidence"]["escalation"]["state"] == "resolved" and len(v["evidence"]["missed_windows"]) >= 3
    assert client_item(cid)["open_violations"] == {"SS": [vid]}
    assert vid in [x["id"] for x in api.get("/v1/violations", "kasubsi.jaksel").json["items"]]
    assert_problem(api.post(f"/v1/escalations/{escalation_id}/resolve", "kasubsi.jaksel", body), 409)
    assert len([r for r in records_of(cid) if r.kind == "violation"]) == 1

    other = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    other_escalation = api.get(f"/v1/clients/{other}", "kasubsi.jaksel").json["open_escalation_id"]
    r = api.post(f"/v1/escalations/{other_escalation}/resolve", "kasubsi.jaksel", {"resolution": "found_at_home"})
    assert r.status == 200, r
    assert [r for r in records_of(other) if r.kind == "violation"] == []
