"""The supervision lifecycle: stage reviews (litmas + TPP session), violations and transfers between Bapas.

Rules that need the client or the clock (dates within the supervision, not in the future) live in the services.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from chalicelib.schemas.base import Day, LongText, Out, Strict, Time

Paragraph = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ReviewStage = Literal["awal", "lanjutan", "akhir"]
TppDecision = Literal["continue", "warning", "propose_revocation", "other"]


# ----- stage reviews ----------------------------------------------------------------------------------

class Litmas(Strict):
    """The penelitian kemasyarakatan (litmas) the TPP session reviewed."""

    date: Day
    summary: Paragraph
    recommendation: Paragraph


class TppSession(Strict):
    """The sidang TPP (Tim Pengamat Pemasyarakatan) that decided on the stage."""

    date: Day = Field(description="Not before the litmas date")
    decision: TppDecision = Field(description="continue, warning (teguran), propose_revocation (usul pencabutan) "
                                              "or other (then `notes` says what)")
    notes: LongText | None = None

    @model_validator(mode="after")
    def _other_needs_notes(self) -> TppSession:
        if self.decision == "other" and not self.notes:
            raise ValueError("notes: say what the TPP decided when the decision is `other`")
        return self


class StageReviewBody(Strict):
    """One stage's review: its litmas and the TPP session that decided on it, recorded after the session."""

    stage: ReviewStage = Field(description="The stage reviewed; it must have begun by the TPP session's date")
    litmas: Litmas
    tpp_session: TppSession


class LitmasOut(Out):
    date: str
    summary: str
    recommendation: str


class TppSessionOut(Out):
    date: str
    decision: TppDecision
    notes: str | None


class StageReviewOut(Out):
    id: str
    client_id: str
    stage: ReviewStage
    litmas: LitmasOut
    tpp_session: TppSessionOut
    recorded_by: str
    recorded_at: str
    version: int


class StageReviewList(Out):
    items: list[StageReviewOut]
    next_cursor: str | None


# ----- transfers between Bapas -------------------------------------------------------------------------

BapasId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                           pattern=r"^[A-Za-z0-9_.-]+$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
TransferState = Literal["pending", "accepted", "declined"]


class TransferRequest(Strict):
    to_bapas_id: BapasId = Field(description="The receiving Bapas (not the client's own)")
    reason: Reason = Field(description="Why the client is handed over, e.g. a move to another city")


class TransferAccept(Strict):
    officer: Username = Field(description="The receiving Bapas's PK who takes the client over")


class TransferDecline(Strict):
    reason: Reason


class TransferClientOut(Out):
    """What the receiving coordinator needs to decide: shown while pending, and to whoever has the client now."""

    name: str
    program: str
    supervision_start: str
    supervision_end: str
    stage: str
    village_code: str
    village_name: str | None


class TransferOut(Out):
    id: str
    client_id: str
    from_bapas_id: str
    from_bapas_name: str = Field(description="The sending Bapas's full name")
    to_bapas_id: str
    to_bapas_name: str = Field(description="The receiving Bapas's full name")
    from_officer: str = Field(description="The client's PK in the sending Bapas when the transfer was requested")
    reason: str
    state: TransferState
    requested_by: str
    requested_at: str
    officer: str | None = Field(description="The receiving PK, once accepted")
    decided_by: str | None
    decided_at: str | None
    decline_reason: str | None
    moved: int | None = Field(description="Escalations and their tasks that moved with the client")
    client: TransferClientOut | None = Field(description="Null once the caller's Bapas no longer may see the client")
    version: int


class TransferList(Out):
    items: list[TransferOut]
    next_cursor: str | None


# ----- violations ----------------------------------------------------------------------------------------

ViolationOutcome = Literal["supervision_continued", "warning", "revoked", "other"]


class ViolationBody(Strict):
    """A violation of the general conditions, opened by the coordinator (offline-safe PUT on the app's UUID)."""

    reported_at: Time = Field(description="When the violation was established; not in the future")
    summary: Paragraph = Field(description="What was violated, e.g. three consecutive missed contacts")
    escalation_id: UUID | None = Field(default=None, description="The escalation it comes from (this client's)")


class ViolationTpp(Strict):
    date: Day
    decision: TppDecision
    notes: LongText | None = None


class ViolationPatch(Strict):
    """What happened next (needs If-Match): the BAP, the TPP session, the outcome (which closes the violation)."""

    bap_date: Day | None = Field(default=None, description="Date of the berita acara pemeriksaan (BAP)")
    tpp_session: ViolationTpp | None = None
    outcome: ViolationOutcome | None = Field(default=None, description="supervision_continued, warning, revoked "
                                                                       "or other; setting it closes the violation")
    outcome_notes: LongText | None = None


class MissedWindowOut(Out):
    first_day: str
    last_day: str


class EvidenceNotificationOut(Out):
    recipient_role: str
    channel: str
    status: str
    updated_at: str | None


class EvidenceResponseOut(Out):
    recipient_role: str
    answer: str
    notes: str | None
    at: str


class EvidenceEscalationOut(Out):
    id: str
    reference: str
    reason: str
    opened_at: str
    consecutive_missed: int
    state: str
    resolution: str | None
    resolved_at: str | None
    resolved_by: str | None
    notifications: list[EvidenceNotificationOut]
    responses: list[EvidenceResponseOut] = Field(description="The village's answers to the reply links")


class EvidenceVisitOut(Out):
    id: str
    visited_at: str
    client_present: bool
    distance_m: float | None
    location_check: str
    photos: list[str] = Field(description="Permanent keys of the visit's photos")
    photo_flags: list[str] = Field(description="EXIF checks that did not match the visit (time, place)")
    recorded_by: str | None


class EvidenceOut(Out):
    """A snapshot taken when the violation was recorded."""

    missed_windows: list[MissedWindowOut] = Field(description="Closed windows without a counted contact (last 20)")
    escalation: EvidenceEscalationOut | None
    visits: list[EvidenceVisitOut] = Field(description="Home visits since the first of those windows (last 50)")


class ViolationTppOut(Out):
    date: str
    decision: TppDecision
    notes: str | None


class ViolationOut(Out):
    id: str
    client_id: str
    reported_at: str
    summary: str
    escalation_id: str | None
    state: Literal["open", "closed"]
    evidence: EvidenceOut
    bap_date: str | None
    tpp_session: ViolationTppOut | None
    outcome: ViolationOutcome | None
    outcome_notes: str | None
    closed_at: str | None
    closed_by: str | None
    recorded_by: str
    recorded_at: str
    updated_at: str | None
    version: int


class ViolationList(Out):
    items: list[ViolationOut]
    next_cursor: str | None
