"""Bodies every part of the API shares: problem details, health, the caller, the OpenAPI document, and `Text`
(how a route documents a body that is not JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.schemas.base import Out
from chalicelib.schemas.refs import Text  # noqa: F401  (re-exported: routes and the OpenAPI generator use it)


class FieldErrorOut(Out):
    field: str = Field(description="The offending field: a dotted path with [i] for list items, or a header name")
    message: str


class ProblemOut(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine code, e.g. validation_failed, not_found, forbidden, conflict")
    instance: str | None = None
    errors: list[FieldErrorOut] | None = None


class MeOut(Out):
    username: str
    sub: str
    role: Literal["pk", "coordinator", "admin"]
    bapas_id: str = Field(description="Empty for admin")


class ProfileOut(MeOut):
    name: str = Field(description="The person's name (Cognito `name`; the username when none is recorded)")
    bapas_name: str | None = Field(description="The Bapas's full name; null for admin")
    timezone: str | None = Field(description="The Bapas's time zone (Asia/Jakarta, Asia/Makassar or Asia/Jayapura); "
                                             "null for admin")


class HealthOut(Out):
    status: Literal["ok"]

class OpenApiDocumentOut(BaseModel):
    """An OpenAPI 3.1 document (this one): only its top-level shape is described here."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    openapi: Literal["3.1.0"]
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
