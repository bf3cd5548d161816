"""The HTTP edge: one route registry with each route's allowed roles, one gate every request passes
(authentication, role check, correlation id, access log, metrics), JSON/problem responses, body
parsing with field-level errors, and the documentation of query parameters (paging itself is
`chalicelib/paging.py`).

Handlers stay thin: parse input with `body_model`, call a service, return `json_response`.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Blueprint, Response
from pynamodb.exceptions import PynamoDBException

from chalicelib.adapters.aws_errors import TRANSIENT_AWS_CODES, transient_cancellation
from chalicelib.auth import ROLES, Principal, bearer_token, verify_id_token
from chalicelib.config import settings
from chalicelib.context import bind_request_id
from chalicelib.errors import PROBLEM_JSON, FieldError, Problem, bad_request, forbidden, unavailable, validation_failed
from chalicelib.obs import logger, metrics, tracer, tracing_enabled
from chalicelib.paging import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.schemas.refs import resolve
from chalicelib.services.results import Saved, Written

if TYPE_CHECKING:  # pydantic is imported with the first schema used (chalicelib/schemas/refs.py), not here
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")

@dataclass(frozen=True)
class RoutePolicy:
    roles: tuple[str, ...]
    public: bool = False
    writes: bool = False
    html: bool = False  # a page for people (the reply page): takes HTML forms, answers HTML, errors included


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says of a route (see chalicelib/openapi.py)."""

    path: str
    method: str
    summary: str
    policy: RoutePolicy
    request_ref: Any  # a pydantic model or its `LazyModel` (chalicelib/schemas/refs.py), or None for no body
    response_ref: Any  # the same, a `Text`, a tuple of them, or None
    status: tuple[int, ...]
    query: tuple[QueryParam, ...]
    errors: tuple[int, ...]
    tag: str
    headers: tuple[str, ...] = ()
    description: str = ""  # the docstring after its first line

    @property
    def request(self) -> type[BaseModel] | None:
        return resolve(self.request_ref)

    @property
    def response(self) -> Any:
        return resolve(self.response_ref)


# (resource path, method) -> policy. A route missing here is refused by the gate.
POLICY: dict[tuple[str, str], RoutePolicy] = {}
ROUTES: dict[tuple[str, str], RouteDoc] = {}
_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)
JSON_TYPES = ["application/json", "application/merge-patch+json", "text/plain", "application/octet-stream",
              "application/x-www-form-urlencoded", "multipart/form-data"]


def route(bp: Blueprint, path: str, methods: Iterable[str] = ("GET",), roles: Iterable[str] = ROLES,
          public: bool = False, *, request: Any = None, response: Any = None,
          status: Iterable[int] = (200,), query: Iterable[QueryParam] = (), errors: Iterable[int] = (),
          tag: str = "", headers: Iterable[str] = (), html: bool = False) -> Callable[[Callable[..., Any]],
                                                                                 Callable[..., Any]]:
    """Register a view, its access policy and its documentation in one place.

    `html=True` marks a page for people (public by nature): its POST body is an HTML form
    (`application/x-www-form-urlencoded`, `request` documents its fields) and every answer, errors included, is
    an HTML page the view renders itself (the gate neither checks the body's type nor turns errors into JSON).
    """
    methods = tuple(methods)
    roles = tuple(roles)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        summary = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().splitlines()[0]
        description = inspect.cleandoc(fn.__doc__ or "").partition("\n")[2].strip()
        for method in methods:
            policy = RoutePolicy(roles=roles, public=public, writes=method != "GET", html=html)
            POLICY[(path, method)] = policy
            ROUTES[(path, method)] = RouteDoc(path, method, summary, policy, request, response, tuple(status),
                                              tuple(query), tuple(errors), tag or path.split("/")[2],
                                              tuple(headers), description)

        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            try:
                return fn(**kwargs)
            except Problem as problem:
                return problem_response(problem)
            except ClientError as exc:
                return problem_response(_aws_problem(exc.response.get("Error", {}).get("Code", ""), exc))
            except PynamoDBException as exc:
                return problem_response(_aws_problem(exc.cause_response_code or "", exc))
            except BotoCoreError as exc:  # connection errors, timeouts
                logger.warning("aws connection error", extra={"error": type(exc).__name__})
                return problem_response(unavailable())

        # Every content type reaches the view, which answers 415 itself as problem+json.
        bp.route(path, methods=list(methods), content_types=JSON_TYPES)(view)
        return view

    return decorator


