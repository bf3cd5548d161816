"""Who may see and change what: the one place the scoping rules live.

A `pk` sees and writes only the clients assigned to them; a `coordinator` sees and manages every client
of their Bapas; `admin` reads every Bapas and writes nothing. Another Bapas's record is 404 (its existence
is not the caller's to know); a colleague's client in the same Bapas is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.errors import Problem, forbidden, not_found

T = TypeVar("T")


def check_mfa(p: Principal) -> None:
    """Coordinators and admins (`PANTAU_MFA_ROLES`) must have TOTP MFA set up; else 403 `mfa_required`.

    Cognito cannot require MFA for some groups only: the pool's MFA is OPTIONAL with software tokens, and a user
    whose TOTP is enabled and preferred is asked for a code at every sign-in. So a token of such a user was
    issued after a TOTP code; the gate refuses the roles listed when the user (Cognito `AdminGetUser`, cached
    5 minutes) has no TOTP. See docs/security.md ("MFA for coordinators and admins").
    """
    if p.role not in settings().mfa_roles:
        return
    from chalicelib.adapters.directory import DIRECTORY

    officer = DIRECTORY.officer(p.username)
    if officer is None or not officer.totp:
        raise Problem(403, "mfa_required", "MFA required",
                      f"The role {p.role} needs an authenticator app (TOTP) set up for this account: set it up, "
                      "then sign in again.")


def check_client_read(p: Principal, bapas_id: str, officer: str) -> None:
    if p.is_admin:
        return
    if p.bapas_id != bapas_id:
        raise not_found("Client")
    if p.role == "pk" and officer != p.username:
        raise forbidden("This client is assigned to another officer.")


def check_client_write(p: Principal, bapas_id: str, officer: str) -> None:
    if p.is_admin:
        raise forbidden("The admin role is read-only.")
    check_client_read(p, bapas_id, officer)


def check_bapas(p: Principal, bapas_id: str, write: bool = False) -> None:
    if p.is_admin and not write:
        return
    if p.is_admin:
        raise forbidden("The admin role is read-only.")
    if p.bapas_id != bapas_id:
        raise not_found("Resource")


def check_escalation(p: Principal, bapas_id: str, officer: str, current_officer: Callable[[], str | None],
                     write: bool = False) -> None:
    """An escalation is its Bapas's; a PK's only while it concerns a client assigned to them now
    (`current_officer()`), whoever it was opened for (`officer`): a reassignment takes the access with it."""
    check_bapas(p, bapas_id, write=write)
    if p.role == "pk" and current_officer() != p.username:
        raise forbidden("This escalation concerns another officer's client.")


def visible_casework(p: Principal, items: list[T], current_officers: Callable[[set[str]], dict[str, str]]) -> list[T]:
    """The escalations or tasks of a list page the caller may see: a PK only those of clients assigned to them
    now (a reassignment moves the open ones; resolved and done ones keep the officer who handled them)."""
    if p.role != "pk":
        return items
    officers = current_officers({i.client_id for i in items})  # type: ignore[attr-defined]
    return [i for i in items if officers.get(i.client_id) == p.username]  # type: ignore[attr-defined]


def bound_officer(p: Principal) -> str | None:
    """The officer whose clients the caller may write for: a PK themself; None for a coordinator (any client
    of their Bapas). A write's condition re-checks it, so a reassignment in between refuses the write."""
    return p.username if p.role == "pk" else None


def read_is_audited(p: Principal) -> bool:
    """A coordinator's or admin's read of one client's record is audited (a PK reads only their own clients)."""
    return p.role in ("coordinator", "admin")


def check_transfer_read(p: Principal, from_bapas_id: str, to_bapas_id: str) -> None:
    """A transfer is its two Bapas's to see (admin: any); to anyone else it does not exist."""
    if not (p.is_admin or p.bapas_id in (from_bapas_id, to_bapas_id)):
        raise not_found("Transfer")


def check_transfer_decision(p: Principal, to_bapas_id: str) -> None:
    """Only the receiving Bapas accepts or declines a transfer."""
    if p.is_admin:
        raise forbidden("The admin role is read-only.")
    if p.bapas_id != to_bapas_id:
        raise forbidden("Only the receiving Bapas's coordinator may accept or decline a transfer.")


def may_see_transferred_client(p: Principal, client_bapas_id: str, deciding_bapas_id: str | None) -> bool:
    """A transfer shows its client's summary to the client's Bapas (and admin), and to the receiving Bapas
    while it decides (`deciding_bapas_id`: the receiver of a pending transfer, else None)."""
    return p.is_admin or client_bapas_id == p.bapas_id or (deciding_bapas_id is not None
                                                            and p.bapas_id == deciding_bapas_id)


def scoped_officer(p: Principal, requested: str | None) -> str | None:
    """The officer a list is narrowed to: a PK always themself (asking for a colleague's is 403)."""
    if p.role == "pk":
        if requested and requested != p.username:
            raise forbidden("A PK sees only their own clients and what belongs to them.")
        return p.username
    return requested or None


def scoped_bapas(p: Principal, requested: str | None) -> str:
    """The Bapas a list query runs in: the caller's own, or (admin only) the one asked for."""
    from chalicelib.errors import field_error

    if p.is_admin:
        if not requested:
            raise field_error("bapas_id", "admin must choose a Bapas with ?bapas_id=")
        return requested
    if requested and requested != p.bapas_id:
        raise not_found("Bapas")
    return p.bapas_id


def reads_national_view(p: Principal, requested_bapas: str | None) -> bool:
    """`admin` without a Bapas reads the national view (one row per Bapas); everyone else reads one Bapas."""
    return p.is_admin and not requested_bapas
