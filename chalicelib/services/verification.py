"""Phone verification at intake: `POST /v1/clients/{id}/phones/verify` and `/phones/confirm`.

`request_code` sends a 6-digit code by SMS (through the outbound layer, kind `verification`) to one of the
client's numbers and keeps only a salted hash of it on the client item (`verification`, one pending challenge
per client), in one transaction with the message record and the audit entry. The stored message text has the
code masked; the SMS itself is the only place the code exists. A code is sent only in the village's daytime
(08:00-18:00, like every SMS to someone outside the Bapas) and at most once a minute per number; a code that
cannot go now is refused (409/503), never held: a late code is useless, so a held one is cancelled.

`confirm_code` spends one attempt first (a conditional update of the challenge, in one transaction with its
audit entry), then compares: so parallel guesses cannot test more codes than `MAX_ATTEMPTS`. A right code marks
every phone with that number verified (and active again) and removes the challenge, in one transaction.

Codes are never logged, returned or stored in the clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.access import bound_officer
from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, NotificationModel, plain
from chalicelib.auth import Principal
from chalicelib.domain import daytime
from chalicelib.domain.phones import is_mobile
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.domain.verification import MAX_ATTEMPTS, RESEND_AFTER, Challenge, masked, new_code, sms_text
from chalicelib.errors import Problem, conflict, field_error, unavailable
from chalicelib.obs import logger
from chalicelib.services import outbound
from chalicelib.services.clients import client_entity, load_client, to_api
from chalicelib.services.common import BAPAS, audit_entry, condition_failed, transaction
from chalicelib.services.phones import stored_phones, verified_update


def _too_many(detail: str) -> Problem:
    return Problem(429, "too_many_requests", "Too many requests", detail, headers={"Retry-After": "60"})


def _challenge(item: ClientModel) -> Challenge | None:
    return None if item.verification is None else Challenge.from_item(plain(item.verification))


def _still_allowed(p: Principal, item: ClientModel) -> Any:
    condition = ClientModel.client_id.exists() & (ClientModel.bapas_id == item.bapas_id)
    if officer := bound_officer(p):
        condition &= ClientModel.officer == officer
    return condition


def request_code(p: Principal, client_id: str, number: str, now: datetime) -> dict[str, Any]:
    item = load_client(p, client_id, write=True)
    owners = [ph["owner"] for ph in stored_phones(item) if ph["number"] == number]
    if not owners:
        raise field_error("number", "is not one of this client's numbers (add it to the client first)")
    if not is_mobile(number):
        raise field_error("number", "is not a mobile number: it cannot receive an SMS")
    current = _challenge(item)
    if current is not None and current.too_soon_to_resend(number, now):
        raise _too_many(f"A code was sent to this number less than {int(RESEND_AFTER.total_seconds())} seconds "
                        "ago; wait for it or ask again in a minute.")
    tz = daytime.zone_of_code(item.village_code)
    if not daytime.is_daytime(now, tz):
        raise conflict("Codes are sent by SMS only between 08:00 and 18:00 in the client's village; "
                       "ask again in the morning.")

    code = new_code()
    challenge = Challenge.issue(client_id, number, code, now)
    officer = DIRECTORY.officer(item.officer)
    text = sms_text(code, str(BAPAS.info(item.bapas_id).name), officer.name if officer else None)
    record = outbound.prepare(outbound.Outgoing(
        thread=f"verification#{client_id}#{uuid.uuid4()}", recipient=owners[0], kind="verification",
        recipient_role=owners[0], channel="sms", to=number, text=masked(text, code), bapas_id=item.bapas_id,
        outside=True, tz=tz, client_id=client_id), now)
    if record.status != "sending":  # not a mobile number, or night: checked above, so this is a changed rule
        raise conflict("This number cannot be sent a code now.")
    try:
        with transaction() as tx:
            tx.update(ClientModel(client_id), actions=[ClientModel.verification.set(challenge.to_item())],
                      condition=_still_allowed(p, item))
            tx.save(record, condition=NotificationModel.escalation_id.does_not_exist())
            tx.save(audit_entry(p, client_entity(client_id), "phone.verification_sent", now, ["verification"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        load_client(p, client_id, write=True)  # 403/404 when the client was reassigned or removed meanwhile
        raise unavailable() from None
    record.text = text  # in memory only: the SMS carries the code, the stored record does not
    status = outbound.send(record, now)
    record.text = masked(text, code)
    logger.info("verification code sent", extra={"client_id": client_id, "status": status})
    if status not in ("sent",):
        outbound.cancel(record, now, "a verification code that could not go at once is useless later")
        raise unavailable("The SMS could not be sent now (daily SMS limit of the Bapas, or the SMS provider); "
                          "try again later.", retry_after=60)
    return {"number": number, "status": "sent", "expires_at": to_rfc3339(challenge.expires_at),
            "resend_after": to_rfc3339(challenge.sent_at + RESEND_AFTER), "max_attempts": MAX_ATTEMPTS,
            "message_id": f"{record.escalation_id}:{record.recipient}"}


def confirm_code(p: Principal, client_id: str, number: str, code: str, now: datetime) -> dict[str, Any]:
    item = load_client(p, client_id, write=True)
    current = _challenge(item)
    if current is None or current.number != number:
        raise field_error("number", "no code was sent to this number: ask for one first (phones/verify)")
    if current.expired(now):
        raise field_error("code", "has expired: ask for a new code")
    if current.exhausted():
        raise _too_many("Too many wrong codes: ask for a new code.")
    # Spend the attempt before looking at the code.
    same_challenge = (ClientModel.verification["salt"] == current.salt) & \
        (ClientModel.verification["attempts"] < MAX_ATTEMPTS)
    try:
        with transaction() as tx:
            tx.update(ClientModel(client_id), actions=[ClientModel.verification["attempts"].add(1)],
                      condition=_still_allowed(p, item) & same_challenge)
            tx.save(audit_entry(p, client_entity(client_id), "phone.verification_attempt", now, ["verification"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        load_client(p, client_id, write=True)
        raise _too_many("Too many wrong codes, or a new code was sent meanwhile: ask for a new code.") from None
    if not current.matches(client_id, code):
        left = MAX_ATTEMPTS - current.attempts - 1
        raise field_error("code", "is not the code sent to this number" +
                          (f" ({left} attempts left)" if left > 0 else ": ask for a new code"))
    actions, same_phones = verified_update(item, number, now)
    actions.append(ClientModel.verification.remove())
    condition = _still_allowed(p, item) & (ClientModel.verification["salt"] == current.salt)
    if same_phones is not None:
        condition &= same_phones
    try:
        with transaction() as tx:
            tx.update(ClientModel(client_id), actions=actions, condition=condition)
            tx.save(audit_entry(p, client_entity(client_id), "phone.verified", now, ["phones", "verification"]))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        raise conflict("The client's numbers changed, or a new code was sent meanwhile: ask for a new code.") \
            from None
    logger.info("phone verified", extra={"client_id": client_id})
    fresh = ClientModel.get(client_id, consistent_read=True)
    return to_api(fresh, BAPAS.timezone(fresh.bapas_id), now)
