"""Health and identity."""

from chalice import Blueprint

from chalicelib.http import json_response, principal, route
from chalicelib.schemas.refs import models

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
HealthOut, MeOut, OpenApiDocumentOut, ProfileOut = models("common", "HealthOut", "MeOut", "OpenApiDocumentOut",
                                                     "ProfileOut")

bp = Blueprint(__name__)


@route(bp, "/v1/health", public=True, response=HealthOut)
def health():
    """Liveness: no token needed."""
    return json_response({"status": "ok"})


@route(bp, "/v1/me", response=MeOut)
def me():
    """Who the token says the caller is (from the token alone: no other request)."""
    return json_response(principal().to_api())


@route(bp, "/v1/me/profile", response=ProfileOut)
def profile():
    """The caller with their name and their Bapas's name and time zone (for the dashboard's header and times).

    One Cognito AdminGetUser (cached per process) and one GetItem of the Bapas (cached); `/v1/me` stays free of
    both for the app's cold start.
    """
    from chalicelib.services import names  # the directory (Cognito) only for this route, not at cold import

    return json_response(names.me(principal()))


@route(bp, "/v1/openapi.json", public=True, response=OpenApiDocumentOut)
def openapi():
    """This API's OpenAPI 3.1 document."""
    from chalicelib.openapi import document

    return json_response(document())
