"""End to end over HTTP (moto server + chalice local): upload a real JPEG with a presigned POST, record a
home visit that references it, replay it, conflict with it, and read it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.records_support import HOME, jpeg, new_client, new_id, visit_body
from tests.support import assert_problem


def test_visit_with_an_uploaded_photo_end_to_end(stack):
    cid = new_client(stack)
    visited = datetime.now(UTC) - timedelta(minutes=20)
    photo = jpeg(HOME[0] + 0.0005, HOME[1], visited + timedelta(minutes=2))

    r = stack.post("/v1/uploads", "pk.andi", {"client_id": cid, "files": [{"content_type": "image/jpeg",
                                                                           "size_bytes": len(photo)}]})
    assert r.status == 200, r
    [upload] = r.json["uploads"]
    assert upload["url"].startswith(stack.stack.endpoint)
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("rumah.jpg", photo, "image/jpeg")},
                         timeout=30)
    assert sent.status_code in (200, 201, 204), sent.text

    rid = new_id()
    body = visit_body(visited_at=visited.isoformat(), photos=[upload["key"]],
                      location={"lat": HOME[0] + 0.001, "lon": HOME[1], "accuracy_m": 15})
    path = f"/v1/clients/{cid}/visits/{rid}"
    created = stack.put(path, "pk.andi", body)
    assert created.status == 201, created
    visit = created.json
    assert visit["distance_m"] == 111 and visit["location_check"] == "ok"
    [evidence] = visit["photo_evidence"]
    assert evidence["key"] == upload["key"] and evidence["flags"] == []
    assert evidence["minutes_from_claimed"] == 2 and evidence["distance_from_claimed_m"] == 56

    replay = stack.put(path, "pk.andi", body)
    assert replay.status == 200 and replay.body == created.body

    changed = stack.put(path, "pk.andi", {**body, "client_present": False})
    assert_problem(changed, 409, code="conflict")

    listed = stack.get(f"/v1/clients/{cid}/visits", "kasubsi.jaksel")
    assert listed.status == 200, listed
    assert listed.json["items"] == [visit]

    # The photo is kept under its permanent key, byte for byte.
    s3 = stack.boto("s3")
    kept = s3.get_object(Bucket=stack.resources.bucket, Key=visit["stored_photos"][0])
    assert kept["Body"].read() == photo
