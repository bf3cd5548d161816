"""The supervision lifecycle over HTTP (moto server + chalice local): stage reviews recorded, replayed and
conflicting like the other field records."""

from __future__ import annotations

from tests.records_support import new_client, new_id
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
