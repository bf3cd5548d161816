"""Answers from the village: reply links, the public reply page and the answers recorded on the escalation.

Links. `new_link` makes a token of 128 random bits (`secrets.token_urlsafe(16)`, 22 characters), stores
only its SHA-256 in the replies table (`link#<hash>`, with the escalation, the recipient and the time it stops
working, 14 days on) and returns `{public_url}/r/{token}` for the SMS. Reading the table therefore does not
give anyone a live link. The link and its audit entry (on the escalation) are written in the transaction that
opens the escalation, so a link exists exactly when the SMS that carries it does.

Page. `GET /r/{token}` shows the question; `POST` (form-encoded `answer`, `notes`) appends
`{recipient, recipient_role, answer, notes, at}` to the escalation's `responses` in one transaction with its
audit entry, then tells the PK (SMS) and the coordinators (their topic). An answer can be sent again until the
link expires; every one is kept. An unknown or malformed token is 404, an expired one 410: the same page
whatever the token, revealing nothing.

Rate limits (DynamoDB conditional counters in the same table, `rate#...`, removed by TTL): every request
counts against its source address (`SOURCE_LIMIT` a window), and a known link's requests against the link
(`LINK_LIMIT`); past a limit the page is 429. The outer layer is API Gateway's stage throttling (and AWS WAF
where the operator adds it: docs/security.md); these counters only stop one phone or one address from filling
an escalation with answers or guessing tokens at the stage's full rate.

DynamoDB requests: GET = 2 UpdateItems (counters) + 3 GetItems (link, escalation, client); POST adds one
TransactWriteItems (answer + audit). SNS: one SMS to the PK and one topic message per answer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.adapters.aws import client as aws_client
from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel, EscalationModel, ReplyModel
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain import notices
from chalicelib.domain import reply_page as page
from chalicelib.domain.followup import ANSWERS
from chalicelib.domain.timeutil import parse_rfc3339, to_rfc3339
from chalicelib.obs import logger
from chalicelib.services.common import BAPAS, audit_entry, transaction

TOKEN_BYTES = 16  # 128 random bits
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
VALID_FOR = timedelta(days=14)
KEEP_EXPIRED = timedelta(days=30)  # after expiry the link still answers 410 (not 404) for this long
SOURCE_LIMIT, SOURCE_WINDOW = 60, timedelta(minutes=10)  # requests per source address
LINK_LIMIT, LINK_WINDOW = 30, timedelta(hours=1)  # requests per link (each answer is one)
MAX_RESPONSES = 100  # answers kept on one escalation (bounds the item's size)
SYSTEM = "system"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewLink:
    """A reply link to issue: the URL for the SMS, and the link item and its audit entry, which the caller writes
    in the transaction that opens the escalation (the link exists exactly when the SMS that carries it does)."""

    url: str
    link: ReplyModel
    audit: Any

    def save_in(self, tx: Any) -> None:
        tx.save(self.link, condition=ReplyModel.key.does_not_exist())
        tx.save(self.audit)


def new_link(escalation_id: str, recipient: str, recipient_role: str, bapas_id: str, now: datetime) -> NewLink:
    """A new reply link for one recipient of one escalation (not stored yet: `NewLink.save_in`)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    valid_until = now + VALID_FOR
    link = ReplyModel(f"link#{token_digest(token)}", escalation_id=escalation_id, recipient=recipient,
                      recipient_role=recipient_role, bapas_id=bapas_id, valid_until=to_rfc3339(valid_until),
                      created_at=to_rfc3339(now), expires=valid_until + KEEP_EXPIRED)
    system = Principal(username=SYSTEM, sub=SYSTEM, role=SYSTEM, bapas_id=bapas_id)
    audit = audit_entry(system, f"escalation#{escalation_id}", "reply_link.issue", now, [f"reply_link.{recipient}"])
    return NewLink(f"{settings().public_url}/r/{token}", link, audit)


# ----- the page ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    status: int
    html: str
    headers: dict[str, str]


