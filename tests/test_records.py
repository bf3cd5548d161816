"""Field records in-process: idempotent PUTs, one transaction per write, validation, access, photos."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.photos import MAX_PHOTO_BYTES
from chalicelib.schemas.photos import UploadsOut
from chalicelib.schemas.records import CheckinOut, VisitOut
from tests.records_support import (
    HOME,
    audits_of,
    checkin_body,
    client_item,
    concurrent_identical_puts,
    jpeg,
    new_client,
    new_id,
    object_exists,
    put_photo,
    records_of,
    stamp,
    upload_keys,
    visit_body,
)
from tests.support import InProcess, assert_problem, reset_caches


@pytest.fixture(scope="module")
def api():
    """One moto account for this module (the shared fixture builds a fresh one per test, which costs seconds):
    every test registers its own clients and reads only their records, so the tests cannot see each other."""
    with InProcess() as env:
        yield env
    reset_caches()


def _path(client_id: str, kind: str, record_id: str) -> str:
    return f"/v1/clients/{client_id}/{kind}/{record_id}"


def _state(client_id: str) -> tuple:
    """Everything a PUT may change: the client's records, their audit entries and the client item."""
    records = sorted((r.record_key, r.body_hash, r.response) for r in records_of(client_id))
    audits = sorted(a.at_id for a in audits_of(f"record#{client_id}#"))
    return records, audits, client_item(client_id)


# ----- idempotency -------------------------------------------------------------------------------

def test_checkin_is_created_once_and_replayed_with_the_same_body(api):
    cid = new_client(api)
    rid = new_id()
    body = checkin_body(occurred_at=stamp(90), photos=[])
    first = api.put(_path(cid, "checkins", rid), "pk.andi", body)
    assert first.status == 201, first
    got = first.json
    assert got["id"] == rid and got["client_id"] == cid and got["version"] == 1
    assert got["channel"] == "video_call" and got["outcome"] == "completed" and got["notes"] == "Lapor diri lancar."
    assert got["recorded_by"] == "pk.andi" and got["photos"] == []
    occurred = datetime.fromisoformat(body["occurred_at"])
    assert datetime.fromisoformat(got["occurred_at"]) == occurred and got["occurred_at"].endswith("+00:00")
    assert first.headers["location"] == f"/v1/clients/{cid}/checkins/{rid}"
    CheckinOut.model_validate(got)  # what the OpenAPI document says

    before = _state(cid)
    # The same record sent again (a retry after a lost response), even with another offset and key order:
    same = dict(reversed(list(body.items())))
    same["occurred_at"] = occurred.astimezone(UTC).isoformat().replace("+00:00", "Z")
    again = api.put(_path(cid, "checkins", rid), "pk.andi", same)
    assert again.status == 200, again
    assert again.body == first.body
    assert _state(cid) == before

    # One fact on the client, counted: the client's compliance shows it, and its version did not move.
    item = client_item(cid)
    assert item["contacts"]["L"] == [{"S": f"{got['occurred_at']}|counted|checkin#{rid}"}]
    assert item["version"] == {"N": "1"}
    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert client["compliance"]["last_contact_at"] == got["occurred_at"] and client["version"] == 1
    [audit] = audits_of(f"record#{cid}#checkin#{rid}")
    assert (audit.action, audit.actor, audit.version) == ("checkin.create", "pk.andi", 1)
    assert audit.fields == ["channel", "notes", "occurred_at", "outcome", "photos"]


def test_a_different_body_on_the_same_id_is_409_and_changes_nothing(api):
    cid = new_client(api)
    rid = new_id()
    body = checkin_body()
    assert api.put(_path(cid, "checkins", rid), "pk.andi", body).status == 201
    before = _state(cid)
    for change in ({"outcome": "no_answer"}, {"notes": "Lain."}, {"occurred_at": stamp(31)}):
        r = api.put(_path(cid, "checkins", rid), "pk.andi", {**body, **change})
        assert_problem(r, 409, code="conflict")
    # The same id as a visit is another record (ids are per kind), and nothing above changed anything.
    assert _state(cid) == before



