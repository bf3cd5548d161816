"""Progress reports (Laporan Perkembangan Pembimbingan), the coordinators' compliance report, the client
timeline and the dashboard config.

Rules that need the client (the period within the supervision, the stage) live in `services/records.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.domain.compliance import State
from chalicelib.schemas.base import Day, Out, Strict, Time

Paragraph = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ProgramText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ReportStage = Literal["awal", "lanjutan", "akhir"]


class ProgressReportBody(Strict):
    """A Laporan Perkembangan Pembimbingan: the stage and the period it covers, and the PK's assessment."""

    stage: ReportStage = Field(description="The supervision stage of `period_end`")
    period_start: Day
    period_end: Day = Field(description="Not before period_start, not after the supervision end nor the "
                                        "submission date")
    assessment_summary: Paragraph
    criminogenic_factors: Paragraph = Field(description="Notes on the criminogenic factors (faktor kriminogen)")
    recommended_program: ProgramText = Field(description="The recommended next program of guidance")
    submitted_at: Time


class ProgressReportOut(Out):
    id: str
    client_id: str
    stage: ReportStage
    period_start: str
    period_end: str
    assessment_summary: str
    criminogenic_factors: str
    recommended_program: str
    submitted_at: str = Field(description="RFC 3339, UTC")
    recorded_by: str
    recorded_at: str
    version: int


class ProgressReportList(Out):
    items: list[ProgressReportOut]
    next_cursor: str | None


# ----- compliance report -------------------------------------------------------------------------------

class StateCounts(Out):
    compliant: int
    due: int
    missed: int
    unreachable: int
    ended: int


class ReportRow(Out):
    officer: str | None = Field(description="The PK's username; null on the totals row")
    caseload: int = Field(description="Clients assigned whose supervision has not ended at as_of")
    clients: int = Field(description="All clients assigned, ended ones included")
    clients_by_state: StateCounts
    checkins_expected: int = Field(description="Check-in windows overlapping the range that are closed or met")
    checkins_done: int = Field(description="Of those, the windows met with a counted contact")
    checkin_rate: float | None = Field(description="checkins_done / checkins_expected, null when nothing expected")
    home_visits: int = Field(description="Home visits in the range")
    open_escalations: int = Field(description="Escalations open at as_of")
    overdue_progress_reports: int = Field(description="Due progress reports not written, at as_of")
    overdue_stage_reviews: int = Field(description="Stages whose review (litmas + TPP session) is past due and not "
                                                   "recorded, at as_of (domain/reviews.py)")
    escalations_resolved: int = Field(description="Escalations resolved in the range")
    median_days_to_resolve: float | None = Field(description="Median days from opening to resolution of those")


class OfficerRow(ReportRow):
    officer_name: str | None = Field(description="The PK's name (Cognito `name`); null on the totals row")


class BapasRow(ReportRow):
    bapas_id: str
    bapas_name: str = Field(description="The Bapas's full name")


class ComplianceReportOut(Out):
    scope: Literal["bapas", "national"] = Field(description="national: admin without bapas_id")
    bapas_id: str | None = Field(description="null in the national view")
    bapas_name: str | None = Field(description="The Bapas's full name; null in the national view")
    timezone: str | None = Field(description="The Bapas's time zone (dates and as_of are meant in it); null in the "
                                             "national view (each Bapas its own)")
    from_: str = Field(alias="from", description="YYYY-MM-DD, in each Bapas's time zone")
    to: str
    as_of: str = Field(description="RFC 3339: the end of `to`, or the time of the request if earlier (national: "
                                   "the latest over the Bapas)")
    officer: str | None
    officers: list[OfficerRow] = Field(description="One row per PK (empty in the national view)")
    bapas: list[BapasRow] | None = Field(description="National view: one row per Bapas, the same numbers as that "
                                                     "Bapas's totals; null in the Bapas view")
    totals: ReportRow = Field(description="The Bapas total, or the national total (medians over every "
                                          "resolution, not a median of medians)")


# ----- timeline --------------------------------------------------------------------------------------------

class TimelineEntry(Out):
    at: str = Field(description="RFC 3339, UTC")
    kind: Literal["checkin", "visit", "progress_report", "stage_review", "violation", "escalation",
                  "change"]
    id: str
    data: dict[str, Any] = Field(description="The record as its own GET returns it; for an escalation its state; "
                                             "for a change the audit entry (who, action, field names)")


class TimelineOut(Out):
    items: list[TimelineEntry]
    next_cursor: str | None


class ConfigOut(Out):
    region: str
    user_pool_client_id: str
    cognito_url: str = Field(description="Where the dashboard sends Cognito InitiateAuth (USER_PASSWORD_AUTH)")
    states: list[State]
