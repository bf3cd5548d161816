"""Input limits, generic over the route registry where they are generic: the body size (413) of every write,
the page size (1..200) and cursor of every list, the length of every query value; and the string and list
lengths of the request bodies (the per-field cases the other test files do not already cover)."""

from __future__ import annotations

import uuid

import pytest

import app  # noqa: F401  (registers every route)
from chalicelib.http import ROUTES
from chalicelib.paging import MAX_LIMIT
from tests.escalation_support import VILLAGE
from tests.records_support import checkin_body, new_client, visit_body
from tests.support import InProcess, assert_problem, client_body, reset_caches

# The reply page (`html`) answers an oversized form with its own 413 page: tests/test_followup.py.
WRITES = sorted(k for k, d in ROUTES.items() if d.policy.writes and d.request is not None and not d.policy.html)
LISTS = sorted(k for k, d in ROUTES.items() if any(q.name == "limit" for q in d.query))
WITH_QUERY = sorted(k for k, d in ROUTES.items() if d.query and any(q.name != "limit" for q in d.query))


@pytest.fixture(scope="module")
def api():
    with InProcess() as env:
        env.pantau_client = new_client(env)
        yield env
    reset_caches()


class _FreshIds(dict):
    """Path parameters: the known ones as given, any other `{..._id}` a fresh UUID."""

    def __missing__(self, key: str) -> str:
        if key.endswith("_id"):
            return str(uuid.uuid4())
        raise KeyError(key)


def _path(api, template: str) -> str:
    return template.format_map(_FreshIds(client_id=api.pantau_client, village_code=VILLAGE, area_code=VILLAGE[:8],
                                          photo_id=f"{uuid.uuid4()}.jpg"))


def _user(path: str, method: str) -> str:
    roles = ROUTES[(path, method)].policy.roles
    return "kasubsi.jaksel" if "coordinator" in roles else {"pk": "pk.andi", "admin": "admin.pusat"}[roles[0]]


def test_the_generic_lists_are_not_empty():
    assert len(WRITES) >= 8 and len(LISTS) >= 7


@pytest.mark.parametrize("path,method", WRITES, ids=[f"{m} {p}" for p, m in WRITES])
def test_every_write_refuses_a_body_over_64_kib_before_reading_it(api, path, method):
    big = {"notes": "x" * (64 * 1024)}
    r = api.request(method, _path(api, path), _user(path, method), body=big, headers={"If-Match": "1"})
    assert_problem(r, 413, "body", code="payload_too_large")
    # Multi-byte text counts in bytes: 22,000 three-byte characters are 66,000 bytes.
    r = api.request(method, _path(api, path), _user(path, method), body={"notes": "ก" * 22_000},
                    headers={"If-Match": "1"})
    assert_problem(r, 413, "body")


@pytest.mark.parametrize("path,method", LISTS, ids=[f"{m} {p}" for p, m in LISTS])
def test_every_list_caps_its_page_at_200_and_checks_its_cursor(api, path, method):
    user = _user(path, method)
    base = _path(api, path) + ("?bapas_id=jaksel&" if user == "admin.pusat" else "?")
    assert api.get(f"{base}limit={MAX_LIMIT}", user).status == 200
    for bad in ("201", "0", "-1", "1e3", "¹", "２", "50.0", "9" * 40, ""):
        assert_problem(api.get(f"{base}limit={bad}", user), 422, "limit")
    for cursor in ("%%%", "eyJ4IjoxfQ", "W10", "x" * 3000, "bnVsbA"):
        assert_problem(api.get(f"{base}cursor={cursor}", user), 422, "cursor")


@pytest.mark.parametrize("path,method", WITH_QUERY, ids=[f"{m} {p}" for p, m in WITH_QUERY])
def test_every_query_value_has_a_length_limit(api, path, method):
    user = _user(path, method)
    for q in ROUTES[(path, method)].query:
        if q.name in ("limit", "cursor"):
            continue
        r = api.get(f"{_path(api, path)}?{q.name}={'x' * 3000}", user)
        assert_problem(r, 422, q.name)


