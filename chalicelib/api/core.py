"""Health and identity."""

from chalice import Blueprint

from chalicelib.http import json_response, principal, route

bp = Blueprint(__name__)


@route(bp, "/v1/health", public=True)
def health():
    return json_response({"status": "ok"})


@route(bp, "/v1/me")
def me():
    return json_response(principal().to_api())
