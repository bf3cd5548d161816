"""Problem details (RFC 9457) as exceptions the domain and handlers raise.

Every error the API returns is one of these, rendered as `application/problem+json` with a stable
machine `code`; validation errors list the offending fields in `errors: [{field, message}]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_JSON = "application/problem+json"


@dataclass
class FieldError:
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem(Exception):
    status: int
    code: str
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:pantau:problem:{self.code}",  # a name, not a link to a domain the project does not own
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body


def validation_failed(errors: list[FieldError], detail: str | None = None) -> Problem:
    fields = ", ".join(e.field for e in errors)
    return Problem(422, "validation_failed", "Validation failed", detail or f"Invalid fields: {fields}", errors)


def field_error(field_name: str, message: str) -> Problem:
    return validation_failed([FieldError(field_name, message)])


def bad_request(detail: str, field_name: str | None = None, code: str = "bad_request") -> Problem:
    errors = [FieldError(field_name, detail)] if field_name else []
    return Problem(400, code, "Bad request", detail, errors)


def unauthorized(detail: str = "A valid Cognito ID token is required.") -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="pantau"'})


def forbidden(detail: str = "You may not do this.") -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def not_found(what: str = "Resource") -> Problem:
    return Problem(404, "not_found", "Not found", f"{what} not found.")


def conflict(detail: str) -> Problem:
    return Problem(409, "conflict", "Conflict", detail)


def precondition_required() -> Problem:
    return Problem(
        428, "precondition_required", "Precondition required", "Send If-Match with the record's current version.",
        [FieldError("If-Match", "header is required")],
    )


def precondition_failed(current_version: int) -> Problem:
    return Problem(
        412, "precondition_failed", "Precondition failed",
        f"The record has changed; its current version is {current_version}.",
        [FieldError("If-Match", f"stale version; current is {current_version}")],
    )


def unavailable(detail: str = "A backing service is busy; retry shortly.", retry_after: int = 2) -> Problem:
    return Problem(503, "service_unavailable", "Service unavailable", detail, headers={"Retry-After": str(retry_after)})
