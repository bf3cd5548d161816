"""The authorization matrix: every registered route × every kind of caller, with the exact status expected.

The table is keyed by (method, path) of `chalicelib.http.ROUTES`: a route registered without a row fails
`test_every_route_has_a_row`. Writes get valid bodies (per-route factories), so the status says who may call,
not what they sent. Every answer is also checked against the OpenAPI document: its status is documented for
the operation, a success body validates against the route's response model, an error is problem+json.

Callers (the client is pk.andi's, in Bapas jaksel):
  pk_own        pk.andi: the client's PK
  pk_other      pk.budi: a PK of the same Bapas, not the client's
  coord_same    kasubsi.jaksel: the Bapas's coordinator
  coord_other   kasubsi.makassar: a coordinator of another Bapas
  admin         admin.pusat: national, read-only
  none          no Authorization header
  expired       a correctly signed coordinator token of this pool that expired two minutes ago
  other_app     a real Cognito token of kasubsi.jaksel, issued to another app client of the same pool
"""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from pydantic import BaseModel

import app  # noqa: F401  (registers every route)
from chalicelib.domain.clients import stage_on
from chalicelib.http import ROUTES
from chalicelib.openapi import document, response_parts
from chalicelib.schemas.common import ProblemOut, Text
from tests.escalation_support import (
    BHABIN_PHONE,
    at_wib,
    put_village_contacts,
    run_and_drain,
    sms_to,
    today_wib,
    unreachable_client,
)
from tests.records_support import checkin_body, jpeg, new_client, put_photo, upload_keys, visit_body
from tests.support import InProcess, client_body, reset_caches
from tests.tokens import signed_token

CALLERS = ("none", "expired", "other_app", "admin", "pk_other", "coord_other", "pk_own", "coord_same")
USERS = {"pk_own": "pk.andi", "pk_other": "pk.budi", "coord_same": "kasubsi.jaksel",
         "coord_other": "kasubsi.makassar", "admin": "admin.pusat"}
PK_OF = {"kasubsi.jaksel": "pk.andi", "kasubsi.makassar": "pk.citra"}

PUBLIC = dict.fromkeys(CALLERS, 200)
ANON = {"none": 401, "expired": 401, "other_app": 401}
READ = {**ANON, "pk_own": 200, "pk_other": 403, "coord_same": 200, "coord_other": 404, "admin": 200}
LIST = {**ANON, "pk_own": 200, "pk_other": 200, "coord_same": 200, "coord_other": 404, "admin": 200}
RECORD_PUT = {**ANON, "pk_own": 201, "pk_other": 403, "coord_same": 201, "coord_other": 404, "admin": 403}
COORDINATOR_ONLY = {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 200, "coord_other": 404, "admin": 403}
READERS_ONLY = {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 200, "coord_other": 404, "admin": 200}

MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/dashboard"): PUBLIC,
    ("GET", "/v1/health"): PUBLIC,
    ("GET", "/v1/config"): PUBLIC,
    # The reply page: the link is the key, a caller's token changes nothing (each POST is one more answer).
    ("GET", "/r/{token}"): PUBLIC,
    ("POST", "/r/{token}"): PUBLIC,
    ("GET", "/v1/openapi.json"): PUBLIC,
    ("GET", "/v1/me"): {**ANON, **dict.fromkeys(USERS, 200)},
    ("GET", "/v1/me/profile"): {**ANON, **dict.fromkeys(USERS, 200)},
    ("GET", "/v1/clients"): LIST,
    # A coordinator of another Bapas registers in their own Bapas (the Bapas comes from the token).
    ("POST", "/v1/clients"): {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 201, "coord_other": 201,
                              "admin": 403},
    ("GET", "/v1/clients/{client_id}"): READ,
    ("PATCH", "/v1/clients/{client_id}"): COORDINATOR_ONLY,
    ("GET", "/v1/clients/{client_id}/checkins"): READ,
    ("PUT", "/v1/clients/{client_id}/checkins/{record_id}"): RECORD_PUT,
    ("GET", "/v1/clients/{client_id}/visits"): READ,
    ("PUT", "/v1/clients/{client_id}/visits/{record_id}"): RECORD_PUT,
    ("GET", "/v1/clients/{client_id}/progress-reports"): READ,
    ("PUT", "/v1/clients/{client_id}/progress-reports/{record_id}"): RECORD_PUT,
    ("GET", "/v1/clients/{client_id}/stage-reviews"): READ,
    ("PUT", "/v1/clients/{client_id}/stage-reviews/{record_id}"): RECORD_PUT,
    ("GET", "/v1/clients/{client_id}/timeline"): READERS_ONLY,
    # Transfers: the World's transfers go from jaksel (coord_same) to makassar (coord_other), who answers them.
    ("POST", "/v1/clients/{client_id}/transfer"): {**COORDINATOR_ONLY, "coord_same": 201},
    # A program change (issue 15.3) on a client of its own, so that the other rows keep the World's first period.
    ("POST", "/v1/clients/{client_id}/programs"): {**COORDINATOR_ONLY, "coord_same": 201},
    ("PUT", "/v1/clients/{client_id}/violations/{record_id}"): {**COORDINATOR_ONLY, "coord_same": 201},
    ("PATCH", "/v1/clients/{client_id}/violations/{record_id}"): COORDINATOR_ONLY,
    ("GET", "/v1/clients/{client_id}/violations/{record_id}"): READ,
    ("GET", "/v1/clients/{client_id}/violations"): READ,
    ("GET", "/v1/clients/{client_id}/violations/{record_id}/timeline"): READERS_ONLY,
    ("GET", "/v1/violations"): LIST,
    ("GET", "/v1/transfers"): READERS_ONLY,
    ("GET", "/v1/transfers/{transfer_id}"): {**READERS_ONLY, "coord_other": 200},
    ("POST", "/v1/transfers/{transfer_id}/accept"): {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 403,
                                                     "coord_other": 200, "admin": 403},
    ("POST", "/v1/transfers/{transfer_id}/decline"): {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 403,
                                                      "coord_other": 200, "admin": 403},
    ("GET", "/v1/clients/{client_id}/photos/{photo_id}"): READ,
    ("POST", "/v1/uploads"): {**RECORD_PUT, "pk_own": 200, "coord_same": 200},
    ("GET", "/v1/escalations"): LIST,
    ("GET", "/v1/escalations/{escalation_id}"): READ,
    ("POST", "/v1/escalations/{escalation_id}/resolve"): COORDINATOR_ONLY,
    ("GET", "/v1/tasks"): LIST,
    ("GET", "/v1/reports/compliance"): READERS_ONLY,
    # Issue 14. The API's clock is at 10:00 WIB (codes go only in daytime); nobody asked for a code before the
    # confirm rows run, so an allowed caller's confirm is a 422 on `number`.
    ("GET", "/v1/clients/{client_id}/messages"): {**READ, "admin": 403},
    ("POST", "/v1/clients/{client_id}/phones/verify"): {**RECORD_PUT, "pk_own": 202, "coord_same": 202},
    ("POST", "/v1/clients/{client_id}/phones/confirm"): {**RECORD_PUT, "pk_own": 422, "coord_same": 422},
    ("GET", "/v1/villages/{village_code}/contacts"): LIST,
    # Each coordinator keeps their own Bapas's directory: makassar's first entry for this village is a 201.
    ("PUT", "/v1/villages/{village_code}/contacts"): {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 200,
                                                       "coord_other": 201, "admin": 403},
    ("GET", "/v1/areas/{area_code}/contacts"): LIST,
    ("PUT", "/v1/areas/{area_code}/contacts"): {**ANON, "pk_own": 403, "pk_other": 403, "coord_same": 200,
                                                "coord_other": 201, "admin": 403},
}


# ----- the world the matrix runs in ---------------------------------------------------------------------

