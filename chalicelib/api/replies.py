"""The public reply page: `GET/POST /r/{token}` (no login; see services/replies.py and docs/security.md)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.config import settings
from chalicelib.domain.timeutil import now_utc
from chalicelib.http import route
from chalicelib.schemas.refs import Text, models
from chalicelib.services import replies

# Schema classes by name: imported on first use (chalicelib/schemas/refs.py).
(ReplyForm,) = models("escalations", "ReplyForm")

bp = Blueprint(__name__)

PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token never leaves in a Referer header
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}
PAGE = Text(media_type="text/html", description="A small page in Bahasa Indonesia")


def _source() -> str:
    context = bp.current_request.context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


def _page(result: replies.Page) -> Response:
    return Response(body=result.html, status_code=result.status, headers={**PAGE_HEADERS, **result.headers})


@route(bp, "/r/{token}", public=True, html=True, tag="replies", response=PAGE, errors=(410, 429))
def reply_page(token):
    """The reply page of a link sent by SMS: the client's name, the village and the question, and a plain form.

    No login: the token (128 random bits, stored only as its SHA-256, bound to one escalation and one recipient,
    valid 14 days) is the key. 404 for an unknown or malformed token, 410 for an expired one: the same page
    whatever the token. Rate-limited per source address and per link (429).
    """
    return _page(replies.show(token, _source(), now_utc()))


@route(bp, "/r/{token}", methods=["POST"], public=True, html=True, tag="replies", request=ReplyForm, response=PAGE,
       errors=(410, 413, 415, 422, 429))
def reply_answer(token):
    """Answer through the reply link (a form post): recorded on the escalation, audited, sent to the PK and Kasubsi.

    The answer may be changed until the link expires by posting again; every answer is kept in the escalation's
    `responses`. 422 shows the form again when no valid answer was chosen.
    """
    request = bp.current_request
    raw = request.raw_body or b""
    if len(raw) > settings().max_body_bytes:
        return _page(replies.Page(413, replies.page.message_page(413), {}))
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return _page(replies.answer(token, _source(), content_type, raw, now_utc()))
