"""A client's phone numbers: verified and inactive state, as parts of the caller's one transaction.

The state lives on the client item's `phones` maps (see `domain/phones.py`). Each change is written by index
(`phones[i].inactive_at`) under the condition that `phones[i].number` is still the number meant, so a
concurrent PATCH of the phone list can never make us mark the wrong number: the transaction is refused instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.tables import ClientModel, plain
from chalicelib.domain import phones as rules
from chalicelib.domain.timeutil import to_rfc3339


def stored_phones(item: ClientModel) -> list[dict[str, Any]]:
    return plain(list(item.phones or []))


def inactive_update(item: ClientModel, at: datetime, number: str | None = None,
                    owner: str | None = None) -> tuple[list[Any], Any]:
    """Actions and condition marking the client's phones with this number (or of this owner) inactive since `at`
    (clearing their verification). A number verified after `at` is left alone: the verification is newer news.
    Returns ([], None) when no phone matches."""
    stamp = to_rfc3339(at)
    phones = stored_phones(item)
    actions: list[Any] = []
    condition = None
    for i in rules.indexes_of(phones, number=number, owner=owner):
        verified = phones[i].get("verified_at")
        if verified and verified > stamp:
            continue
        if phones[i].get("inactive_at") and phones[i]["inactive_at"] <= stamp:
            continue  # already inactive since earlier
        actions += [ClientModel.phones[i]["inactive_at"].set(stamp), ClientModel.phones[i]["verified_at"].remove()]
        same = ClientModel.phones[i]["number"] == phones[i]["number"]
        condition = same if condition is None else condition & same
    return actions, condition


def verified_update(item: ClientModel, number: str, at: datetime) -> tuple[list[Any], Any]:
    """Actions and condition marking every phone with this number verified at `at` (and active again)."""
    stamp = to_rfc3339(at)
    actions: list[Any] = []
    condition = None
    for i in rules.indexes_of(stored_phones(item), number=number):
        actions += [ClientModel.phones[i]["verified_at"].set(stamp), ClientModel.phones[i]["inactive_at"].remove()]
        same = ClientModel.phones[i]["number"] == number
        condition = same if condition is None else condition & same
    return actions, condition
