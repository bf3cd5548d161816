"""People's names for the readers: a PK's full name from the officer directory (Cognito, cached)."""

from __future__ import annotations

from chalicelib.adapters.directory import DIRECTORY


def officer_name(username: str | None) -> str | None:
    """The PK's name as registered in Cognito (`name`); the username when the directory does not know them."""
    if not username:
        return None
    officer = DIRECTORY.officer(username)
    return officer.name if officer is not None else username
