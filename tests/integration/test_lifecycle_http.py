"""The supervision lifecycle over HTTP (moto server + chalice local): stage reviews recorded, replayed and
conflicting like the other field records; a transfer moving a client with its check-ins to another Bapas; a
violation recorded, replayed, conflicting, closed and exported."""

from __future__ import annotations

from tests.records_support import checkin_body, new_client, new_id
from tests.support import assert_problem
from tests.test_stage_reviews import review_body


def test_a_stage_review_is_recorded_replayed_and_conflicts(stack):
    cid = new_client(stack)
    path = f"/v1/clients/{cid}/stage-reviews/{new_id()}"
    body = review_body()
    created = stack.put(path, "pk.andi", body)
    assert created.status == 201, created
    replay = stack.put(path, "pk.andi", body)
    assert replay.status == 200 and replay.body == created.body
    assert_problem(stack.put(path, "pk.andi", review_body(decision="propose_revocation")), 409, code="conflict")
    listed = stack.get(f"/v1/clients/{cid}/stage-reviews", "kasubsi.jaksel")
    assert listed.status == 200 and listed.json["items"] == [created.json]
    assert stack.get(f"/v1/clients/{cid}", "pk.andi").json["stage_reviews"]["done"] == ["awal"]


def test_a_transfer_moves_a_client_with_its_checkins_to_the_other_bapas(stack):
    cid = new_client(stack)
    for _ in range(2):
        r = stack.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.andi", checkin_body())
        assert r.status == 201, r
    checkins = stack.get(f"/v1/clients/{cid}/checkins", "pk.andi").json["items"]
    asked = stack.post(f"/v1/clients/{cid}/transfer", "kasubsi.jaksel",
                       {"to_bapas_id": "makassar", "reason": "Klien pindah ke Makassar."})
    assert asked.status == 201, asked
    tid = asked.json["id"]
    waiting = stack.get("/v1/transfers?direction=incoming&state=pending", "kasubsi.makassar").json["items"]
    assert tid in [t["id"] for t in waiting]

    accepted = stack.post(f"/v1/transfers/{tid}/accept", "kasubsi.makassar", {"officer": "pk.citra"})
    assert accepted.status == 200 and accepted.json["state"] == "accepted", accepted

    # The sender loses access; the old PK cannot write.
    assert_problem(stack.get(f"/v1/clients/{cid}", "kasubsi.jaksel"), 404)
    assert_problem(stack.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.andi", checkin_body()), 404)
    # The receiving Bapas has the client with its check-ins, and its PK writes.
    moved = stack.get(f"/v1/clients/{cid}", "kasubsi.makassar").json
    assert moved["bapas_id"] == "makassar" and moved["officer"] == "pk.citra"
    assert stack.get(f"/v1/clients/{cid}/checkins", "pk.citra").json["items"] == checkins
    assert stack.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.citra", checkin_body()).status == 201


def test_a_violation_is_recorded_replayed_conflicts_and_exports_its_timeline(stack):
    cid = new_client(stack)
    path = f"/v1/clients/{cid}/violations/{new_id()}"
    body = {"reported_at": checkin_body()["occurred_at"], "summary": "Tiga kali berturut-turut tidak lapor diri."}
    created = stack.put(path, "kasubsi.jaksel", body)
    assert created.status == 201, created
    replay = stack.put(path, "kasubsi.jaksel", body)
    assert replay.status == 200 and replay.body == created.body
    assert_problem(stack.put(path, "kasubsi.jaksel", {**body, "summary": "=HYPERLINK(\"x\")"}), 409, code="conflict")
    closed = stack.patch(path, "kasubsi.jaksel", {"outcome": "warning"}, headers={"If-Match": "1"})
    assert closed.status == 200 and closed.json["state"] == "closed", closed
    exported = stack.get(f"{path}/timeline", "kasubsi.jaksel")
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.body.decode("utf-8-sig").splitlines()
    assert lines[0] == "Waktu,Peristiwa,Keterangan,Oleh" and "Hasil akhir" in lines[-1]


def test_a_program_change_keeps_the_old_checkins_and_the_old_periods_compliance(stack):
    """Asimilasi -> pembebasan bersyarat (issue 15.3): a new period with its own decree; the weekly history stays.
    In Bapas makassar: the jaksel report is recomputed from raw records by test_reports_http, which restates
    the supervision windows of one program only."""
    from datetime import timedelta

    from tests.escalation_support import VILLAGE, at_wib, today_wib
    from tests.support import client_body

    today = today_wib()
    start = today - timedelta(days=30)
    body = client_body("pk.citra", supervision_start=start.isoformat(), tracking_from=start.isoformat(),
                       supervision_end=(start + timedelta(days=180)).isoformat(),
                       sk_number="PAS-77.PK.01.04 Tahun 2026", sk_date=start.isoformat())
    body["address"]["village_code"] = VILLAGE
    created = stack.post("/v1/clients", "kasubsi.makassar", body)
    assert created.status == 201, created
    cid = created.json["id"]
    for week in range(3):  # weeks 0-2 reported, week 3 (days 21-27) missed, week 4 open
        r = stack.put(f"/v1/clients/{cid}/checkins/{new_id()}", "pk.citra",
                      checkin_body(occurred_at=at_wib(start + timedelta(days=7 * week + 2), 10).isoformat()))
        assert r.status == 201, r
    checkins = stack.get(f"/v1/clients/{cid}/checkins", "pk.citra").json["items"]

    change = {"program": "pembebasan_bersyarat", "sk_number": "PAS-1234.PK.05.06 Tahun 2026",
              "sk_date": (today - timedelta(days=2)).isoformat(), "start_date": today.isoformat(),
              "end_date": (today + timedelta(days=365)).isoformat(), "note": "Sesuai SK Dirjen."}
    assert_problem(stack.post(f"/v1/clients/{cid}/programs", "pk.citra", change), 403)
    r = stack.post(f"/v1/clients/{cid}/programs", "kasubsi.makassar", change)
    assert r.status == 201, r
    again = stack.post(f"/v1/clients/{cid}/programs", "kasubsi.makassar", change)
    assert again.status == 200 and again.json["version"] == r.json["version"]
    assert_problem(stack.post(f"/v1/clients/{cid}/programs", "kasubsi.makassar",
                              {**change, "end_date": (today + timedelta(days=300)).isoformat()}), 409)
    assert_problem(stack.post(f"/v1/clients/{cid}/programs", "kasubsi.makassar",
                              {**change, "sk_number": "PAS-2", "start_date": start.isoformat()}), 422, "start_date")

    client = stack.get(f"/v1/clients/{cid}", "pk.citra").json
    assert (client["program"], client["checkin_interval_days"], client["sk_number"], client["period_start"]) == (
        "pembebasan_bersyarat", 30, change["sk_number"], today.isoformat())
    assert stack.get(f"/v1/clients/{cid}/checkins", "pk.citra").json["items"] == checkins
    old, new = client["periods"]
    assert (old["program"], old["sk_number"], old["end_date"]) == (
        "asimilasi", "PAS-77.PK.01.04 Tahun 2026", (today - timedelta(days=1)).isoformat())
    assert (old["compliance"]["met"], old["compliance"]["missed"], old["compliance"]["neutral"]) == (3, 1, 1)
    assert new["current"] and new["compliance"]["first_day"] == today.isoformat()
    assert (client["compliance"]["consecutive_missed"], client["compliance"]["next_due"]) == (
        1, (today + timedelta(days=29)).isoformat())
