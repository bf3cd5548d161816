"""Client registry over the in-process app: validation, scoping, optimistic locking, audit."""

import json
import logging
import uuid

import pytest

from chalicelib.adapters.tables import AuditModel, ClientModel
from tests.support import assert_problem, client_body


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


def count(model):
    return sum(1 for _ in model.scan())


def totals():
    return count(ClientModel), count(AuditModel)


def register(api, user="kasubsi.jaksel", **overrides):
    r = api.post("/v1/clients", user, client_body(**overrides))
    assert r.status == 201, r
    return r.json


def test_register_normalises_and_derives(api):
    body = client_body(phones=[{"number": "0812-3456-7890", "owner": "client"},
                               {"number": "+62 813 1111 2222", "owner": "guarantor", "name": "Ibu"}])
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    c = r.json
    assert r.headers["etag"] == '"1"'
    assert r.headers["location"] == f"/v1/clients/{c['id']}"
    fresh = {"status": "active", "verified_at": None, "inactive_since": None}
    assert c["phones"] == [{"number": "+6281234567890", "owner": "client", "name": None, **fresh},
                           {"number": "+6281311112222", "owner": "guarantor", "name": "Ibu", **fresh}]
    assert c["address"]["village_code"] == "31.74.09.1001"
    assert c["address"]["village_name"] == "Jagakarsa"
    assert c["bapas_id"] == "jaksel" and c["version"] == 1
    assert c["checkin_interval_days"] == 7
    assert c["stage"] == "awal"
    assert set(c["compliance"]) == {"state", "consecutive_missed", "last_contact_at", "next_due", "reason",
                                    "escalation_due_at"}
    assert c["compliance"]["state"] in {"missed", "due"}
    assert api.get(f"/v1/clients/{c['id']}", "kasubsi.jaksel").json == c
    audit = list(AuditModel.query(f"client#{c['id']}"))
    assert [(a.action, a.actor, a.role) for a in audit] == [("client.create", "kasubsi.jaksel", "coordinator")]


@pytest.mark.parametrize("program,interval", [("asimilasi", 7), ("pembebasan_bersyarat", 30), ("cuti_bersyarat", 30),
                                              ("cuti_menjelang_bebas", 30)])
def test_program_sets_interval(api, program, interval):
    assert register(api, program=program)["checkin_interval_days"] == interval


def test_interval_can_be_set_otherwise(api):
    assert register(api, program="pembebasan_bersyarat", checkin_interval_days=14)["checkin_interval_days"] == 14


def test_register_with_app_id_is_idempotent(api):
    body = client_body(id=str(uuid.uuid4()))
    before = totals()
    first = api.post("/v1/clients", "kasubsi.jaksel", body)
    again = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert first.status == 201 and again.status == 200
    assert again.json == first.json
    changed = api.post("/v1/clients", "kasubsi.jaksel", {**body, "name": "Lain"})
    assert_problem(changed, 409, code="conflict")
    assert totals() == (before[0] + 1, before[1] + 1)


BAD_BODIES = [
    ("phones[0].number", {"phones": [{"number": "12345", "owner": "client"}]}),
    ("phones", {"phones": []}),
    ("phones[0].owner", {"phones": [{"number": "081234567890", "owner": "tetangga"}]}),
    ("program", {"program": "remisi"}),
    ("supervision_start", {"supervision_start": 20260101}),
    ("supervision_start", {"supervision_start": "01/02/2026"}),
    ("checkin_interval_days", {"checkin_interval_days": "7"}),
    ("supervision_end", {"supervision_start": "2026-06-01", "supervision_end": "2026-01-01"}),
    ("address.village_code", {"address": {"text": "Jl. A", "village_code": "3174099999"}}),
    ("address.village_code", {"address": {"text": "Jl. A", "village_code": "31.74"}}),
    ("address.location.lat", {"address": {"text": "Jl. A", "village_code": "3174091001",
                                          "location": {"lat": 123, "lon": 106}}}),
    ("name", {"name": ""}),
    ("name", {"name": "x" * 201}),
    ("officer", {"officer": "pk.citra"}),  # a PK of another Bapas
    ("officer", {"officer": "kasubsi.jaksel"}),  # not a PK
    ("officer", {"officer": "nobody"}),
    ("unexpected", {"unexpected": True}),
]


