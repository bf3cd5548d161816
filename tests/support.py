"""Helpers shared by the tests: an in-process app under moto, an HTTP stack wrapper, tokens."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import boto3
import requests
from moto import mock_aws

REGION = "ap-southeast-3"


def reset_caches() -> None:
    from chalicelib import config
    from chalicelib.adapters import aws
    from chalicelib.adapters.directory import DIRECTORY
    from chalicelib.auth import JWKS
    from chalicelib.services import common

    # PynamoDB keeps a botocore client per model, bound to the endpoint it was made for: make new ones only
    # when the endpoint changes (moto in-process intercepts any client, so they are reused across tests).
    common.reset_connections(only_if_endpoint_changed=True)
    config.reset()
    aws.reset()
    JWKS.clear()
    DIRECTORY.clear()
    common.BAPAS.clear()


class Response:
    """One shape for chalice.test and requests responses."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.body[:300]!r}>"


class Caller:
    """Shared request helpers: `get`, `post`, `put`, `patch` with a user's token."""

    tokens: dict[str, str]

    def token(self, username: str) -> str:
        if username not in self.tokens:
            from infra.seed import login

            self.tokens[username] = login(REGION, self.client_id, username)
        return self.tokens[username]

    def request(self, method: str, path: str, user: str | None = None, body: Any = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None, token: str | None = None) -> Response:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        elif user is not None:
            h["Authorization"] = f"Bearer {self.token(user)}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self._send(method, path, h, data)

    def get(self, path: str, user: str | None = None, **kw: Any) -> Response:
        return self.request("GET", path, user, **kw)

    def post(self, path: str, user: str | None = None, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, user, body, **kw)

    def put(self, path: str, user: str | None = None, body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, user, body, **kw)

    def patch(self, path: str, user: str | None = None, body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, user, body, **kw)

    def _send(self, method: str, path: str, headers: dict[str, str], data: bytes) -> Response:
        raise NotImplementedError


class InProcess(Caller):
    """The app in-process (chalice.test.Client) against moto in-process, bootstrapped and seeded."""

    def __enter__(self) -> InProcess:
        # An HTTP stack may be running in this session: in-process tests must not talk to its moto server.
        self._saved_endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
        reset_caches()
        self._mock = mock_aws()
        self._mock.start()
        from infra import bootstrap, seed

        self.resources = bootstrap.bootstrap(REGION)
        self._saved_env = {k: os.environ.get(k) for k in self.resources.env()}
        os.environ.update(self.resources.env())
        reset_caches()
        seed.create_bapas()
        seed.create_users(REGION, self.resources.user_pool_id)
        self.client_id = self.resources.user_pool_client_id
        self.tokens = {}
        from chalice.test import Client

        import app as application

        self.app = application.app
        self._client = Client(application.app)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._client.__exit__(None, None, None) if hasattr(self._client, "__exit__") else None
        self._mock.stop()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if self._saved_endpoint is not None:
            os.environ["AWS_ENDPOINT_URL"] = self._saved_endpoint
        reset_caches()

    def _send(self, method: str, path: str, headers: dict[str, str], data: bytes) -> Response:
        r = self._client.http.request(method, path, headers=headers, body=data)
        return Response(r.status_code, dict(r.headers), r.body)


class HttpStack(Caller):
    def __init__(self, stack: Any):
        self.stack = stack
        self.api_url = stack.api_url
        self.client_id = stack.resources.user_pool_client_id
        self.resources = stack.resources
        self.tokens = {}
        self.session = requests.Session()

    def _send(self, method: str, path: str, headers: dict[str, str], data: bytes) -> Response:
        r = self.session.request(method, self.api_url + path, headers=headers, data=data, timeout=30)
        return Response(r.status_code, dict(r.headers), r.content)

    def boto(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.stack.endpoint)


def client_body(officer: str = "pk.andi", **overrides: Any) -> dict[str, Any]:
    start = date.today() - timedelta(days=10)
    body = {
        "name": "Klien Uji",
        "program": "asimilasi",
        "supervision_start": start.isoformat(),
        "supervision_end": (start + timedelta(days=180)).isoformat(),
        "officer": officer,
        "phones": [{"number": "0812-3456-7890", "owner": "client"}],
        "address": {"text": "Jl. Kenanga No. 5", "village_code": "3174091001",
                    "location": {"lat": -6.3356, "lon": 106.82}},
        "offence": "Pasal 362 KUHP",
    }
    body.update(overrides)
    return body


def assert_problem(r: Response, status: int, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/problem+json"), r.headers
    body = r.json
    for key in ("status", "title", "detail", "code"):
        assert key in body, body
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    if field:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body
