"""Response bodies, for the OpenAPI document (and for tests that check responses against it).

These describe what the services return; they are not used to build responses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.clients import Program, Stage
from chalicelib.domain.compliance import State


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class HealthOut(Out):
    status: Literal["ok"]


class PhoneOut(Out):
    number: str = Field(description="E.164, +62…", pattern=r"^\+62\d{6,13}$")
    owner: Literal["client", "guarantor"]
    name: str | None = None
    status: Literal["active", "inactive"] = Field(
        description="inactive: a `number_inactive` check-in, or the SMS provider reported an SMS to it undeliverable "
                    "(never sent reminders; a new confirmation makes it active again)")
    verified_at: str | None = Field(description="RFC 3339: when its holder confirmed a code sent to it by SMS "
                                                "(POST /v1/clients/{id}/phones/confirm); cleared when it goes inactive")
    inactive_since: str | None = Field(description="RFC 3339: since when it is inactive; null when active")


class LocationOut(Out):
    lat: float
    lon: float


class AddressOut(Out):
    text: str
    village_code: str = Field(description="Dotted Kemendagri code", pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    village_name: str
    location: LocationOut | None = None


class ComplianceOut(Out):
    state: State
    consecutive_missed: int
    last_contact_at: str | None = Field(description="RFC 3339")
    next_due: str | None = Field(description="YYYY-MM-DD in the Bapas time zone")


class ProgressStatusOut(Out):
    overdue: int = Field(description="Due progress reports not written (see domain/progress.py)")
    next_due: str | None = Field(description="YYYY-MM-DD: the next report's due date (the last date of its period, or "
                                 "the next working day when that is a weekend or a holiday); null when none is left")
    next_period_start: str | None = Field(description="YYYY-MM-DD: the first date the next report covers")
    next_period_end: str | None = Field(description="YYYY-MM-DD: the last date the next report covers (periods are "
                                        "whole months within each stage)")
    next_stage: Stage | None


class StageReviewStatusOut(Out):
    overdue: int = Field(description="Stages whose review is past due and not recorded (domain/reviews.py)")
    overdue_stages: list[Literal["awal", "lanjutan", "akhir"]]
    next_due: str | None = Field(description="YYYY-MM-DD: when the next stage's review is due (the stage's end, "
                                             "or the next working day); null when none is left")
    next_stage: Literal["awal", "lanjutan", "akhir"] | None
    done: list[Literal["awal", "lanjutan", "akhir"]] = Field(description="Stages with a recorded review")


class ClientOut(Out):
    id: str
    bapas_id: str
    name: str
    program: Program
    supervision_start: str
    supervision_end: str
    checkin_interval_days: int
    stage: Stage
    officer: str
    phones: list[PhoneOut]
    address: AddressOut
    offence: str | None
    notes: str | None
    compliance: ComplianceOut
    progress_reports: ProgressStatusOut
    stage_reviews: StageReviewStatusOut
    open_escalation_id: str | None = Field(description="The open escalation of the client's unreachable episode")
    version: int
    created_at: str
    updated_at: str


class ClientList(Out):
    items: list[ClientOut]
    next_cursor: str | None


class ContactOut(Out):
    name: str
    phone: str
    polsek: str | None = None


class VillageContactsOut(Out):
    bapas_id: str
    village_code: str
    village_name: str
    bhabinkamtibmas: ContactOut
    village_office: ContactOut | None
    version: int
    updated_at: str
    updated_by: str


class Text(BaseModel):
    """A response body that is not JSON (HTML, CSV): its media type, documented as a string.

    A route's `response=` is a pydantic model, a `Text`, or a tuple of them (one per media type it can answer).
    """

    model_config = ConfigDict(frozen=True)
    media_type: str
    description: str = ""


class OpenApiDocumentOut(BaseModel):
    """An OpenAPI 3.1 document (this one): only its top-level shape is described here."""

    model_config = ConfigDict(extra="allow")
    openapi: Literal["3.1.0"]
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


class PhotoUrlOut(Out):
    key: str = Field(description="The photo's stored key (photos/<bapas_id>/<client_id>/<photo_id>)")
    url: str = Field(description="A presigned S3 GET URL: fetch it without the Authorization header")
    expires_at: str = Field(description="RFC 3339: the URL stops working then (at most 5 minutes after issue)")
    expires_in: int = Field(description="Seconds the URL is valid (at most 300)", ge=1, le=300)
