"""`GET /v1/clients/{id}/messages`: what was sent to or about a client, newest first.

One Query per page on the `client-index` GSI of `notifications` (the outbound layer writes `client_id` on every
message it makes for a client: reminders, verification codes, escalation notices). The PK of the client and
the coordinators of its Bapas read it (the route allows no other role). A verification code is never in the
listed text: the layer stores it masked.
"""

from __future__ import annotations

from typing import Any

from chalicelib.auth import Principal
from chalicelib.errors import field_error
from chalicelib.paging import Page, encode_cursor
from chalicelib.services import outbound
from chalicelib.services.clients import load_client

_CURSOR_KEYS = {"client_id", "created_at", "escalation_id", "recipient"}


def list_messages(p: Principal, client_id: str, page: Page) -> dict[str, Any]:
    load_client(p, client_id)
    start = None
    if page.cursor is not None:
        if set(page.cursor) != _CURSOR_KEYS or page.cursor.get("client_id") != client_id or \
                not all(isinstance(v, str) for v in page.cursor.values()):
            raise field_error("cursor", "does not belong to this list")
        start = {k: {"S": v} for k, v in page.cursor.items()}
    records, last = outbound.messages_of_client(client_id, limit=page.limit, last_evaluated_key=start)
    cursor = {k: v["S"] for k, v in last.items()} if last else None
    return {"items": [_item(r) for r in records], "next_cursor": encode_cursor(cursor)}


def _item(record: Any) -> dict[str, Any]:
    view = outbound.to_api(record)
    return {k: view.get(k) for k in ("id", "kind", "recipient_role", "channel", "to", "text", "status", "send_after",
                                     "at")}
