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
