"""The supervision lifecycle: stage reviews (litmas + TPP session), violations and transfers between Bapas.

Rules that need the client or the clock (dates within the supervision, not in the future) live in the services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from chalicelib.schemas.base import Day, LongText, Out, Strict

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
    to_bapas_id: str
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