TOO_LONG = [
    ("POST", "/v1/clients", lambda: client_body(address={"text": "x" * 501, "village_code": VILLAGE}),
     "address.text"),
    ("POST", "/v1/clients", lambda: client_body(offence="x" * 1001), "offence"),
    ("POST", "/v1/clients", lambda: client_body(notes="x" * 4001), "notes"),
    ("POST", "/v1/clients", lambda: client_body(officer="x" * 129), "officer"),
    ("POST", "/v1/clients", lambda: client_body(phones=[{"number": "0" * 41, "owner": "client"}]),
     "phones[0].number"),
    ("POST", "/v1/clients", lambda: client_body(phones=[{"number": "081234567890", "owner": "client",
                                                         "name": "x" * 201}]), "phones[0].name"),
    ("POST", "/v1/clients", lambda: client_body(phones=[{"number": "081234567890", "owner": "client"}] * 11),
     "phones"),
    ("PUT", "/v1/villages/{village_code}/contacts",
     lambda: {"bhabinkamtibmas": {"name": "x" * 201, "phone": "081234567890"}}, "bhabinkamtibmas.name"),
    ("PUT", "/v1/villages/{village_code}/contacts",
     lambda: {"bhabinkamtibmas": {"name": "A", "phone": "081234567890", "polsek": "x" * 201}},
     "bhabinkamtibmas.polsek"),
    ("PUT", "/v1/clients/{client_id}/visits/{record_id}", lambda: visit_body(notes="x" * 4001), "notes"),
    ("PUT", "/v1/clients/{client_id}/visits/{record_id}",
     lambda: visit_body(met=[{"role": "family", "name": "x" * 201}]), "met[0].name"),
    ("PUT", "/v1/clients/{client_id}/visits/{record_id}", lambda: visit_body(met=[{"role": "family"}] * 21), "met"),
    ("PUT", "/v1/clients/{client_id}/checkins/{record_id}", lambda: checkin_body(photos=["x" * 257]), "photos[0]"),
    ("POST", "/v1/escalations/{escalation_id}/resolve", lambda: {"resolution": "x" * 201}, "resolution"),
    ("POST", "/v1/escalations/{escalation_id}/resolve", lambda: {"resolution": "other", "notes": "x" * 4001}, "notes"),
]


@pytest.mark.parametrize("method,path,body,field", TOO_LONG, ids=[f"{m} {p} {f}" for m, p, _, f in TOO_LONG])
def test_strings_and_lists_over_their_limit_are_422_on_the_field(api, method, path, body, field):
    r = api.request(method, _path(api, path), "kasubsi.jaksel", body=body())
    assert_problem(r, 422, field, code="validation_failed")


def test_limits_are_inclusive_and_count_characters(api):
    """At the limit is accepted, in characters, multi-byte ones included (the byte limit is the body's)."""
    body = client_body(name="Ñ" * 200, notes="é" * 4000, offence="ü" * 1000,
                       address={"text": "ā" * 500, "village_code": VILLAGE},
                       phones=[{"number": "081234567890", "owner": "client"}] * 10)
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201, r
    assert len(r.json["notes"]) == 4000 and len(r.json["phones"]) == 10
    visit = visit_body(notes="é" * 4000, met=[{"role": "family", "name": "Ñ" * 200}] * 20)
    assert api.put(f"/v1/clients/{r.json['id']}/visits/{uuid.uuid4()}", "kasubsi.jaksel", visit).status == 201


def test_numbers_dynamodb_cannot_store_are_normalised_not_a_5xx(api):
    """DynamoDB refuses numbers closer to zero than 1e-130: coordinates are kept to 1e-7 degree (about 1 cm).
    The fuzzer found `lon: -4.36e-209` (a 503 on a visit, a 500 on a registration)."""
    tiny = {"lat": -6.3356, "lon": -4.36041406757963e-209, "accuracy_m": 1e-200}
    r = api.put(f"/v1/clients/{api.pantau_client}/visits/{uuid.uuid4()}", "pk.andi", visit_body(location=tiny))
    assert r.status == 201, r
    assert r.json["location"] == {"lat": -6.3356, "lon": 0.0, "accuracy_m": 0.0}
    body = client_body(address={"text": "Jl. A", "village_code": VILLAGE, "location": {"lat": 1e-200, "lon": 106.8}})
    r = api.post("/v1/clients", "kasubsi.jaksel", body)
    assert r.status == 201 and r.json["address"]["location"] == {"lat": 0.0, "lon": 106.8}, r


ENUMS_AND_DATES = sorted((k, q.name) for k, d in ROUTES.items() for q in d.query
                         if "enum" in q.schema or q.schema.get("format") == "date")


@pytest.mark.parametrize("path,method,name", [(p, m, n) for (p, m), n in ENUMS_AND_DATES],
                         ids=[f"{m} {p} ?{n}" for (p, m), n in ENUMS_AND_DATES])
def test_every_declared_enum_and_date_parameter_is_checked_by_its_route(api, path, method, name):
    """Declared once in `route(query=...)`, checked there (http.query_params): a value outside the schema is a
    422 naming the parameter, whatever the route's service does with it."""
    user = _user(path, method)
    base = _path(api, path) + ("?bapas_id=jaksel&" if user == "admin.pusat" else "?")
    assert_problem(api.request(method, f"{base}{name}=no-such-value", user), 422, name, code="validation_failed")
    empty = api.request(method, f"{base}{name}=", user)
    date = next(q for q in ROUTES[(path, method)].query if q.name == name).schema.get("format") == "date"
    if date:  # an empty date is no date (the outside fuzzer's ST201): 422 naming it
        assert_problem(empty, 422, name, code="validation_failed")
    else:  # an empty enum value: as if not sent
        assert empty.status == 200, empty
