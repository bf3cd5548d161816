"""Escalations (an unreachable client's episode, its notifications) and the PK's tasks; the resolve body."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.schemas.base import LongText, Out, Strict

Resolution = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class EscalationResolve(Strict):
    resolution: Resolution = Field(description="What happened, e.g. 'klien ditemukan, lapor diri kembali'")
    notes: LongText | None = None


class NotificationOut(Out):
    recipient_role: Literal["bhabinkamtibmas", "officer", "coordinator"]
    channel: Literal["sms", "sns_topic"]
    to: str | None = Field(description="E.164 phone or the coordinators' topic ARN; null when nobody is on record")
    status: Literal["pending", "sent", "failed", "no_contact"]
    error: str | None = Field(description="Why SNS refused it (status failed)")
    message_id: str | None = Field(description="SNS MessageId (status sent)")
    attempts: int
    updated_at: str


class EscalationOut(Out):
    id: str = Field(description="uuid5 of the client and the episode start: one escalation per episode")
    reference: str = Field(description="The short reference the SMS carry, e.g. ESK-1A2B3C4D")
    client_id: str
    bapas_id: str
    reason: Literal["three_missed", "number_inactive"]
    opened_at: str
    consecutive_missed: int
    state: Literal["open", "resolved"]
    notifications: list[NotificationOut]
    episode_started_at: str
    episode_ended_at: str | None = Field(description="The counted contact that ended the episode, once seen")
    officer: str = Field(description="The PK the client was assigned to when the escalation opened")
    village_code: str
    village_name: str | None
    task_id: str | None = Field(description="The PK's home-visit task")
    resolution: str | None
    notes: str | None
    resolved_by: str | None
    resolved_at: str | None
    version: int


class EscalationList(Out):
    items: list[EscalationOut]
    next_cursor: str | None


class TaskOut(Out):
    id: str
    kind: Literal["home_visit"]
    client_id: str
    escalation_id: str | None
    bapas_id: str
    officer: str
    village_code: str | None
    due_date: str = Field(description="YYYY-MM-DD in the Bapas time zone")
    state: Literal["open", "done"]
    created_at: str
    closed_at: str | None
    closed_reason: str | None
    version: int


class TaskList(Out):
    items: list[TaskOut]
    next_cursor: str | None
