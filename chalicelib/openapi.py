"""The OpenAPI 3.1 document, built from the route registry (`chalicelib.http.ROUTES`) and the pydantic models.

`python -m chalicelib.openapi` writes `docs/openapi.yaml`; a test fails when the committed file differs
from what the code says, so the document cannot drift. The API also serves it at `GET /v1/openapi.json`.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.http import MAX_CURSOR, MAX_QUERY_VALUE, ROUTES, RouteDoc
from chalicelib.schemas.common import ProblemOut, Text

TITLES = {
    200: "OK", 201: "Created", 202: "Accepted", 400: "The body is not valid JSON", 401: "No valid Cognito ID token",
    403: "The caller's role or scope does not allow this (code `mfa_required`: a coordinator or admin "
         "without TOTP MFA)", 404: "Not found (or not the caller's to know about)",
    409: "Conflict: the id exists with different data", 412: "Stale If-Match version",
    413: "Body too large", 415: "Body is not application/json", 422: "Validation failed (see errors[])",
    428: "If-Match is required", 429: "Too many requests: retry after Retry-After seconds",
    503: "A backing service is busy: retry after Retry-After seconds",
}
DESCRIPTION = """Pantau: the backend of the PK mobile app, the scheduled escalation jobs and the coordinators' tools.

This document is generated from the code; the guide with examples and a glossary is `docs/api.md`.
Authorization: `Bearer <Cognito ID token>`; roles from `cognito:groups` (`pk`, `coordinator`, `admin`), the
Bapas from `custom:bapas_id`. Errors are RFC 9457 `application/problem+json`.
"""


_UUID = {"type": "string", "format": "uuid"}
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "client_id": _UUID, "record_id": _UUID, "escalation_id": _UUID,
    "village_code": {"type": "string", "pattern": r"^\d{2}\.?\d{2}\.?\d{2}\.?\d{4}$",
                     "description": "Kemendagri code, with or without dots"},
    "photo_id": {"type": "string", "pattern": r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.(jpg|png|heic|webp)$",
                 "description": "The last segment of a key in a record's stored_photos"},
}


def _query_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Every query value is bounded (`http.query_params`): say so where the route did not."""
    if schema.get("type") != "string" or "enum" in schema or "format" in schema:
        return schema
    return {**schema, "maxLength": MAX_CURSOR if name == "cursor" else MAX_QUERY_VALUE}


HTML_TITLES = {404: "Unknown or malformed link (a page that says so)", 410: "Expired link (a page that says so)",
               413: "Notes too long", 415: "Not a form post", 422: "The form is shown again with what is missing",
               429: "Too many requests from this address or for this link (Retry-After)"}


def _error_codes(doc: RouteDoc) -> list[int]:
    if doc.policy.html:
        return sorted(set(doc.errors) | {404, 503})
    codes = set(doc.errors) | {503}
    if not doc.policy.public:
        codes |= {401, 403}
    if "{" in doc.path or any(q.name == "bapas_id" for q in doc.query):
        codes.add(404)  # an unknown id, or (?bapas_id=) another Bapas: not the caller's to know about
    if doc.request is not None:
        codes |= {400, 413, 415, 422}
    if doc.query:
        codes.add(422)
    return sorted(codes)


def response_parts(response: Any) -> list[Any]:
    """A route's `response=`: a pydantic model, a `Text` (HTML, CSV ...), or a tuple of them."""
    if response is None:
        return []
    return list(response) if isinstance(response, tuple) else [response]


def _content(part: Any, ref: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(part, Text):
        schema: dict[str, Any] = {"type": "string"}
        if part.description:
            schema["description"] = part.description
        return part.media_type, {"schema": schema}
    return "application/json", {"schema": ref[part]}


def _models() -> list[tuple[type[BaseModel], str]]:
    seen: dict[type[BaseModel], str] = {ProblemOut: "serialization"}
    for doc in ROUTES.values():
        if doc.request is not None:
            seen.setdefault(doc.request, "validation")
        for part in response_parts(doc.response):
            if isinstance(part, type) and issubclass(part, BaseModel):
                seen.setdefault(part, "serialization")
    return sorted(seen.items(), key=lambda kv: kv[0].__name__)


def _operation_id(doc: RouteDoc) -> str:
    words = [w for w in re.split(r"[/{}_-]+", doc.path) if w and w != "v1"]
    return doc.method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def build() -> dict[str, Any]:
    refs, defs = models_json_schema(_models(), ref_template="#/components/schemas/{model}")
    ref = {model: schema for (model, _mode), schema in refs.items()}
    paths: dict[str, Any] = {}
    for (path, method), doc in sorted(ROUTES.items()):
        op: dict[str, Any] = {"operationId": _operation_id(doc), "summary": doc.summary, "tags": [doc.tag]}
        roles = "public" if doc.policy.public else ", ".join(doc.policy.roles)
        op["description"] = f"Roles: {roles}." + (f"\n\n{doc.description}" if doc.description else "")
        params = [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMS.get(name, {"type": "string"})}
                  for name in re.findall(r"{(\w+)}", path)]
        params += [{"name": q.name, "in": "query", "required": q.required, "description": q.description,
                    "schema": _query_schema(q.name, q.schema)} for q in doc.query]
        if method == "PATCH":
            params.append({"name": "If-Match", "in": "header", "required": True,
                           "description": "The record's current version", "schema": {"type": "string"}})
        if params:
            op["parameters"] = params
        if doc.request is not None:
            media = "application/x-www-form-urlencoded" if doc.policy.html else "application/json"
            op["requestBody"] = {"required": True, "content": {media: {"schema": ref[doc.request]}}}
        responses: dict[str, Any] = {}
        for status in doc.status:
            response: dict[str, Any] = {"description": TITLES.get(status, "OK")}
            if doc.response is not None:
                response["content"] = dict(_content(part, ref) for part in response_parts(doc.response))
            if doc.headers:
                response["headers"] = {h: {"schema": {"type": "string"}} for h in doc.headers}
            responses[str(status)] = response
        for status in _error_codes(doc):
            if doc.policy.html:  # a page for people says what went wrong in its own words
                response = {"description": HTML_TITLES.get(status) or TITLES[status],
                            "content": {"text/html": {"schema": {"type": "string"}}}}
            else:
                response = {"description": TITLES[status],
                            "content": {"application/problem+json": {"schema": ref[ProblemOut]}}}
            if status == 503:
                response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
            responses[str(status)] = response
        op["responses"] = responses
        # A public route says so (an empty requirement overrides the document's default): fuzzers and client
        # generators otherwise expect it to refuse calls without a token.
        op["security"] = [] if doc.policy.public else [{"cognito": []}]
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pantau API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "API Gateway stage or chalice local"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                            "description": "Cognito user pool ID token"}},
        },
        "security": [{"cognito": []}],
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return build()


def render_yaml() -> str:
    import yaml  # dev dependency: only the generator writes YAML

    class NoAliases(yaml.SafeDumper):
        """Write shared schema objects out in full: no `&id001` anchors for client generators to trip on."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(build(), Dumper=NoAliases, sort_keys=False, allow_unicode=True, width=120)


OPENAPI_FILE = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def main() -> None:
    import app  # noqa: F401  (registers every route)

    OPENAPI_FILE.write_text(render_yaml())
    sys.stdout.write(f"wrote {OPENAPI_FILE}\n")


if __name__ == "__main__":
    main()
