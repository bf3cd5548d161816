"""Request and response bodies of phone verification and a client's messages (issue 14)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.schemas.base import Out, PhoneNumber, Strict


class PhoneVerify(Strict):
    number: PhoneNumber


class PhoneConfirm(Strict):
    number: PhoneNumber
    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")] = Field(
        description="The 6 digits the holder received by SMS")


class VerificationSentOut(Out):
    number: str = Field(description="E.164")
    status: Literal["sent"]
    expires_at: str = Field(description="RFC 3339: the code is valid until then (10 minutes)")
    resend_after: str = Field(description="RFC 3339: a new code for this number may be asked for from then on")
    max_attempts: int = Field(description="Wrong codes accepted before a new code must be asked for")
    message_id: str = Field(description="The SMS in GET /v1/clients/{id}/messages (its text has the code masked)")


class MessageOut(Out):
    id: str
    kind: Literal["reminder", "escalation", "verification"]
    recipient_role: str = Field(description="client, guarantor, bhabinkamtibmas, polsek, polres, village_office, "
                                            "officer or coordinator")
    channel: Literal["sms", "sns_topic"]
    to: str | None = Field(description="E.164 phone, or the topic for coordinators; null when nobody could be "
                                       "reached")
    text: str | None = Field(description="The message as sent (a verification code masked)")
    status: str = Field(description="pending, sent, failed, deferred, no_contact or cancelled")
    send_after: str | None = Field(description="RFC 3339: when a deferred message goes")
    at: str = Field(description="RFC 3339: when it was sent (or made, when not sent)")


class MessageList(Out):
    items: list[MessageOut]
    next_cursor: str | None
