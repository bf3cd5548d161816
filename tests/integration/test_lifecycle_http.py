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