def test_twenty_concurrent_identical_puts_make_one_record_and_one_audit_entry(api, atomic_moto_transactions):
    cid = new_client(api)
    rid = new_id()
    concurrent_identical_puts(api, _path(cid, "checkins", rid), "pk.andi", checkin_body(), 20)
    assert [r.record_key for r in records_of(cid)] == [f"checkin#{rid}"]
    assert len(audits_of(f"record#{cid}#")) == 1
    assert len(client_item(cid)["contacts"]["L"]) == 1


def test_number_inactive_puts_the_client_in_the_due_index_without_bumping_its_version(api):
    cid = new_client(api)
    before = client_item(cid)
    body = checkin_body(channel="phone", outcome="number_inactive", notes=None)
    r = api.put(_path(cid, "checkins", new_id()), "pk.andi", body)
    assert r.status == 201, r
    assert r.json["notes"] is None
    after = client_item(cid)
    # The run looks again when the episode's grace period (48 hours by default) is over.
    grace_over = datetime.fromisoformat(r.json["occurred_at"]) + timedelta(hours=48)
    assert after["due_at"] == {"S": grace_over.astimezone(UTC).isoformat()}
    assert after["due_shard"] == before["due_shard"]
    assert after["version"] == before["version"] and after["updated_at"] == before["updated_at"]
    assert after["contacts"]["L"][0]["S"].split("|")[1] == "inactive"
    # A coordinator's PATCH with the version they read before the check-in still applies (no 412).
    patch = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "x"}, headers={"If-Match": "1"})
    assert patch.status == 200, patch



def test_number_inactive_marks_the_number_called_inactive(api):
    phones = [{"number": "0812-3456-7890", "owner": "client"}, {"number": "0813-1111-2222", "owner": "guarantor"}]
    cid = new_client(api, phones=phones)
    body = checkin_body(channel="phone", outcome="number_inactive", occurred_at=stamp(20))
    assert api.put(_path(cid, "checkins", new_id()), "pk.andi", body).status == 201
    client = api.get(f"/v1/clients/{cid}", "pk.andi").json
    [mine, guarantor] = client["phones"]
    assert mine["status"] == "inactive" and mine["inactive_since"] is not None and mine["verified_at"] is None
    assert guarantor["status"] == "active" and client["version"] == 1
    # Through the guarantor's phone: the guarantor's number is the dead one.
    cid = new_client(api, phones=phones)
    body = checkin_body(channel="guarantor_phone", outcome="number_inactive", occurred_at=stamp(20))
    assert api.put(_path(cid, "checkins", new_id()), "pk.andi", body).status == 201
    statuses = [p["status"] for p in api.get(f"/v1/clients/{cid}", "pk.andi").json["phones"]]
    assert statuses == ["active", "inactive"]
    # A PATCH that keeps the number keeps its state; a new number starts active.
    more = [*phones, {"number": "0857-1234-5678", "owner": "client"}]
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"phones": more}, headers={"If-Match": "1"})
    assert r.status == 200, r
    assert [p["status"] for p in r.json["phones"]] == ["active", "inactive", "active"]


def test_assisted_channels_count_like_in_person(api):
    """`guarantor_phone` and `office` (contract 1.1, "Reaching the client"): a completed contact through either
    meets the window exactly as an `in_person` one does; an unanswered call through the guarantor is no contact."""
    facts = {}
    for channel in ("in_person", "guarantor_phone", "office"):
        cid = new_client(api)
        r = api.put(_path(cid, "checkins", new_id()), "pk.andi", checkin_body(channel=channel))
        assert r.status == 201, r
        assert r.json["channel"] == channel
        CheckinOut.model_validate(r.json)
        facts[channel] = client_item(cid)["contacts"]["L"][0]["S"].split("|")[1]
        client = api.get(f"/v1/clients/{cid}", "pk.andi").json
        assert client["compliance"]["state"] == "compliant", (channel, client["compliance"])
        assert client["compliance"]["last_contact_at"] == r.json["occurred_at"]
        listed = api.get(f"/v1/clients/{cid}/checkins", "pk.andi").json["items"]
        assert [i["channel"] for i in listed] == [channel]
    assert facts == {"in_person": "counted", "guarantor_phone": "counted", "office": "counted"}
    cid = new_client(api)
    body = checkin_body(channel="guarantor_phone", outcome="no_answer")
    assert api.put(_path(cid, "checkins", new_id()), "pk.andi", body).status == 201
    compliance = api.get(f"/v1/clients/{cid}", "pk.andi").json["compliance"]
    assert compliance["last_contact_at"] is None and compliance["state"] in ("due", "missed")


