"""Indonesian phone numbers: any common written form in, E.164 (`+62…`) out.

`phonenumbers` comes from the `phonenumberslite` distribution (the same library without geocoder, carrier and
time-zone data, which Pantau never uses) and is imported on first use: it is not part of the cold import.
"""

from __future__ import annotations


class InvalidPhone(ValueError):
    pass


def normalize_id_phone(raw: str) -> str:
    """`0812-3456-7890`, `+62 812 3456 7890`, `62812...`, `(021) 7890123` -> `+6281234567890`.

    Raises InvalidPhone for anything that is not a valid number (Indonesian by default region ID).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("is empty")
    if len(text) > 32:
        raise InvalidPhone("is too long to be a phone number")
    if text.startswith("62") and not text.startswith("+"):
        text = "+" + text
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("is not a valid Indonesian phone number")
    if phonenumbers.region_code_for_number(number) != "ID":
        raise InvalidPhone("is not an Indonesian (+62) phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True for numbers that can receive SMS (mobile or fixed-or-mobile)."""
    import phonenumbers

    number = phonenumbers.parse(e164, "ID")
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


# ----- a client's numbers: verified, inactive, and who gets an SMS ------------------------------------------
#
# A client's `phones` are stored as maps `{number, owner, name?, verified_at?, inactive_at?}`:
# * `verified_at` (UTC RFC 3339): the holder confirmed a code sent to it by SMS (`POST .../phones/confirm`);
# * `inactive_at`: the number was found dead -- a `number_inactive` check-in outcome, or the SMS provider
#   reporting an SMS to it undeliverable. It clears `verified_at`; a later confirmation makes it active again.
# A PATCH that keeps a number (same number and owner) keeps its state; a new number starts unverified and active.

STATE_KEYS = ("verified_at", "inactive_at")


def phone_view(stored: dict) -> dict:
    """A stored phone as the API shows it: `status` active|inactive, `verified_at`, `inactive_since`."""
    return {
        "number": stored["number"],
        "owner": stored["owner"],
        "name": stored.get("name"),
        "status": "inactive" if stored.get("inactive_at") else "active",
        "verified_at": stored.get("verified_at"),
        "inactive_since": stored.get("inactive_at"),
    }


def carry_state(old: list[dict], new: list[dict]) -> list[dict]:
    """`new` phones with the verification and inactivity of the same number and owner in `old`."""
    known = {(p["number"], p["owner"]): p for p in old}
    out = []
    for phone in new:
        kept = known.get((phone["number"], phone["owner"]), {})
        out.append({**phone, **{k: kept[k] for k in STATE_KEYS if kept.get(k)}})
    return out


def indexes_of(phones: list[dict], number: str | None = None, owner: str | None = None) -> list[int]:
    """Positions of the phones with this number (and/or owner)."""
    return [i for i, p in enumerate(phones)
            if (number is None or p["number"] == number) and (owner is None or p["owner"] == owner)]


def sms_recipient(phones: list[dict]) -> dict | None:
    """Who gets an SMS meant for the client: the client's own active mobile number (a verified one first),
    else the guarantor's; None when neither has one. Landlines and dead numbers are never sent an SMS."""
    for owner in ("client", "guarantor"):
        usable = [p for p in phones if p["owner"] == owner and not p.get("inactive_at") and _mobile(p["number"])]
        if usable:
            return sorted(usable, key=lambda p: not p.get("verified_at"))[0]
    return None


def _mobile(number: str) -> bool:
    import phonenumbers

    try:
        return is_mobile(number)
    except phonenumbers.NumberParseException:
        return False
