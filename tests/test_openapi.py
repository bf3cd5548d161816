"""The OpenAPI document is generated from the code; the committed copy must match it and be valid."""

import pytest
import yaml
from openapi_spec_validator import validate

import app  # noqa: F401  (registers every route)
from chalicelib.http import ROUTES
from chalicelib.openapi import OPENAPI_FILE, build, render_yaml


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


def test_committed_document_matches_the_code():
    assert OPENAPI_FILE.read_text() == render_yaml(), "run `make openapi` and commit docs/openapi.yaml"


def test_document_is_valid_openapi_31():
    validate(yaml.safe_load(OPENAPI_FILE.read_text()))


def test_every_route_is_documented_with_its_roles():
    doc = build()
    for (path, method), route in ROUTES.items():
        op = doc["paths"][path][method.lower()]
        assert op["summary"] and op["responses"]
        if not route.policy.public:
            assert set(op["responses"]) >= {"401", "403"}
            assert all(role in op["description"] for role in route.policy.roles)


def test_served_document(api):
    r = api.get("/v1/openapi.json")
    assert r.status == 200 and r.json["openapi"] == "3.1.0"
    assert "/v1/clients" in r.json["paths"]


def test_every_route_declares_its_response_model():
    """The mobile team generates its client from the document: no route may leave its success body undescribed."""
    from pydantic import BaseModel

    from chalicelib.openapi import response_parts
    from chalicelib.schemas.common import Text

    for (path, method), route in ROUTES.items():
        parts = response_parts(route.response)
        assert parts, f"{method} {path} declares no response (pass response= to route())"
        for part in parts:
            assert isinstance(part, Text) or (isinstance(part, type) and issubclass(part, BaseModel)), (path, part)
        op = build()["paths"][path][method.lower()]
        for status in route.status:
            assert op["responses"][str(status)].get("content"), f"{method} {path} {status} has no content"
