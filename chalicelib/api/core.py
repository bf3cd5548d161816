"""Health and identity."""

from chalice import Blueprint

from chalicelib.http import json_response, principal, route
from chalicelib.schemas.refs import models

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
HealthOut, MeOut, OpenApiDocumentOut = models("common", "HealthOut", "MeOut", "OpenApiDocumentOut")

bp = Blueprint(__name__)


@route(bp, "/v1/health", public=True, response=HealthOut)
def health():
    """Liveness: no token needed."""
    return json_response({"status": "ok"})


@route(bp, "/v1/me", response=MeOut)
def me():
    """Who the token says the caller is."""
    return json_response(principal().to_api())


@route(bp, "/v1/openapi.json", public=True, response=OpenApiDocumentOut)
def openapi():
    """This API's OpenAPI 3.1 document."""
    from chalicelib.openapi import document

    return json_response(document())