def _aws_problem(code: str, exc: Exception) -> Problem:
    busy = transient_cancellation(exc) if code == "TransactionCanceledException" else None
    if busy:  # a busy table, not a refused condition
        logger.warning("aws transient error", extra={"aws_code": busy})
        return unavailable()
    if code in TRANSIENT_AWS_CODES:
        logger.warning("aws transient error", extra={"aws_code": code})
        return unavailable()
    raise exc


def principal() -> Principal:
    p = _principal.get()
    if p is None:  # only reachable if a public route asks for a caller
        raise forbidden("This route has no caller.")
    return p


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    headers = {"Content-Type": PROBLEM_JSON, **problem.headers}
    return Response(body=json.dumps(problem.body(instance), ensure_ascii=False), status_code=problem.status,
                    headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


# How a write's result is answered: 201 for what was stored now, 200 for a replay or a change.
STATUS_OF_WRITE = {Written.CREATED: 201, Written.REPLAYED: 200, Written.UPDATED: 200}


def saved_response(saved: Saved, headers: dict[str, str] | None = None) -> Response:
    return json_response(saved.body, STATUS_OF_WRITE[saved.written], headers)


def gate(app: Any) -> Callable[[Any, Callable[[Any], Response]], Response]:
    """The HTTP middleware: every request passes here before any handler runs."""

    def middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
        started = time.perf_counter()
        if tracing_enabled():
            tracer()  # built on the first request, not at import (chalicelib/obs.py)
        context = event.context or {}
        # API Gateway's request id; locally (chalice local) a client-sent X-Request-Id or a fresh one.
        request_id = context.get("requestId") or (event.headers.get("x-request-id") or "")[:64] or str(uuid.uuid4())
        logger.set_correlation_id(request_id)
        resource = context.get("resourcePath", "")
        method = event.method
        policy = POLICY.get((resource, method))
        with bind_request_id(request_id):
            token = None
            try:
                try:
                    if policy is None:
                        raise _no_route(resource, method)
                    if not policy.public:
                        p = verify_id_token(bearer_token(event.headers))
                        token = _principal.set(p)
                        if p.role not in policy.roles:
                            raise forbidden(f"The role {p.role} may not call {method} {resource}.")
                        _check_mfa(p)
                    if policy.writes and not policy.html:  # a page checks its own form (and answers in HTML)
                        _check_body_size(event)
                    response = get_response(event)
                except Problem as problem:
                    response = problem_response(problem, event.path)
                response = _as_problem(response, event.path)
                response.headers["X-Request-Id"] = request_id
                # Answers carry personal data: no browser or proxy keeps a copy (a page sets its own policy).
                response.headers.setdefault("Cache-Control", "no-store")
                _log_request(method, resource, response.status_code, started)
            finally:
                if token is not None:
                    _principal.reset(token)
        return response

    return middleware


def _check_mfa(p: Principal) -> None:
    from chalicelib.access import check_mfa

    try:
        check_mfa(p)
    except ClientError as exc:  # Cognito busy: the caller may retry; anything else is a real error
        raise _aws_problem(exc.response.get("Error", {}).get("Code", ""), exc) from exc
    except BotoCoreError as exc:
        raise unavailable() from exc


def _no_route(resource: str, method: str) -> Problem:
    if not resource:
        return Problem(404, "not_found", "Not found", "No such route.")
    return Problem(405, "method_not_allowed", "Method not allowed", f"{method} is not supported here.")


def _check_body_size(event: Any) -> None:
    raw = event.raw_body or b""
    if len(raw) > settings().max_body_bytes:
        raise Problem(413, "payload_too_large", "Payload too large",
                      f"The body is {len(raw)} bytes; the limit is {settings().max_body_bytes}.",
                      [FieldError("body", f"at most {settings().max_body_bytes} bytes")])
    content_type = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if raw and content_type not in ("application/json", "application/merge-patch+json"):
        raise Problem(415, "unsupported_media_type", "Unsupported media type",
                      "Send the body as application/json.", [FieldError("Content-Type", "must be application/json")])


def _as_problem(response: Response, instance: str) -> Response:
    """Turn Chalice's own error bodies (405, 415, 400 on bad JSON ...) into problem+json."""
    if response.status_code < 400:
        return response
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    if headers.get("content-type", "").startswith((PROBLEM_JSON, "text/html")):
        return response  # a problem already, or a page for people (the reply page's 404/410/429)
    code = "internal_error" if response.status_code >= 500 else "bad_request"
    message = "An internal error occurred." if response.status_code >= 500 else "The request was not accepted."
    if isinstance(response.body, dict) and response.status_code < 500:
        message = str(response.body.get("Message", message))
    problem = Problem(response.status_code, code, "Error", message)
    return problem_response(problem, instance)


def _log_request(method: str, resource: str, status: int, started: float) -> None:
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    p = _principal.get()
    logger.info("request", extra={"method": method, "route": resource, "status": status, "duration_ms": elapsed_ms,
                                  "role": p.role if p else None, "sub": p.sub if p else None})
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.flush_metrics()


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        name = _loc(loc)
        errors.append(FieldError(f"{prefix}{name}" if prefix else name, err["msg"]))
    return errors


def body_json(request: Any) -> Any:
    raw = request.raw_body or b""
    if not raw.strip():
        raise validation_failed([FieldError("body", "a JSON body is required")])
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request(f"The body is not valid JSON: {exc}", "body", code="invalid_json") from exc


def body_model(request: Any, model: type[M]) -> M:
    """Validate the raw body in pydantic's JSON mode (strict dates, no coercion of numbers to text). `model` may
    be a `LazyModel`: the schema (and pydantic) is imported here, on first use."""
    data = body_json(request)
    if not isinstance(data, dict):
        raise validation_failed([FieldError("body", "must be a JSON object")])
    model = resolve(model)
    from pydantic import ValidationError

    try:
        return model.model_validate_json(request.raw_body)
    except ValidationError as exc:
        raise validation_failed(pydantic_errors(exc)) from exc


MAX_QUERY_VALUE = 256  # ids, usernames, codes, dates; DynamoDB refuses keys over 2048 bytes (a 500, not a 422)
MAX_CURSOR = 2048


def query_params(request: Any) -> dict[str, str]:
    """The query string, every value bounded, and each parameter the route declares (`route(query=...)`)
    checked against its schema there: enums, integer ranges, dates. Services get values already valid."""
    params = dict(request.query_params or {})
    errors = [FieldError(name, f"must be at most {MAX_CURSOR if name == 'cursor' else MAX_QUERY_VALUE} characters")
              for name, value in sorted(params.items())
              if len(value) > (MAX_CURSOR if name == "cursor" else MAX_QUERY_VALUE)]
    if errors:
        raise validation_failed(errors)
    doc = ROUTES.get(((request.context or {}).get("resourcePath", ""), request.method))
    errors = [e for q in (doc.query if doc else ()) if (e := _query_error(q, params.get(q.name))) is not None]
    if errors:
        raise validation_failed(errors)
    return params


def _query_error(q: QueryParam, raw: str | None) -> FieldError | None:
    schema = q.schema
    if raw is None:
        return None
    if schema.get("type") == "integer":
        low, high = schema["minimum"], schema["maximum"]
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:  # str.isdigit() accepts '¹'
            return FieldError(q.name, f"must be an integer from {low} to {high}")
        return None
    if not raw and schema.get("format") != "date":  # `?state=`: no value, as if not sent (an empty date is no date)
        return None
    if "enum" in schema and raw not in schema["enum"]:
        return FieldError(q.name, f"must be one of {', '.join(schema['enum'])}")
    if schema.get("format") == "date" and not _is_date(raw):
        return FieldError(q.name, "must be a date, YYYY-MM-DD")
    return None


def _is_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return len(raw) == 10


# Query parameters several lists share (`query_params` checks them, `page_params` reads limit and cursor).
PAGING = (QueryParam("limit", f"Page size (default {DEFAULT_LIMIT})",
                     {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
          QueryParam("cursor", "next_cursor of the previous page", {"type": "string"}))
ADMIN_BAPAS = QueryParam("bapas_id", "admin only (required for admin): the Bapas to read", {"type": "string"})
OFFICER = QueryParam("officer", "PK username (a PK may give only their own)", {"type": "string"})


def if_match_version(request: Any) -> int:
    from chalicelib.errors import precondition_required

    raw = request.headers.get("if-match")
    if raw is None:
        raise precondition_required()
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not (value.isascii() and value.isdigit()):  # str.isdigit() is True for '¹', which int() refuses
        raise validation_failed([FieldError("If-Match", "must be the record's integer version")])
    return int(value)
