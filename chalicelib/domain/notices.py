"""Escalation notices: the SMS and topic texts, in Bahasa Indonesia, short enough for two SMS segments.

Pure domain logic (standard library only). A notice says who to look for, the village, the PK to call and
a reference, and nothing about the offence. Text is folded to the GSM 03.38 alphabet (accents dropped,
anything else replaced) so a message is never sent as UCS-2, where two segments hold only 134 characters;
variable parts are shortened until the whole message fits in `MAX_SMS_CHARS` GSM-7 septets.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

# Two concatenated GSM-7 segments carry 153 septets each (the rest of 160 is the concatenation header).
MAX_SMS_CHARS = 2 * 153

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # two septets each (escape + character)

REASON_TEXT = {
    "three_missed": "3 periode wajib lapor berturut-turut terlewat",
    "number_inactive": "nomor telepon tidak aktif",
}


def gsm7_length(text: str) -> int | None:
    """Septets `text` takes in the GSM 03.38 alphabet; None if it cannot be sent as GSM-7."""
    total = 0
    for ch in text:
        if ch in _GSM_BASIC:
            total += 1
        elif ch in _GSM_EXTENDED:
            total += 2
        else:
            return None
    return total


def to_gsm7(text: str) -> str:
    """`text` on one line in plain GSM-7: accents folded (é stays, ā -> a), other characters dropped."""
    out = []
    for ch in " ".join((text or "").split()):
        if ch in _GSM_BASIC and ch not in "\n\r\x1b":
            out.append(ch)
            continue
        folded = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append("".join(c for c in folded if c in _GSM_BASIC and c not in "\n\r\x1b"))
    return " ".join("".join(out).split())


def local_phone(e164: str | None) -> str:
    """`+6281234567890` -> `081234567890`, the form people in Indonesia dial; anything else unchanged."""
    if not e164:
        return "-"
    return "0" + e164[3:] if e164.startswith("+62") else e164


def short_ref(escalation_id: str) -> str:
    """A reference short enough to read out on the phone: `ESK-1A2B3C4D`."""
    return "ESK-" + escalation_id.replace("-", "")[:8].upper()


@dataclass(frozen=True)
class NoticeFacts:
    escalation_id: str
    client_name: str
    village_name: str
    officer_name: str
    officer_phone: str | None
    bhabin_name: str | None
    bhabin_phone: str | None
    reason: str
    task_due: date


def _fit(template: str, parts: dict[str, str], limit: int = MAX_SMS_CHARS) -> str:
    """`template` formatted with `parts` folded to GSM-7; if too long, every part is cut to one common
    length (the largest that fits), so long names share the room and short ones (phones, the reference)
    stay whole."""
    values = {k: to_gsm7(v) or "-" for k, v in parts.items()}

    def render(cap: int) -> str:
        return template.format(**{k: v if len(v) <= cap else v[:cap].rstrip() for k, v in values.items()})

    def fits(text: str) -> bool:
        length = gsm7_length(text)
        assert length is not None, "templates are written in GSM-7"
        return length <= limit

    longest = max(len(v) for v in values.values())
    if fits(render(longest)):
        return render(longest)
    low, high = 1, longest - 1
    if not fits(render(low)):  # pragma: no cover - templates are far shorter than the limit
        raise ValueError("the template alone does not fit in the SMS limit")
    while low < high:
        mid = (low + high + 1) // 2
        if fits(render(mid)):
            low = mid
        else:
            high = mid - 1
    return render(low)


def bhabinkamtibmas_sms(f: NoticeFacts) -> str:
    return _fit(
        "PANTAU Bapas: Mohon bantuan mencari klien pemasyarakatan {client}, warga {village}, yang tidak dapat "
        "dihubungi petugas. Hubungi PK {officer} {phone}. Ref {ref}",
        {"client": f.client_name, "village": f.village_name, "officer": f.officer_name,
         "phone": local_phone(f.officer_phone), "ref": short_ref(f.escalation_id)},
    )


def officer_sms(f: NoticeFacts) -> str:
    if f.bhabin_phone:
        helper = "Bhabinkamtibmas desa: {bhabin} {bphone}."
    else:
        helper = "Bhabinkamtibmas desa belum terdaftar, koordinasikan dengan Kasubsi."
    return _fit(
        "PANTAU: Klien {client} ({village}) tidak dapat dihubungi. " + helper +
        " Lakukan kunjungan rumah paling lambat {due}. Ref {ref}",
        {"client": f.client_name, "village": f.village_name, "bhabin": f.bhabin_name or "-",
         "bphone": local_phone(f.bhabin_phone), "due": f.task_due.strftime("%d-%m-%Y"),
         "ref": short_ref(f.escalation_id)},
    )


def coordinator_subject(f: NoticeFacts) -> str:
    return f"PANTAU: eskalasi {short_ref(f.escalation_id)}"


def coordinator_message(f: NoticeFacts, client_id: str, bhabin_status: str) -> str:
    """For the coordinators' topic (e-mail or SMS subscribers): ids, not the client's name."""
    return _fit(
        "PANTAU: Eskalasi {ref} ({reason}). Klien {client_id} di {village}, PK {officer}. "
        "Notifikasi Bhabinkamtibmas: {status}. Kunjungan rumah paling lambat {due}.",
        {"ref": short_ref(f.escalation_id), "reason": REASON_TEXT.get(f.reason, f.reason), "client_id": client_id,
         "village": f.village_name, "officer": f.officer_name, "status": bhabin_status,
         "due": f.task_due.strftime("%d-%m-%Y")},
    )