def test_lists_are_newest_first_and_paged(api):
    cid = new_client(api)
    ids = [new_id() for _ in range(3)]
    for minutes, rid in zip((50, 10, 30), ids, strict=True):
        assert api.put(_path(cid, "checkins", rid), "pk.andi", checkin_body(occurred_at=stamp(minutes))).status == 201
    visit = api.put(_path(cid, "visits", new_id()), "kasubsi.jaksel", visit_body())
    assert visit.status == 201, visit
    page1 = api.get(f"/v1/clients/{cid}/checkins?limit=2", "pk.andi").json
    assert [i["id"] for i in page1["items"]] == [ids[1], ids[2]] and page1["next_cursor"]
    page2 = api.get(f"/v1/clients/{cid}/checkins?limit=2&cursor={page1['next_cursor']}", "admin.pusat").json
    assert [i["id"] for i in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
    visits = api.get(f"/v1/clients/{cid}/visits", "kasubsi.jaksel").json
    assert [v["id"] for v in visits["items"]] == [visit.json["id"]]
    assert visits["items"][0] == visit.json
    # A visit cursor does not page check-ins; a colleague's client is not theirs to list.
    assert_problem(api.get(f"/v1/clients/{cid}/visits?cursor={page1['next_cursor']}", "pk.andi"), 422, "cursor")
    assert_problem(api.get(f"/v1/clients/{cid}/checkins", "pk.budi"), 403)
    assert_problem(api.get(f"/v1/clients/{cid}/checkins", "pk.citra"), 404)


# ----- validation ----------------------------------------------------------------------------------

def test_invalid_records_name_the_field_and_write_nothing(api):
    cid = new_client(api)  # supervision started 10 days ago (local midnight in Asia/Jakarta)
    start = datetime.fromisoformat(api.get(f"/v1/clients/{cid}", "pk.andi").json["supervision_start"])
    before_start = (start - timedelta(minutes=1)).isoformat() + "+07:00"
    just_after_start = start.isoformat() + "+07:00"
    future = (datetime.now(UTC) + timedelta(minutes=7)).isoformat()
    checkins = [
        ({"occurred_at": "2026-12-01T09:30:00"}, "occurred_at"),  # naive
        ({"occurred_at": "2026-12-01"}, "occurred_at"),
        ({"occurred_at": 1764556200}, "occurred_at"),
        ({"occurred_at": future}, "occurred_at"),
        ({"occurred_at": before_start}, "occurred_at"),
        ({"channel": "sms"}, "channel"),
        ({"outcome": "done"}, "outcome"),
        ({"notes": "x" * 4001}, "notes"),
        ({"photos": [f"k{i}" for i in range(11)]}, "photos"),
        ({"photos": ["pending/jaksel/x.jpg"]}, "photos[0]"),
        ({"extra": 1}, "extra"),
    ]
    visits = [
        ({"visited_at": "2026-12-01T09:30:00"}, "visited_at"),
        ({"location": {"lat": 91, "lon": 106.8, "accuracy_m": 5}}, "location.lat"),
        ({"location": {"lat": -6.3, "lon": -180.5, "accuracy_m": 5}}, "location.lon"),
        ({"location": {"lat": -6.3, "lon": 106.8, "accuracy_m": -1}}, "location.accuracy_m"),
        ({"location": {"lat": -6.3, "lon": 106.8, "accuracy_m": 100_001}}, "location.accuracy_m"),
        ({"location": {"lat": "-6.3", "lon": 106.8, "accuracy_m": 5}}, "location.lat"),
        ({"client_present": "yes"}, "client_present"),
        ({"met": [{"role": "friend"}]}, "met[0].role"),
        ({"notes": None}, "notes"),
    ]
    before = _state(cid)
    for kind, base, cases in (("checkins", checkin_body(), checkins), ("visits", visit_body(), visits)):
        for change, field in cases:
            r = api.put(_path(cid, kind, new_id()), "pk.andi", {**base, **change})
            assert_problem(r, 422, field, code="validation_failed")
    for bad_id in ("not-a-uuid", "123", new_id().replace("-", ""), "{" + new_id() + "}"):
        assert_problem(api.put(_path(cid, "checkins", bad_id), "pk.andi", checkin_body()), 422, "id")
    for kind in ("checkins", "visits"):
        assert_problem(api.put(_path(cid, kind, new_id()), "pk.andi", raw=b"{"), 400)
        assert_problem(api.put(_path(cid, kind, new_id()), "pk.andi", raw=b"[]"), 422, "body")
        assert_problem(api.put(_path(cid, kind, new_id()), "pk.andi", raw=b""), 422, "body")
    assert _state(cid) == before
    # The edges are accepted: the first minute of supervision, and now + 4 minutes of clock skew.
    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    for at in (just_after_start, soon):
        assert api.put(_path(cid, "checkins", new_id()), "pk.andi", checkin_body(occurred_at=at)).status == 201


def test_upload_requests_are_validated(api):
    cid = new_client(api)
    cases = [
        ({"client_id": cid, "files": []}, "files"),
        ({"client_id": cid, "files": [{"content_type": "image/jpeg", "size_bytes": 1}] * 11}, "files"),
        ({"client_id": cid, "files": [{"content_type": "image/jpeg", "size_bytes": 1},
                                      {"content_type": "image/jpeg", "size_bytes": MAX_PHOTO_BYTES + 1}]},
         "files[1].size_bytes"),
        ({"client_id": cid, "files": [{"content_type": "image/gif", "size_bytes": 10}]}, "files[0].content_type"),
        ({"client_id": cid, "files": [{"content_type": "image/jpeg", "size_bytes": 0}]}, "files[0].size_bytes"),
        ({"client_id": "nope", "files": [{"content_type": "image/jpeg", "size_bytes": 10}]}, "client_id"),
    ]
    for body, field in cases:
        assert_problem(api.post("/v1/uploads", "pk.andi", body), 422, field)
    ok = {"client_id": cid, "files": [{"content_type": "image/png", "size_bytes": MAX_PHOTO_BYTES}]}
    assert api.post("/v1/uploads", "pk.andi", ok).status == 200
    assert_problem(api.post("/v1/uploads", "pk.budi", ok), 403)
    assert_problem(api.post("/v1/uploads", "pk.citra", ok), 404)
    assert_problem(api.post("/v1/uploads", "admin.pusat", ok), 403)


# ----- access --------------------------------------------------------------------------------------

def test_a_pk_writes_only_for_their_own_clients(api):
    cid = new_client(api)  # pk.andi's client in jaksel
    before = _state(cid)
    assert_problem(api.put(_path(cid, "checkins", new_id()), "pk.budi", checkin_body()), 403, code="forbidden")
    assert_problem(api.put(_path(cid, "visits", new_id()), "pk.citra", visit_body()), 404, code="not_found")
    assert_problem(api.put(_path(cid, "checkins", new_id()), "kasubsi.makassar", checkin_body()), 404)
    assert_problem(api.put(_path(cid, "checkins", new_id()), "admin.pusat", checkin_body()), 403)
    assert_problem(api.put(_path(new_id(), "checkins", new_id()), "pk.andi", checkin_body()), 404)
    assert _state(cid) == before
    # The coordinator of the client's Bapas may record for any of its clients.
    assert api.put(_path(cid, "checkins", new_id()), "kasubsi.jaksel", checkin_body()).status == 201


# ----- photos --------------------------------------------------------------------------------------

def test_presigned_post_policy_enforces_key_type_size_and_expiry(api):
    cid = new_client(api)
    issued_at = datetime.now(UTC)
    uploads = upload_keys(api, "pk.andi", cid, "image/jpeg", "image/heic", "image/webp", "image/png")
    UploadsOut.model_validate({"uploads": uploads})
    assert len({u["key"] for u in uploads}) == 4
    for upload, (content_type, ext) in zip(uploads, [("image/jpeg", "jpg"), ("image/heic", "heic"),
                                                    ("image/webp", "webp"), ("image/png", "png")], strict=True):
        key = upload["key"]
        assert key.startswith(f"pending/jaksel/{cid}/") and key.endswith(f".{ext}")
        assert upload["fields"]["key"] == key and upload["fields"]["Content-Type"] == content_type
        assert upload["url"].rstrip("/").endswith("/pantau-dev-photos")
        policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
        conditions = policy["conditions"]
        assert {"bucket": "pantau-dev-photos"} in conditions
        assert {"key": key} in conditions  # exact match, not starts-with
        assert {"Content-Type": content_type} in conditions
        assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
        assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        assert timedelta(minutes=14) < expiration - issued_at <= timedelta(minutes=15, seconds=5)
        expires_at = datetime.fromisoformat(upload["expires_at"])
        assert abs(expires_at - expiration) < timedelta(seconds=5)


def test_records_reference_only_existing_uploads_of_their_own_client(api):
    mine, other = new_client(api), new_client(api)
    [own, missing] = upload_keys(api, "pk.andi", mine, "image/jpeg", "image/jpeg")
    [theirs] = upload_keys(api, "pk.andi", other, "image/jpeg")
    put_photo(own["key"], jpeg())
    put_photo(theirs["key"], jpeg())
    before = _state(mine)
    foreign = theirs["key"]
    cases = [
        ([own["key"], foreign], "photos[1]"),  # another client's upload, even of the same PK
        ([foreign.replace("pending/", "photos/")], "photos[0]"),
        ([foreign.replace(f"/{other}/", f"/{mine}/")], "photos[0]"),  # well-formed, never uploaded
        ([missing["key"]], "photos[0]"),  # issued for this client, not uploaded
        ([own["key"].replace("pending/jaksel/", "pending/makassar/")], "photos[0]"),
        ([own["key"], own["key"]], "photos[1]"),
    ]
    for photos, field in cases:
        r = api.put(_path(mine, "checkins", new_id()), "pk.andi", checkin_body(photos=photos))
        assert_problem(r, 422, field)
    assert _state(mine) == before
    ok = api.put(_path(mine, "checkins", new_id()), "pk.andi", checkin_body(photos=[own["key"]]))
    assert ok.status == 201, ok
    assert ok.json["stored_photos"] == [own["key"].replace("pending/", "photos/", 1)]
    assert object_exists(ok.json["stored_photos"][0])


def test_visit_reports_distance_location_check_and_photo_evidence(api):
    cid = new_client(api)
    no_location = new_client(api, address={"text": "Jl. Mawar 1", "village_code": "3174091001"})
    jpeg_up, png_up, faraway_up = upload_keys(api, "pk.andi", cid, "image/jpeg", "image/png", "image/jpeg")
    visited = datetime.now(UTC) - timedelta(minutes=40)
    put_photo(jpeg_up["key"], jpeg(HOME[0], HOME[1], visited + timedelta(minutes=3)))
    put_photo(png_up["key"], b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    put_photo(faraway_up["key"], jpeg(-6.2, 106.8, visited - timedelta(hours=9)))  # Menteng, 9 h earlier
    keys = [jpeg_up["key"], png_up["key"], faraway_up["key"]]
    body = visit_body(visited_at=visited.isoformat(), photos=keys,
                      location={"lat": HOME[0] + 0.002, "lon": HOME[1], "accuracy_m": 20})
    r = api.put(_path(cid, "visits", new_id()), "pk.andi", body)
    assert r.status == 201, r
    got = r.json
    assert got["distance_m"] == 222 and got["location_check"] == "ok"
    assert got["client_present"] is True and got["met"][1] == {"role": "bhabinkamtibmas", "name": None}
    near, far = got["photo_evidence"]  # JPEGs only
    assert (near["key"], near["flags"], near["minutes_from_claimed"]) == (keys[0], [], 3)
    assert near["distance_from_claimed_m"] == 222
    assert far["key"] == keys[2] and sorted(far["flags"]) == ["place_mismatch", "time_mismatch"]
    assert all(object_exists(k) for k in got["stored_photos"])
    VisitOut.model_validate(got)  # what the OpenAPI document says

    low = api.put(_path(cid, "visits", new_id()), "pk.andi",
                  visit_body(location={"lat": HOME[0] + 0.05, "lon": HOME[1], "accuracy_m": 150}))
    assert (low.json["location_check"], low.json["distance_m"]) == ("low_accuracy", 5560)
    far_visit = api.put(_path(cid, "visits", new_id()), "pk.andi",
                        visit_body(location={"lat": HOME[0] + 0.05, "lon": HOME[1], "accuracy_m": 10}))
    assert far_visit.json["location_check"] == "far"
    unknown = api.put(_path(no_location, "visits", new_id()), "pk.andi", visit_body(client_present=False))
    assert (unknown.json["location_check"], unknown.json["distance_m"]) == ("unknown", None)
    assert client_item(no_location)["contacts"]["L"][0]["S"].split("|")[1] == "attempt"


def test_a_dynamodb_error_before_the_write_leaves_nothing_and_the_retry_succeeds(api):
    from chalicelib.services import common

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg(HOME[0], HOME[1], datetime.now(UTC)))
    body = visit_body(photos=[up["key"]])
    rid = new_id()
    before = _state(cid)
    common.transaction()  # creates the shared connection
    events = common._connection.client.meta.events
    calls = []

    def throttle_once(**_):
        calls.append(1)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "TransactWriteItems")

    events.register("before-call.dynamodb.TransactWriteItems", throttle_once)
    try:
        failed = api.put(_path(cid, "visits", rid), "pk.andi", body)
        assert_problem(failed, 503, code="service_unavailable")
        assert failed.headers["retry-after"].isdigit()
        assert _state(cid) == before  # no record, no audit entry, client unchanged
        assert not object_exists(up["key"].replace("pending/", "photos/", 1))
        retried = api.put(_path(cid, "visits", rid), "pk.andi", body)
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", throttle_once)
    assert retried.status == 201, retried
    assert len(calls) == 2
    assert len(records_of(cid)) == 1 and len(audits_of(f"record#{cid}#")) == 1
    assert object_exists(retried.json["stored_photos"][0])
    assert api.put(_path(cid, "visits", rid), "pk.andi", body).body == retried.body


