"""Indonesian phone numbers: any common written form in, E.164 (`+62…`) out."""

from __future__ import annotations

import phonenumbers


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
    number = phonenumbers.parse(e164, "ID")
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
