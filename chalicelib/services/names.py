"""Names for the readers: a PK's full name from the officer directory (Cognito, cached), a Bapas's name, and
clients' names for lists of escalations and tasks (one BatchGetItem a page)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.adapters.directory import DIRECTORY
from chalicelib.adapters.tables import ClientModel
from chalicelib.auth import Principal
from chalicelib.services.common import BAPAS


def officer_name(username: str | None) -> str | None:
    """The PK's name as registered in Cognito (`name`); the username when the directory does not know them."""
    if not username:
        return None
    officer = DIRECTORY.officer(username)
    return officer.name if officer is not None and officer.name else username


def client_names(client_ids: Iterable[str]) -> dict[str, str]:
    """Client id -> name, with one BatchGetItem per 100 ids (only the name is read)."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    return {c.client_id: c.name for c in ClientModel.batch_get(ids, attributes_to_get=["client_id", "name"])}


def me(p: Principal) -> dict[str, Any]:
    bapas = BAPAS.get(p.bapas_id) if p.bapas_id else None
    return {**p.to_api(), "name": officer_name(p.username) or p.username,
            "bapas_name": bapas.name if bapas is not None else None,
            "timezone": bapas.timezone if bapas is not None else None}
