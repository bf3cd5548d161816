"""Clients (klien): the registration and PATCH bodies and the client as the API returns it."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from chalicelib.domain.clients import Program, Stage
from chalicelib.domain.compliance import State
from chalicelib.domain.villages import UnknownVillage, normalize_village_code
from chalicelib.schemas.base import Day, LongText, Name, Out, PhoneNumber, ShortText, Strict, Username

# ----- requests --------------------------------------------------------------------------------------------


class Phone(Strict):
    number: PhoneNumber
    owner: Literal["client", "guarantor"]
    name: Name | None = None


class Location(Strict):
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]

    @field_validator("lat", "lon")
    @classmethod
    def _storable(cls, value: float) -> float:
        # 1e-7 degree is about 1 cm; and DynamoDB refuses numbers closer to zero than 1e-130 (4e-209 was a 500).
        return round(value, 7) + 0.0


class Address(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    village_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    location: Location | None = None

    @field_validator("village_code")
    @classmethod
    def _village(cls, value: str) -> str:
        try:
            return normalize_village_code(value)
        except UnknownVillage as exc:
            raise ValueError(str(exc)) from None


Phones = Annotated[list[Phone], Field(min_length=1, max_length=10)]
Interval = Annotated[int, Field(strict=True, ge=1, le=90)]
# A decree number as written on the SK, e.g. "PAS-1234.PK.05.06 Tahun 2027": printable text, no line breaks.
SkNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                            pattern=r"^[^\x00-\x1f\x7f]+$")]


class ClientCreate(Strict):
    id: UUID | None = None
    name: Name
    program: Program
    supervision_start: Day
    supervision_end: Day
    officer: Username
    phones: Phones
    address: Address
    offence: ShortText | None = None
    notes: LongText | None = None
    checkin_interval_days: Interval | None = None
    tracking_from: Day | None = Field(default=None, description=(
        "The first date whose check-in windows can be missed (default: the local date of registration, clamped into "
        "the supervision period). A window that opens before it can be met by a contact but is never missed."))
    sk_number: SkNumber | None = Field(default=None, description="The number of the decree (SK) that granted the "
                                                                 "program")
    sk_date: Day | None = Field(default=None, description="The decree's date")


class ProgramChange(Strict):
    """A new supervision period under its own decree (SK): e.g. asimilasi followed by pembebasan bersyarat."""

    program: Program
    sk_number: SkNumber = Field(description="The new decree's number; one decree, one period")
    sk_date: Day = Field(description="The decree's date; not in the future")
    start_date: Day = Field(description=(
        "The new period's first day: after the current period's first day, not in the future, and at the latest "
        "the day after the current period's end (periods follow each other without a gap)"))
    end_date: Day = Field(description="The new period's last day (the new supervision_end); after start_date")
    checkin_interval_days: Interval | None = Field(default=None, description=(
        "Default: the program's (7 for asimilasi, 30 for the integration programs)"))
    note: LongText | None = Field(default=None, description="Why, as the coordinator wants it on the record")


class ClientPatch(Strict):
    name: Name | None = None
    program: Program | None = None
    supervision_start: Day | None = None
    supervision_end: Day | None = None
    officer: Username | None = None
    phones: Phones | None = None
    address: Address | None = None
    offence: ShortText | None = None
    notes: LongText | None = None
    checkin_interval_days: Interval | None = None
    tracking_from: Day | None = Field(default=None, description="Any date of the supervision period")
    effective_from: Day | None = Field(default=None, description=(
        "With `program` or `checkin_interval_days`: the date the new cadence starts (default: the local date of "
        "the change); not before the current window's first day (windows already closed keep their cadence and "
        "outcome), not after supervision_end"))
    reminders_enabled: Annotated[bool, Field(strict=True, description="false: no SMS reminder before a window "
                                                                      "closes (send_reminders)")] | None = None
    sk_number: SkNumber | None = Field(default=None, description=(
        "Corrects the current period's decree number (null: none recorded); a new decree is a new period: "
        "POST /v1/clients/{client_id}/programs"))
    sk_date: Day | None = Field(default=None, description="Corrects the current period's decree date")


# ----- responses -------------------------------------------------------------------------------------------

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
    reason: Literal["three_missed", "number_inactive"] | None = Field(description=(
        "Why the client is unreachable (null unless state is unreachable): three consecutive missed windows, or a "
        "number_inactive outcome with no counted contact since"))
    escalation_due_at: str | None = Field(description=(
        "RFC 3339: when the unreachable episode is escalated, its start plus the Bapas's grace_hours (default 48), "
        "so that contacts recorded offline and synced late can end it first; null unless unreachable"))


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


class CadenceOut(Out):
    from_: str = Field(alias="from", description="YYYY-MM-DD: the first day of this cadence")
    checkin_interval_days: int
    program: Program
    changed_on: str | None = Field(description=(
        "YYYY-MM-DD: the local date this cadence was set (null for clients registered before version 1.1); "
        "a window of it that ended before that date is never missed"))
    previous_end: str | None = Field(description=(
        "YYYY-MM-DD, on a cadence a program change began: the end of the period it closed, as it stood then (the "
        "old period's last window, already ending that day, keeps its outcome); null otherwise"))


class PeriodComplianceOut(Out):
    """The check-in windows of one period (every window belongs to exactly one period)."""

    first_day: str = Field(description="YYYY-MM-DD: the first day of the period's windows")
    last_day: str = Field(description="YYYY-MM-DD: the last day of the period's windows")
    windows: int
    windows_closed: int
    met: int = Field(description="Closed windows with a counted contact")
    excused: int
    missed: int
    neutral: int = Field(description="Closed windows that could not be missed (before tracking began, shortened "
                                     "by a change, or closed before their cadence was set)")
    consecutive_missed: int = Field(description="The streak of missed windows after the period's last closed one")
    last_contact_at: str | None = Field(description="RFC 3339: the latest counted contact in the period's windows")


class PeriodOut(Out):
    program: Program
    sk_number: str | None = Field(description="The decree (SK) number; null when none was recorded")
    sk_date: str | None
    start_date: str
    end_date: str = Field(description="A closed period: the day before the next began; the current one: "
                                      "supervision_end")
    planned_end_date: str | None = Field(description="A closed period: its end as the decree had it when it closed")
    note: str | None
    started_at: str | None = Field(description="RFC 3339: when the program change that began it was recorded")
    started_by: str | None
    current: bool
    compliance: PeriodComplianceOut | None


class ClientOut(Out):
    id: str
    bapas_id: str
    name: str
    program: Program
    supervision_start: str
    supervision_end: str
    checkin_interval_days: int = Field(description="The latest cadence's interval (see `schedule`)")
    tracking_from: str = Field(description="YYYY-MM-DD: windows opening before this date are never missed")
    schedule: list[CadenceOut] = Field(description="The cadence history, oldest first: windows already closed keep "
                                                   "the cadence and outcome they had")
    sk_number: str | None = Field(description="The current period's decree (SK) number")
    sk_date: str | None
    period_start: str = Field(description="YYYY-MM-DD: the current period's first day (its stages, progress reports "
                                          "and stage reviews count from it; supervision_start is the first period's)")
    periods: list[PeriodOut] = Field(description="Every supervision period, oldest first, the current one last "
                                                 "(POST /v1/clients/{client_id}/programs begins a new one)")
    stage: Stage = Field(description="By thirds of the current period")
    officer: str
    phones: list[PhoneOut]
    address: AddressOut
    offence: str | None
    notes: str | None
    compliance: ComplianceOut
    progress_reports: ProgressStatusOut
    stage_reviews: StageReviewStatusOut
    open_escalation_id: str | None = Field(description="The open escalation of the client's unreachable episode")
    pending_transfer_id: str | None = Field(description="A transfer to another Bapas waiting for its answer")
    reminders_enabled: bool = Field(description="An SMS reminder goes before a window closes unreported "
                                                "(a coordinator may switch it off)")
    version: int
    created_at: str
    updated_at: str


class ClientSummaryOut(Out):
    """A client in a list: no phone numbers, street address, home location, offence or notes (read the client)."""

    id: str
    bapas_id: str
    name: str
    program: Program
    supervision_start: str
    supervision_end: str
    checkin_interval_days: int
    stage: Stage
    officer: str
    village_code: str = Field(description="Dotted Kemendagri code", pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    village_name: str | None
    compliance: ComplianceOut
    progress_reports: ProgressStatusOut
    stage_reviews: StageReviewStatusOut
    open_escalation_id: str | None
    version: int
    updated_at: str


class ClientList(Out):
    items: list[ClientSummaryOut] = Field(description="Summaries; GET /v1/clients/{client_id} for the full record "
                                                      "(audited for coordinators and admins)")
    next_cursor: str | None