class World:
    def __init__(self, api: InProcess):
        self.api = api
        start = date.today() - timedelta(days=20)
        self.start, self.end = start, start + timedelta(days=180)
        self.client_id = new_client(api, supervision_start=start.isoformat(), supervision_end=self.end.isoformat(),
                                    phones=[{"number": "0812-3456-7890", "owner": "client"},
                                            {"number": "0813-1111-2222", "owner": "guarantor"}])
        [up] = upload_keys(api, "pk.andi", self.client_id, "image/jpeg")
        put_photo(up["key"], jpeg())
        r = api.put(f"/v1/clients/{self.client_id}/checkins/{uuid.uuid4()}", "pk.andi",
                    checkin_body(photos=[up["key"]]))
        assert r.status == 201, r
        self.photo_id = r.json["stored_photos"][0].rsplit("/", 1)[1]
        put_village_contacts(api)
        r = api.put("/v1/areas/31.74.09/contacts", "kasubsi.jaksel", {"polsek": {"name": "Ipda Uji",
                                                                                 "phone": "0812-5550-1000"}})
        assert r.status == 201, r
        esc_client = unreachable_client(api)
        run_and_drain(at_wib(today_wib()))
        self.escalation_id = api.get(f"/v1/clients/{esc_client}", "kasubsi.jaksel").json["open_escalation_id"]
        assert self.escalation_id
        r = api.put(f"/v1/clients/{self.client_id}/violations/{uuid.uuid4()}", "kasubsi.jaksel",
                    {"reported_at": checkin_body()["occurred_at"], "summary": "Tidak lapor diri tiga kali."})
        assert r.status == 201, r
        self.violation_id = r.json["id"]
        self.transfers = {}
        for answer in ("accept", "decline"):
            r = api.post(f"/v1/clients/{new_client(api)}/transfer", "kasubsi.jaksel",
                         {"to_bapas_id": "makassar", "reason": "Pindah domisili."})
            assert r.status == 201, r
            self.transfers[answer] = r.json["id"]
        [sms] = sms_to(BHABIN_PHONE)
        self.reply_token = sms.rsplit("/r/", 1)[1]
        self.program_client = new_client(api)
        pool, app_client = api.resources.user_pool_id, api.resources.user_pool_client_id
        now = int(time.time())
        self.expired = signed_token(pool, app_client, "kasubsi.jaksel", ("coordinator",), exp=now - 120,
                                    iat=now - 3720)
        idp = boto3.client("cognito-idp", region_name="ap-southeast-3")
        other = idp.create_user_pool_client(UserPoolId=pool, ClientName="another-app",
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
        from infra.seed import login

        self.other_app = login("ap-southeast-3", other["UserPoolClient"]["ClientId"], "kasubsi.jaksel")

    def path(self, template: str, method: str = "GET") -> str:
        record_id = self.violation_id if "/violations/" in template and method != "PUT" else uuid.uuid4()
        client_id = self.program_client if template.endswith("/programs") else self.client_id
        return template.format(client_id=client_id, record_id=record_id, escalation_id=self.escalation_id,
                               village_code="31.74.09.1001", area_code="31.74.09", photo_id=self.photo_id,
                               token=self.reply_token,
                               transfer_id=self.transfers["decline" if template.endswith("/decline") else "accept"])

    def credentials(self, caller: str) -> dict[str, Any]:
        if caller in USERS:
            return {"user": USERS[caller]}
        if caller == "none":
            return {}
        return {"token": self.expired if caller == "expired" else self.other_app}

    def progress_body(self) -> dict[str, Any]:
        period_end = date.today() - timedelta(days=1)
        return {"stage": stage_on(self.start, self.end, period_end).value, "period_start": self.start.isoformat(),
                "period_end": period_end.isoformat(), "assessment_summary": "Kooperatif.",
                "criminogenic_factors": "Lingkungan pergaulan.", "recommended_program": "Pelatihan kerja.",
                "submitted_at": checkin_body()["occurred_at"]}

    def review_body(self) -> dict[str, Any]:
        session = date.today() - timedelta(days=1)
        return {"stage": "awal", "litmas": {"date": (session - timedelta(days=2)).isoformat(), "summary": "Baik.",
                                            "recommendation": "Lanjutkan."},
                "tpp_session": {"date": session.isoformat(), "decision": "continue"}}


def _client_body(w: World, user: str | None) -> dict[str, Any]:
    return client_body(PK_OF.get(user or "", "pk.andi"))


BODIES = {
    ("POST", "/v1/clients"): _client_body,
    ("PATCH", "/v1/clients/{client_id}"): lambda w, user: {"notes": f"Catatan {uuid.uuid4().hex[:6]}"},
    ("PUT", "/v1/clients/{client_id}/checkins/{record_id}"): lambda w, user: checkin_body(),
    ("PUT", "/v1/clients/{client_id}/visits/{record_id}"): lambda w, user: visit_body(),
    ("PUT", "/v1/clients/{client_id}/progress-reports/{record_id}"): lambda w, user: w.progress_body(),
    ("PUT", "/v1/clients/{client_id}/stage-reviews/{record_id}"): lambda w, user: w.review_body(),
    ("POST", "/v1/clients/{client_id}/transfer"): lambda w, user: {"to_bapas_id": "makassar", "reason": "Pindah."},
    ("POST", "/v1/transfers/{transfer_id}/accept"): lambda w, user: {"officer": "pk.citra"},
    ("POST", "/v1/clients/{client_id}/programs"): lambda w, user: {
        "program": "pembebasan_bersyarat", "sk_number": "PAS-1234.PK.05.06", "sk_date": today_wib().isoformat(),
        "start_date": today_wib().isoformat(), "end_date": (today_wib() + timedelta(days=365)).isoformat()},
    ("PUT", "/v1/clients/{client_id}/violations/{record_id}"): lambda w, user: {
        "reported_at": checkin_body()["occurred_at"], "summary": "Tidak lapor diri tiga kali."},
    ("PATCH", "/v1/clients/{client_id}/violations/{record_id}"): lambda w, user: {
        "bap_date": date.today().isoformat()},
    ("POST", "/v1/transfers/{transfer_id}/decline"): lambda w, user: {"reason": "Di luar wilayah kami."},
    ("POST", "/v1/uploads"): lambda w, user: {"client_id": w.client_id,
                                              "files": [{"content_type": "image/png", "size_bytes": 1000}]},
    ("POST", "/v1/escalations/{escalation_id}/resolve"): lambda w, user: {"resolution": "found_at_home"},
    ("POST", "/r/{token}"): lambda w, user: {"answer": "found", "notes": "Ada di rumah."},
    ("PUT", "/v1/villages/{village_code}/contacts"): lambda w, user: {
        "bhabinkamtibmas": {"name": "Bripka Uji", "phone": "0812-7700-1000"}},
    ("PUT", "/v1/areas/{area_code}/contacts"): lambda w, user: {
        "polsek": {"name": "Ipda Uji", "phone": "0812-5550-1000"}},
    # The PK verifies the client's number, the coordinator the guarantor's (one code a minute per number).
    ("POST", "/v1/clients/{client_id}/phones/verify"): lambda w, user: {
        "number": "0813-1111-2222" if user == "kasubsi.jaksel" else "0812-3456-7890"},
    ("POST", "/v1/clients/{client_id}/phones/confirm"): lambda w, user: {"number": "0812-3456-7890",
                                                                         "code": "000000"},
}


@pytest.fixture(scope="module")
def world():
    from unittest import mock

    with InProcess() as env, mock.patch("chalicelib.api.messages.now_utc", lambda: at_wib(today_wib(), 10)):
        yield World(env)
    reset_caches()


def _documented(path: str, method: str) -> dict[str, Any]:
    return document()["paths"][path][method.lower()]["responses"]


def _check_against_document(path: str, method: str, r: Any) -> None:
    responses = _documented(path, method)
    assert str(r.status) in responses, f"{method} {path}: status {r.status} is not documented: {r}"
    content_type = r.headers.get("content-type", "").split(";")[0]
    assert content_type in responses[str(r.status)].get("content", {}), (method, path, r.status, content_type)
    if ROUTES[(path, method)].policy.html:
        assert content_type == "text/html", r  # a page for people, errors included
        return
    if r.status >= 400:
        ProblemOut.model_validate(r.json)
        return
    for part in response_parts(ROUTES[(path, method)].response):
        if isinstance(part, Text) and part.media_type == content_type:
            return
        if isinstance(part, type) and issubclass(part, BaseModel) and content_type == "application/json":
            part.model_validate(r.json)
            return
    raise AssertionError(f"{method} {path}: no response model for {content_type}")


def test_every_route_has_a_row():
    missing = sorted(set(ROUTES) - {(p, m) for m, p in MATRIX})
    extra = sorted({(p, m) for m, p in MATRIX} - set(ROUTES))
    assert not missing, f"routes without a row in the authorization matrix: {missing}"
    assert not extra, f"rows for routes that do not exist: {extra}"
    for (path, method), doc in ROUTES.items():
        if method != "GET" and doc.request is not None:
            assert (method, path) in BODIES, f"{method} {path} needs a body factory"


@pytest.mark.parametrize("method,path", sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)])
def test_route_answers_each_caller_exactly(world, method, path):
    if (path, method) not in ROUTES:
        pytest.fail(f"{method} {path} is in the matrix but not registered")
    expected = MATRIX[(method, path)]
    assert set(expected) == set(CALLERS)
    doc = ROUTES[(path, method)]
    query = "?bapas_id=jaksel" if any(q.name == "bapas_id" for q in doc.query) else ""
    got = {}
    for caller in CALLERS:  # the one allowed to write comes last, after every refusal changed nothing
        creds = world.credentials(caller)
        headers = {}
        if method == "PATCH":
            current = world.api.get(world.path(path, method), "kasubsi.jaksel").json["version"]
            headers["If-Match"] = str(current)
        body = BODIES[(method, path)](world, creds.get("user")) if (method, path) in BODIES else None
        raw = None
        if doc.policy.html and body is not None:  # an HTML form post
            raw, headers["Content-Type"] = urlencode(body).encode(), "application/x-www-form-urlencoded"
        r = world.api.request(method, world.path(path, method) + query, body=body, headers=headers, raw=raw,
                              **creds)
        got[caller] = r.status
        _check_against_document(path, method, r)
        if r.status == 401:
            assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
    assert got == expected