@pytest.mark.parametrize("field,override", BAD_BODIES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_BODIES)])
def test_bad_input_names_the_field_and_writes_nothing(api, field, override):
    before = totals()
    r = api.post("/v1/clients", "kasubsi.jaksel", client_body(**override))
    assert_problem(r, 422, field=field, code="validation_failed")
    assert totals() == before


def test_missing_field(api):
    body = client_body()
    del body["name"]
    before = totals()
    assert_problem(api.post("/v1/clients", "kasubsi.jaksel", body), 422, field="name")
    assert totals() == before


@pytest.mark.parametrize("raw,status,field", [
    (b"{not json", 400, "body"),
    (b"", 422, "body"),
    (b"[1, 2]", 422, "body"),
    (b'"text"', 422, "body"),
])
def test_unparseable_bodies(api, raw, status, field):
    before = totals()
    assert_problem(api.post("/v1/clients", "kasubsi.jaksel", raw=raw), status, field=field)
    assert totals() == before


def test_oversized_body_is_413(api):
    body = client_body(notes="x" * 70_000)
    before = totals()
    assert_problem(api.post("/v1/clients", "kasubsi.jaksel", body), 413, field="body")
    assert totals() == before


def test_wrong_content_type_is_415(api):
    r = api.post("/v1/clients", "kasubsi.jaksel", raw=json.dumps(client_body()).encode(),
                 headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, field="Content-Type")


def test_visibility(api):
    andi = register(api, officer="pk.andi")
    budi = register(api, officer="pk.budi")
    assert api.get(f"/v1/clients/{andi['id']}", "pk.andi").status == 200
    assert_problem(api.get(f"/v1/clients/{budi['id']}", "pk.andi"), 403)
    assert_problem(api.get(f"/v1/clients/{andi['id']}", "kasubsi.makassar"), 404)
    assert_problem(api.get(f"/v1/clients/{andi['id']}", "pk.citra"), 404)
    assert api.get(f"/v1/clients/{andi['id']}", "admin.pusat").status == 200
    assert_problem(api.get("/v1/clients/not-a-uuid", "kasubsi.jaksel"), 404)
    assert_problem(api.get(f"/v1/clients/{uuid.uuid4()}", "kasubsi.jaksel"), 404)


def test_lists_are_scoped(api):
    mine = {register(api, officer="pk.andi")["id"] for _ in range(3)}
    theirs = {register(api, officer="pk.budi")["id"] for _ in range(2)}
    other_bapas = api.post("/v1/clients", "kasubsi.makassar",
                           client_body(officer="pk.citra", address={"text": "Jl. B", "village_code": "73.71.01.1001"}))
    assert other_bapas.status == 201, other_bapas
    # other tests in this module register clients too: check membership, not equality
    pk = {c["id"]: c for c in api.get("/v1/clients?limit=200", "pk.andi").json["items"]}
    assert mine <= set(pk) and not theirs & set(pk) and all(c["officer"] == "pk.andi" for c in pk.values())
    assert_problem(api.get("/v1/clients?officer=pk.budi", "pk.andi"), 403)
    coordinator = {c["id"]: c for c in api.get("/v1/clients?limit=200", "kasubsi.jaksel").json["items"]}
    assert mine | theirs <= set(coordinator) and all(c["bapas_id"] == "jaksel" for c in coordinator.values())
    assert other_bapas.json["id"] not in coordinator
    budi = {c["id"] for c in api.get("/v1/clients?officer=pk.budi&limit=200", "kasubsi.jaksel").json["items"]}
    assert theirs <= budi and not mine & budi
    assert_problem(api.get("/v1/clients", "admin.pusat"), 422, field="bapas_id")
    admin = api.get("/v1/clients?bapas_id=makassar&limit=200", "admin.pusat").json
    assert other_bapas.json["id"] in {c["id"] for c in admin["items"]}
    assert all(c["bapas_id"] == "makassar" for c in admin["items"])
    assert_problem(api.get("/v1/clients?bapas_id=makassar", "kasubsi.jaksel"), 404)


