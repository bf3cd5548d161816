"""Identity: every route but health needs a Cognito ID token verified against the pool's JWKS."""

import json
import time

import boto3
import pytest

from tests.support import assert_problem
from tests.tokens import signed_token, tamper


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


def test_health_is_public(api):
    r = api.get("/v1/health")
    assert r.status == 200 and r.json == {"status": "ok"}


def test_me_returns_the_verified_identity(api):
    r = api.get("/v1/me", "kasubsi.jaksel")
    assert r.status == 200, r
    assert r.json["username"] == "kasubsi.jaksel"
    assert r.json["role"] == "coordinator"
    assert r.json["bapas_id"] == "jaksel"
    assert len(r.json["sub"]) == 36


def test_admin_has_no_bapas(api):
    r = api.get("/v1/me", "admin.pusat")
    assert r.status == 200 and r.json["role"] == "admin" and r.json["bapas_id"] == ""


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt"])
def test_missing_or_malformed_token_is_401(api, header):
    headers = {} if header is None else {"Authorization": header}
    r = api.get("/v1/me", headers=headers)
    body = assert_problem(r, 401, code="unauthorized")
    assert "traceback" not in r.body.decode().lower()
    assert body["detail"]


def test_tampered_token_is_401(api):
    assert_problem(api.get("/v1/me", token=tamper(api.token("pk.andi"))), 401)


def test_expired_token_is_401(api):
    pool, client = api.resources.user_pool_id, api.resources.user_pool_client_id
    expired = signed_token(pool, client, exp=int(time.time()) - 120, iat=int(time.time()) - 4000)
    body = assert_problem(api.get("/v1/me", token=expired), 401)
    assert "expired" in body["detail"]
    # The same token shape, unexpired, is accepted: the 401 above is about expiry alone.
    assert api.get("/v1/me", token=signed_token(pool, client)).status == 200


def test_token_for_another_app_client_is_401(api):
    idp = boto3.client("cognito-idp", region_name="ap-southeast-3")
    other = idp.create_user_pool_client(UserPoolId=api.resources.user_pool_id, ClientName="other-app",
                                        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    from infra.seed import login

    token = login("ap-southeast-3", other, "pk.andi")
    assert_problem(api.get("/v1/me", token=token), 401)


def test_token_from_another_pool_is_401(api):
    token = signed_token("ap-southeast-3_someotherpool", api.resources.user_pool_client_id)
    assert_problem(api.get("/v1/me", token=token), 401)


def test_access_token_is_not_an_id_token(api):
    pool, client = api.resources.user_pool_id, api.resources.user_pool_client_id
    assert_problem(api.get("/v1/me", token=signed_token(pool, client, token_use="access")), 401)


def test_user_without_role_group_is_401(api):
    pool, client = api.resources.user_pool_id, api.resources.user_pool_client_id
    assert_problem(api.get("/v1/me", token=signed_token(pool, client, groups=())), 401)


def test_unsigned_alg_none_is_401(api):
    import jwt

    token = jwt.encode({"sub": "x", "token_use": "id"}, key=None, algorithm="none")
    assert_problem(api.get("/v1/me", token=token), 401)


def test_role_is_enforced_by_the_gate(api):
    body = assert_problem(api.post("/v1/clients", "pk.andi", {}), 403, code="forbidden")
    assert "pk" in body["detail"]
    assert_problem(api.post("/v1/clients", "admin.pusat", {}), 403)


def test_every_response_carries_its_correlation_id(api, caplog):
    import logging

    caplog.set_level(logging.INFO)
    r = api.get("/v1/me", "pk.andi", headers={"X-Request-Id": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    logged = [rec for rec in caplog.records if getattr(rec, "route", None) == "/v1/me"]
    from chalicelib.obs import logger

    line = json.loads(logger.registered_formatter.format(logged[-1]))  # the JSON line as Powertools writes it
    assert line["correlation_id"] == "req-123" and line["route"] == "/v1/me"
    fresh = api.get("/v1/health")
    assert len(fresh.headers["x-request-id"]) == 36
