"""Escalations (an unreachable client's episode, its notifications) and the PK's tasks; the resolve body."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.base import LongText, Out, Strict

# How an escalation ended (contract 1.1, "Follow-up after an escalation", chalicelib/domain/followup.py);
# free text goes in `notes` only.
Resolution = Literal["contact_restored", "found_at_home", "moved", "absconded", "violation_referred", "other"]


class EscalationResolve(Strict):
    resolution: Resolution = Field(description="How it ended: contact_restored (the client is in contact again), "
                                               "found_at_home, moved (lives elsewhere now), absconded, "
                                               "violation_referred (reported as a violation) or other")
    notes: LongText | None = Field(default=None, description="Free text: what happened, who found the client")


RecipientRole = Literal["bhabinkamtibmas", "polsek", "polres", "village_office", "guarantor", "officer",
                        "coordinator"]
MessageStatus = Literal["pending", "sent", "failed", "no_contact", "deferred", "cancelled"]


class NotificationOut(Out):
    recipient_role: RecipientRole = Field(description=(
        "Who was told: three_missed -> bhabinkamtibmas (else the kecamatan's polsek, else the kabupaten/kota's "
        "polres), village_office, officer (the PK), coordinator; number_inactive -> officer, guarantor, "
        "village_office (never the police), coordinator only when someone could not be reached"))
    channel: Literal["sms", "sns_topic"]
    to: str | None = Field(description="E.164 phone or the coordinators' topic ARN; null when nobody is on record")
    status: MessageStatus = Field(description=(
        "pending (being sent), sent, failed (SNS refused it), no_contact (nobody on record, or not a mobile "
        "number), deferred (held until send_after: outside the Bapas at night, or past the Bapas's daily SMS "
        "cap), cancelled (the episode ended before it was sent)"))
    text: str | None = Field(description="The message exactly as sent (null without a recipient)")
    send_after: str | None = Field(description="When a deferred message goes (RFC 3339)")
    error: str | None = Field(description="Why it was not sent: SNS's refusal, no_contact's or deferred's reason")
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
    officer_name: str | None = Field(description="That PK's name")
    client_name: str | None = Field(description="The client's name (null if the client is gone)")
    village_code: str
    village_name: str | None
    task_id: str | None = Field(description="The PK's home-visit task")
    resolution: Resolution | None = Field(description="The resolution code (a pre-1.1 free-text one reads `other`)")
    notes: str | None
    resolved_by: str | None
    resolved_at: str | None
    responses: list[ResponseOut] = Field(description="The village's answers through reply links, oldest first; "
                                                     "every answer is kept (an answer may be changed by a new one)")
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
    officer_name: str | None = Field(description="The PK's name")
    client_name: str | None = Field(description="The client's name (null if the client is gone)")
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


class ReplyForm(Strict):
    """The reply page's form (`application/x-www-form-urlencoded`), posted to the link's own URL."""

    answer: Literal["found", "not_found", "moved", "other"] = Field(
        description="found: the client lives there and was seen; not_found; moved (the new address in notes); other")
    notes: str | None = Field(default=None, max_length=1000,
                              description="Optional: the new address (moved) or any remark, at most 1000 characters")


class ResponseOut(Out):
    recipient_role: str = Field(description="Who answered through their reply link: bhabinkamtibmas, village_office, "
                                            "polsek or polres")
    answer: Literal["found", "not_found", "moved", "other"]
    notes: str | None
    at: str = Field(description="RFC 3339, UTC")
