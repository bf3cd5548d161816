"""The real local stack over HTTP: moto server + `chalice local`, Cognito login, seeded data."""

import time

import requests

from tests.support import assert_problem, client_body
from tests.tokens import signed_token, tamper


def test_cognito_login_token_is_accepted_over_http(stack):
    r = stack.get("/v1/me", "pk.andi")
    assert r.status == 200, r
    assert r.json["username"] == "pk.andi" and r.json["role"] == "pk" and r.json["bapas_id"] == "jaksel"


def test_bad_tokens_are_401_over_http(stack):
    assert_problem(stack.get("/v1/me"), 401)
    assert_problem(stack.get("/v1/me", token=tamper(stack.token("pk.andi"))), 401)
    expired = signed_token(stack.resources.user_pool_id, stack.resources.user_pool_client_id,
                           exp=int(time.time()) - 60, iat=int(time.time()) - 4000)
    assert_problem(stack.get("/v1/me", token=expired), 401)


def test_seeded_demo_data(stack):
    seeded = stack.stack.seeded
    assert len(seeded["jaksel"]) == 6 and len(seeded["makassar"]) == 6
    coordinator = stack.get("/v1/clients?limit=200", "kasubsi.jaksel").json["items"]
    # other tests share this stack and may have registered more clients in the same Bapas
    assert set(seeded["jaksel"]) <= {c["id"] for c in coordinator}
    assert not set(seeded["makassar"]) & {c["id"] for c in coordinator}
    assert all(c["bapas_id"] == "jaksel" for c in coordinator)
    mine = stack.get("/v1/clients", "pk.andi").json["items"]
    assert mine and all(c["officer"] == "pk.andi" for c in mine)
    assert stack.get(f"/v1/clients/{seeded['makassar'][0]}", "kasubsi.jaksel").status == 404
    contacts = stack.get("/v1/villages/31.74.09.1001/contacts", "pk.andi")
    assert contacts.status == 200 and contacts.json["bhabinkamtibmas"]["phone"].startswith("+62")


def test_register_and_change_a_client_over_http(stack):
    r = stack.post("/v1/clients", "kasubsi.jaksel", client_body(officer="pk.budi"))
    assert r.status == 201, r
    cid = r.json["id"]
    bad = client_body(phones=[{"number": "123", "owner": "client"}])
    assert_problem(stack.post("/v1/clients", "kasubsi.jaksel", bad), 422, field="phones[0].number")
    r = stack.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "Pindah kerja"}, headers={"If-Match": '"1"'})
    assert r.status == 200 and r.json["version"] == 2
    assert_problem(stack.patch(f"/v1/clients/{cid}", "kasubsi.jaksel", {"notes": "x"}, headers={"If-Match": '"1"'}),
                   412)


def test_stack_json_describes_the_stack(stack):
    data = stack.stack.stack_json()
    for key in ("api_url", "aws_endpoint_url", "region", "user_pool_id", "user_pool_client_id", "bucket", "users"):
        assert data[key]
    assert {u["role"] for u in data["users"]} == {"pk", "coordinator", "admin"}
    assert requests.get(data["aws_endpoint_url"] + "/moto-api/", timeout=5).status_code == 200
    assert data["api_url"].startswith("http://127.0.0.1:") and data["aws_endpoint_url"].startswith("http://127.0.0.1:")