class _Stop(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers or {}


def show(token: str, source: str, now: datetime) -> Page:
    return _guarded(lambda: _show(token, source, now))


def answer(token: str, source: str, content_type: str, body: bytes, now: datetime) -> Page:
    return _guarded(lambda: _answer(token, source, content_type, body, now))


def _guarded(fn: Any) -> Page:
    try:
        return fn()
    except _Stop as stop:
        return Page(stop.status, page.message_page(stop.status), stop.headers)
    except (ClientError, BotoCoreError, PynamoDBException) as exc:
        # A busy or failing table: say so in the page's words (a 503 that names nothing), never a stack trace.
        logger.warning("reply page unavailable", extra={"error": type(exc).__name__})
        return Page(503, page.message_page(503), {"Retry-After": "30"})


@dataclass
class _Context:
    link: ReplyModel
    escalation: EscalationModel
    facts: page.PageFacts


def _show(token: str, source: str, now: datetime) -> Page:
    ctx = _open(token, source, now)
    return Page(200, page.form_page(ctx.facts), {})


def _answer(token: str, source: str, content_type: str, body: bytes, now: datetime) -> Page:
    ctx = _open(token, source, now)
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise _Stop(415)
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10,
                                     strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        form = {}
    choice = (form.get("answer") or [""])[0].strip()
    notes = " ".join((form.get("notes") or [""])[0].replace("\x00", "").split())
    if choice not in ANSWERS:
        return Page(422, page.form_page(ctx.facts, "Mohon pilih salah satu jawaban.", None, notes), {})
    if len(notes) > page.MAX_NOTES:
        return Page(422, page.form_page(ctx.facts, f"Keterangan paling banyak {page.MAX_NOTES} huruf.", choice,
                                        notes[:page.MAX_NOTES]), {})
    _record(ctx, choice, notes or None, now)
    return Page(200, page.thanks_page(ctx.facts, choice, notes or None), {})


def _open(token: str, source: str, now: datetime) -> _Context:
    """Count the request, find the link, check it is alive; everything else answers a page that says so."""
    if not _count("source", hashlib.sha256(source.encode()).hexdigest()[:32], SOURCE_LIMIT, SOURCE_WINDOW, now):
        raise _Stop(429, {"Retry-After": str(int(SOURCE_WINDOW.total_seconds()))})
    if not TOKEN_PATTERN.match(token or ""):
        raise _Stop(404)
    digest = token_digest(token)
    try:
        link = ReplyModel.get(f"link#{digest}", consistent_read=True)
    except ReplyModel.DoesNotExist:
        raise _Stop(404) from None
    if not link.escalation_id or not link.valid_until:
        raise _Stop(404)  # a counter's key cannot be a link's, but never trust a row's kind by its key alone
    valid_until = parse_rfc3339(link.valid_until)
    if now >= valid_until:
        raise _Stop(410)
    if not _count("link", digest[:32], LINK_LIMIT, LINK_WINDOW, now):
        raise _Stop(429, {"Retry-After": str(int(LINK_WINDOW.total_seconds()))})
    try:
        escalation = EscalationModel.get(link.escalation_id, consistent_read=True)
        client = ClientModel.get(escalation.client_id, attributes_to_get=["name", "anonymised_at"])
    except (EscalationModel.DoesNotExist, ClientModel.DoesNotExist):
        raise _Stop(404) from None
    if client.anonymised_at:
        raise _Stop(410)
    officer = DIRECTORY.officer(escalation.officer)
    tz = BAPAS.timezone(escalation.bapas_id)
    mine = [r.as_dict() if hasattr(r, "as_dict") else dict(r) for r in escalation.responses or []]
    previous = tuple((r["answer"], r.get("notes"), parse_rfc3339(r["at"])) for r in mine
                     if r.get("link") == digest[:16])
    facts = page.PageFacts(
        bapas_name=BAPAS.name(escalation.bapas_id), client_name=client.name,
        village_name=escalation.village_name or escalation.village_code, reference=notices.short_ref(
            escalation.escalation_id),
        officer_name=officer.name if officer is not None else escalation.officer,
        officer_phone=notices.local_phone(officer.phone if officer is not None else None),
        recipient_role=link.recipient_role or "", valid_until=valid_until, timezone=tz, previous=previous)
    return _Context(link, escalation, facts)


def _count(scope: str, ident: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Raise this window's counter by one if it is under `limit` (one conditional UpdateItem); False if full."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    try:
        ReplyModel(f"rate#{scope}#{ident}#{slot}").update(
            actions=[ReplyModel.n.add(1), ReplyModel.expires.set(datetime.fromtimestamp((slot + 2) * seconds,
                                                                                         tz=now.tzinfo))],
            condition=ReplyModel.n.does_not_exist() | (ReplyModel.n < limit))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            logger.warning("reply rate limit", extra={"scope": scope})
            return False
        raise
    return True


def _record(ctx: _Context, choice: str, notes: str | None, now: datetime) -> None:
    e, link = ctx.escalation, ctx.link
    entry = {"link": link.key.split("#", 1)[1][:16], "recipient": link.recipient,
             "recipient_role": link.recipient_role, "answer": choice, "at": to_rfc3339(now)}
    if notes:
        entry["notes"] = notes
    village = Principal(username=f"reply:{link.recipient}", sub="-", role="village", bapas_id=e.bapas_id)
    try:
        with transaction() as tx:
            tx.update(EscalationModel(e.escalation_id),
                      actions=[EscalationModel.responses.set((EscalationModel.responses | []).append([entry]))],
                      condition=EscalationModel.escalation_id.exists() &
                      (EscalationModel.responses.does_not_exist() | (size(EscalationModel.responses) < MAX_RESPONSES)))
            tx.save(audit_entry(village, f"escalation#{e.escalation_id}", "escalation.response", now,
                                ["responses"]))
    except TransactWriteError as exc:
        if "ConditionalCheckFailed" in [r.code for r in exc.cancellation_reasons or [] if r is not None]:
            raise _Stop(429) from None  # this escalation has all the answers it can hold
        raise
    logger.info("reply recorded", extra={"escalation_id": e.escalation_id, "recipient": link.recipient,
                                         "answer": choice})
    _tell_staff(e, link.recipient_role or "", choice)


def _tell_staff(e: EscalationModel, role: str, choice: str) -> None:
    """The PK by SMS, the coordinators on their topic: the reference and the answer (the notes are in the app)."""
    ref = notices.short_ref(e.escalation_id)
    who = page.RECIPIENT_LABELS.get(role, "desa")
    label = notices.to_gsm7(page.ANSWER_LABELS[choice])
    sns = aws_client("sns")
    officer = DIRECTORY.officer(e.officer)
    sends: list[tuple[str, dict[str, Any]]] = []
    if officer is not None and officer.phone:
        sends.append(("officer", {"PhoneNumber": officer.phone, "Message": notices.to_gsm7(
            f"PANTAU: Jawaban {who} untuk Ref {ref}: {label}. Rincian di aplikasi Pantau."),
            "MessageAttributes": {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}}))
    if settings().coordinators_topic_arn:
        sends.append(("coordinator", {
            "TopicArn": settings().coordinators_topic_arn, "Subject": f"PANTAU: jawaban desa {ref}",
            "Message": f"PANTAU: Jawaban {who} untuk eskalasi {ref} (klien {e.client_id}, PK {e.officer}): "
                       f"{label}. Rincian di dasbor Pantau."}))
    for recipient, params in sends:
        try:
            sns.publish(**params)
        except (ClientError, BotoCoreError) as exc:  # the answer is kept and shown in the API either way
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
            logger.warning("reply notice not sent", extra={"recipient": recipient, "aws_code": code})


def responses_to_api(e: EscalationModel) -> list[dict[str, Any]]:
    out = []
    for r in e.responses or []:
        r = r.as_dict() if hasattr(r, "as_dict") else dict(r)
        out.append({"recipient_role": r.get("recipient_role"), "answer": r.get("answer"), "notes": r.get("notes"),
                    "at": r.get("at")})
    return sorted(out, key=lambda r: r["at"] or "")