def test_list_filters_and_cursor(api):
    village = {"text": "Jl. D", "village_code": "31.74.06.1003"}  # no other test uses this village
    ids = {register(api, address=village)["id"] for _ in range(5)}
    other = register(api, address={"text": "Jl. C", "village_code": "31.74.06.1004"})["id"]
    seen, cursor, pages = [], None, 0
    while True:
        query = "/v1/clients?limit=2&village_code=31.74.06.1003"
        r = api.get(query + (f"&cursor={cursor}" if cursor else ""), "kasubsi.jaksel")
        assert r.status == 200, r
        assert len(r.json["items"]) <= 2
        seen += [c["id"] for c in r.json["items"]]
        pages += 1
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5 and pages in (3, 4)
    by_village = api.get("/v1/clients?village_code=3174061004", "kasubsi.jaksel").json["items"]
    assert [c["id"] for c in by_village] == [other]
    states = {c["compliance"]["state"] for c in api.get("/v1/clients?limit=200", "kasubsi.jaksel").json["items"]}
    for state in states:
        filtered = api.get(f"/v1/clients?state={state}", "kasubsi.jaksel").json["items"]
        assert filtered and all(c["compliance"]["state"] == state for c in filtered)
    assert api.get("/v1/clients?state=ended", "kasubsi.jaksel").json["items"] == []


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
                                         ("cursor=%%%", "cursor"), ("cursor=eyJ4IjoxfQ", "cursor"),
                                         ("state=lost", "state"), ("village_code=123", "village_code")])
def test_bad_list_parameters(api, query, field):
    assert_problem(api.get(f"/v1/clients?{query}", "kasubsi.jaksel"), 422, field=field)


def test_cursor_of_another_bapas_is_refused(api):
    for _ in range(3):
        api.post("/v1/clients", "kasubsi.makassar",
                 client_body(officer="pk.citra", address={"text": "Jl. B", "village_code": "73.71.01.1001"}))
    cursor = api.get("/v1/clients?limit=1", "kasubsi.makassar").json["next_cursor"]
    assert cursor
    assert_problem(api.get(f"/v1/clients?cursor={cursor}", "kasubsi.jaksel"), 422, field="cursor")


def test_patch_needs_if_match_and_a_current_version(api):
    c = register(api)
    path = f"/v1/clients/{c['id']}"
    assert_problem(api.patch(path, "kasubsi.jaksel", {"notes": "x"}), 428, field="If-Match")
    assert_problem(api.patch(path, "kasubsi.jaksel", {"notes": "x"}, headers={"If-Match": '"7"'}), 412)
    assert_problem(api.patch(path, "kasubsi.jaksel", {"notes": "x"}, headers={"If-Match": "abc"}), 422,
                   field="If-Match")
    r = api.patch(path, "kasubsi.jaksel", {"notes": "Sudah bekerja", "officer": "pk.budi"},
                  headers={"If-Match": '"1"'})
    assert r.status == 200, r
    assert r.json["version"] == 2 and r.json["officer"] == "pk.budi" and r.json["notes"] == "Sudah bekerja"
    assert r.headers["etag"] == '"2"'
    assert_problem(api.patch(path, "kasubsi.jaksel", {"notes": "y"}, headers={"If-Match": "1"}), 412)
    audit = sorted(AuditModel.query(f"client#{c['id']}"), key=lambda a: a.at_id)
    assert [a.action for a in audit] == ["client.create", "client.update"]
    assert audit[1].fields == ["notes", "officer", "officer_key"] and audit[1].version == 2
    assert api.get(path, "pk.budi").status == 200 and api.get(path, "pk.andi").status == 403


