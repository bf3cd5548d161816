"""Names for the readers: a PK's full name from the officer directory (Cognito, cached), a Bapas's name, and
(clients' names on lists of escalations and tasks are read in `services.casework`)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.directory import DIRECTORY
from chalicelib.auth import Principal
from chalicelib.services.common import BAPAS


def officer_name(username: str | None) -> str | None:
    """The PK's name as registered in Cognito (`name`); the username when the directory does not know them."""
    if not username:
        return None
    officer = DIRECTORY.officer(username)
    return officer.name if officer is not None and officer.name else username


def me(p: Principal) -> dict[str, Any]:
    bapas = BAPAS.get(p.bapas_id) if p.bapas_id else None
    return {**p.to_api(), "name": officer_name(p.username) or p.username,
            "bapas_name": bapas.name if bapas is not None else None,
            "timezone": bapas.timezone if bapas is not None else None}
