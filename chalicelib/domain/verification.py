"""Phone verification at intake: a short code sent by SMS to a client's (or guarantor's) number, read back to the PK.

Pure domain logic (standard library only). The code is 6 digits, valid for `CODE_TTL`; at most `MAX_ATTEMPTS`
wrong codes are accepted before a new code must be asked for; a new code for the same number is sent at most
every `RESEND_AFTER`. Only a salted hash of the code is stored (`Challenge`), never the code: it is in the SMS
the holder receives and nowhere else (not in logs, not in the API's answers, not in the stored message text).

One challenge per client at a time (the number being verified); asking for a code for another number replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.notices import to_gsm7

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def _digest(salt: str, client_id: str, number: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), f"{client_id}|{number}|{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Challenge:
    number: str
    salt: str  # hex, 16 random bytes
    code_hash: str
    sent_at: datetime
    expires_at: datetime
    attempts: int = 0

    @classmethod
    def issue(cls, client_id: str, number: str, code: str, now: datetime) -> Challenge:
        salt = secrets.token_hex(16)
        return cls(number, salt, _digest(salt, client_id, number, code), now, now + CODE_TTL)

    def matches(self, client_id: str, code: str) -> bool:
        return hmac.compare_digest(self.code_hash, _digest(self.salt, client_id, self.number, code))

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def exhausted(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    def too_soon_to_resend(self, number: str, now: datetime) -> bool:
        return number == self.number and now < self.sent_at + RESEND_AFTER

    def to_item(self) -> dict[str, Any]:
        return {"number": self.number, "salt": self.salt, "code_hash": self.code_hash,
                "sent_at": self.sent_at.isoformat(), "expires_at": self.expires_at.isoformat(),
                "attempts": self.attempts}

    @classmethod
    def from_item(cls, data: dict[str, Any]) -> Challenge:
        return cls(str(data["number"]), str(data["salt"]), str(data["code_hash"]),
                   datetime.fromisoformat(data["sent_at"]), datetime.fromisoformat(data["expires_at"]),
                   int(data.get("attempts") or 0))


def sms_text(code: str, bapas_name: str, officer_name: str | None) -> str:
    """The SMS with the code: polite, says who asks and why, and that the code goes only to the PK."""
    pk = f", {officer_name}," if officer_name else ""
    return to_gsm7(
        f"Kode verifikasi nomor Anda dari {bapas_name}: {code}. Mohon sampaikan kode ini hanya kepada petugas "
        f"PK{pk} yang sedang mencatat nomor Anda. Kode berlaku {int(CODE_TTL.total_seconds() // 60)} menit. "
        "Terima kasih.")


def masked(text: str, code: str) -> str:
    """The text as stored and listed: the code replaced by asterisks (it lives only in the SMS)."""
    return text.replace(code, "*" * len(code))
