from tests.support import client_body


def test_me_and_register(api):
    r = api.get("/v1/me", "pk.andi")
    assert r.status == 200, r
    assert r.json["role"] == "pk" and r.json["bapas_id"] == "jaksel"
    r = api.post("/v1/clients", "kasubsi.jaksel", client_body())
    assert r.status == 201, r


def test_again(api):
    assert api.get("/v1/me", "pk.budi").status == 200