def test_patch_program_resets_interval_and_validates(api):
    c = register(api)
    path = f"/v1/clients/{c['id']}"
    r = api.patch(path, "kasubsi.jaksel", {"program": "pembebasan_bersyarat"}, headers={"If-Match": "1"})
    assert r.status == 200 and r.json["checkin_interval_days"] == 30
    for body, field in [({"officer": "pk.citra"}, "officer"), ({"supervision_end": "2000-01-01"}, "supervision_end"),
                        ({"name": None}, "name"),
                        ({"phones": [{"number": "1", "owner": "client"}]}, "phones[0].number")]:
        assert_problem(api.patch(path, "kasubsi.jaksel", body, headers={"If-Match": "2"}), 422, field=field)
    assert api.get(path, "kasubsi.jaksel").json["version"] == 2


def test_only_the_bapas_coordinator_patches(api):
    c = register(api)
    path = f"/v1/clients/{c['id']}"
    assert_problem(api.patch(path, "pk.andi", {"notes": "x"}, headers={"If-Match": "1"}), 403)
    assert_problem(api.patch(path, "kasubsi.makassar", {"notes": "x"}, headers={"If-Match": "1"}), 404)
    assert_problem(api.patch(path, "admin.pusat", {"notes": "x"}, headers={"If-Match": "1"}), 403)


def test_registration_logs_no_personal_data(api, caplog, capsys):
    caplog.set_level(logging.INFO)  # what runs in production: INFO for every logger
    body = client_body(name="Sutrisno Wibisono", offence="Pasal 378 KUHP penipuan",
                       address={"text": "Jl. Cempaka Putih No. 77", "village_code": "3174091001"})
    c = register(api, **{k: body[k] for k in ("name", "offence", "address")})
    api.get(f"/v1/clients/{c['id']}", "kasubsi.jaksel")
    api.get("/v1/clients", "kasubsi.jaksel")
    # Every record with all its fields (message, args and the structured `extra` keys) plus anything printed.
    logged = "\n".join(str(vars(record)) for record in caplog.records) + capsys.readouterr().out
    assert "'route': '/v1/clients'" in logged  # the access log is there ...
    for secret in ("Sutrisno", "Wibisono", "Cempaka", "Pasal 378", "penipuan", "81234567890", "3456-7890"):
        assert secret not in logged  # ... and carries no personal data


def test_village_contacts(api):
    body = {"bhabinkamtibmas": {"name": "Bripka Sutanto", "phone": "0812 9999 1111", "polsek": "Polsek Jagakarsa"},
            "village_office": {"name": "Kantor Kelurahan Ciganjur", "phone": "0813-7890-1234"}}
    r = api.put("/v1/villages/3174091003/contacts", "kasubsi.jaksel", body)
    assert r.status == 201, r
    assert r.json["village_code"] == "31.74.09.1003" and r.json["village_name"] == "Ciganjur"
    assert r.json["bhabinkamtibmas"]["phone"] == "+6281299991111"
    again = api.put("/v1/villages/31.74.09.1003/contacts", "kasubsi.jaksel", body)
    assert again.status == 200 and again.json["version"] == 2
    got = api.get("/v1/villages/31.74.09.1003/contacts", "pk.andi")
    assert got.status == 200 and got.json["bhabinkamtibmas"]["name"] == "Bripka Sutanto"
    assert_problem(api.get("/v1/villages/31.74.09.1003/contacts", "pk.citra"), 404)
    assert api.get("/v1/villages/31.74.09.1003/contacts?bapas_id=jaksel", "admin.pusat").status == 200
    assert_problem(api.put("/v1/villages/31.74.09.1003/contacts", "pk.andi", body), 403)
    assert_problem(api.put("/v1/villages/9999999999/contacts", "kasubsi.jaksel", body), 422, field="village_code")
    bad = {"bhabinkamtibmas": {"name": "X", "phone": "000"}}
    assert_problem(api.put("/v1/villages/3174091003/contacts", "kasubsi.jaksel", bad), 422,
                   field="bhabinkamtibmas.phone")
    entries = list(AuditModel.query("village#jaksel#31.74.09.1003"))
    assert len(entries) == 2