def test_a_replay_finishes_an_interrupted_photo_copy(api, monkeypatch):
    from chalicelib.adapters import storage

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    body, rid = checkin_body(photos=[up["key"]]), new_id()
    final = up["key"].replace("pending/", "photos/", 1)

    def s3_down(*_a, **_k):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "CopyObject")

    with monkeypatch.context() as m:
        m.setattr(storage, "keep", s3_down)
        first = api.put(_path(cid, "checkins", rid), "pk.andi", body)
    assert_problem(first, 503)
    assert len(records_of(cid)) == 1 and not object_exists(final)  # saved, photo not kept yet
    replay = api.put(_path(cid, "checkins", rid), "pk.andi", body)
    assert replay.status == 200 and object_exists(final)
    # Once kept, the pending upload may expire: a later replay is still the same record.
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    aws.client("s3").delete_object(Bucket=settings().bucket, Key=up["key"])
    assert api.put(_path(cid, "checkins", rid), "pk.andi", body).body == replay.body



def test_benchmark_runs_and_counts_one_dynamodb_write_per_put(api):
    """The benchmark (`make bench`) in two iterations; its request counts are the write-path budget."""
    from bench import records_bench

    results = records_bench.run(iterations=2, warmup=0, env=api)
    requests = results["requests"]
    assert requests["checkin, no photos"]["by_operation"] == {"dynamodb.GetItem": 1,
                                                              "dynamodb.TransactWriteItems": 1}
    assert requests["checkin, two photos"]["by_operation"] == {
        "dynamodb.GetItem": 1, "dynamodb.TransactWriteItems": 1, "s3.HeadObject": 2, "s3.CopyObject": 2}
    assert requests["visit, two JPEG photos"]["by_operation"]["s3.GetObject"] == 2
    for name in ("checkin, no photos", "checkin, two photos"):  # the baseline makes the same requests
        assert requests[f"baseline {name}"]["by_operation"] == requests[name]["by_operation"]
    assert set(results["timing_ms"]) == {"no photos", "two photos"}
    assert "ratio" in records_bench.report(results)
