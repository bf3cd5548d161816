"""Escalation notices: the SMS and topic texts, in Bahasa Indonesia, short enough for two SMS segments (three
when the text carries the reply link).

Pure domain logic (standard library only). Each text is written as a Bapas officer would write it to that
recipient: a greeting ("Yth. Bapak/Ibu ..."), the Bapas's full name, what is asked and why ("memastikan
keberadaan", never "mencari"), the village as "Kelurahan ..." or "Desa ..." (from the Kemendagri code) with
RT/RW when the address has them, the PK's name and phone, a short reference and, for the village and the
police, the reply link (`reply_url`, optional). Never the offence.

Text is folded to the GSM 03.38 alphabet (accents dropped, anything else replaced) so a message is never sent
as UCS-2, where two segments hold only 134 characters; names are shortened (never the phone numbers, the
reference, the date or the link) until the whole message fits in `MAX_SMS_CHARS` GSM-7 septets, or
`MAX_LINKED_SMS_CHARS` when it carries the reply link: a deployed link (`https://<api>.execute-api...`/r/<token>`)
takes 80 characters, and in two segments it would cost the client's name, which the police and the village
need to know whom they are asked about. The third segment is the price of a full name (docs/cost.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Two concatenated GSM-7 segments carry 153 septets each (the rest of 160 is the concatenation header).
MAX_SMS_CHARS = 2 * 153
# Texts with the reply link: three segments, so the link never costs the client's or the village's name.
MAX_LINKED_SMS_CHARS = 3 * 153

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # two septets each (escape + character)

REASON_TEXT = {
    "three_missed": "3 periode wajib lapor berturut-turut terlewat",
    "number_inactive": "nomor telepon tidak aktif",
}
ROLE_TEXT = {
    "bhabinkamtibmas": "Bhabinkamtibmas", "polsek": "Polsek", "polres": "Polres", "village_office": "kantor desa",
    "guarantor": "penjamin", "officer": "PK", "coordinator": "Kasubsi",
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


def sms_segments(text: str) -> tuple[str, int]:
    """How an SMS goes out: (`"GSM-7"` or `"UCS-2"`, number of segments).

    GSM-7: 160 septets in one segment, else 153 a segment; UCS-2: 70 UTF-16 units in one, else 67 a segment.
    """
    septets = gsm7_length(text)
    if septets is not None:
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


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
    """What a notice may say. Names and phones are as stored (E.164); the offence is not here on purpose."""

    escalation_id: str
    reason: str  # three_missed | number_inactive
    bapas_name: str
    client_name: str
    village_code: str
    village_name: str
    officer_name: str
    officer_phone: str | None
    task_due: date
    rt_rw: str | None = None  # "RT 003/RW 005" when the address has them
    police_role: str | None = None  # bhabinkamtibmas | polsek | polres: whom the ladder reached
    police_name: str | None = None
    police_phone: str | None = None
    guarantor_name: str | None = None
    guarantor_phone: str | None = None


_RT_RW = re.compile(r"\bRT\.?\s*:?\s*0*(\d{1,3})\s*(?:/|,|\s)\s*RW\.?\s*:?\s*0*(\d{1,3})\b", re.IGNORECASE)


def rt_rw_of(address_text: str | None) -> str | None:
    """`"Jl. Melati No. 5 RT 3/RW 5"` -> `"RT 003/RW 005"`; None when the address does not say."""
    found = _RT_RW.search(address_text or "")
    if not found:
        return None
    return f"RT {int(found.group(1)):03d}/RW {int(found.group(2)):03d}"


def village_label(village_code: str, village_name: str) -> str:
    """`Kelurahan Jagakarsa` (code 31.74.09.1xxx) or `Desa Sukamaju` (…2xxx), from the Kemendagri code."""
    digits = (village_code or "").replace(".", "")
    kind = {"1": "Kelurahan", "2": "Desa"}.get(digits[6:7], "Kelurahan/Desa")
    name = " ".join((village_name or "").split())
    for prefix in ("Kelurahan ", "Desa "):
        if name.lower().startswith(prefix.lower()):
            name = name[len(prefix):]
    return f"{kind} {name}"


def _rtrw(f: NoticeFacts) -> str:
    return " " + f.rt_rw if f.rt_rw and gsm7_length(f.rt_rw) == len(f.rt_rw) else ""


# Parts that are never shortened: numbers, references, dates and links must stay exact.
_WHOLE = {"phone", "pphone", "gphone", "ref", "due", "link", "status"}


# When a text is too long, words are dropped from the end of these parts first, in this order (each keeps its
# first word); only then are all names cut to one common length.
# A greeting keeps two words ("Bripka Joko"), a village its kind and first name word; RT/RW goes as a whole.
_SHORTEN_FIRST = ("name", "gname", "pname", "officer", "rtrw", "village", "place", "client", "bapas")
_KEEP_WORDS = {"name": 2, "gname": 2, "pname": 2, "rtrw": 0, "place": 2, "village": 2}


def _fit(template: str, parts: dict[str, str], limit: int = MAX_SMS_CHARS) -> str:
    """`template` formatted with `parts` folded to GSM-7, within `limit` septets. If too long: words are dropped
    from the parts in `_SHORTEN_FIRST` order, then every part is cut to one common length (the largest that
    fits); the parts in `_WHOLE` (numbers, the reference, dates, the link) are never cut."""
    if parts.get("link") and limit == MAX_SMS_CHARS:
        limit = MAX_LINKED_SMS_CHARS
    values = {k: (to_gsm7(v) or "-") if k not in ("link", "rtrw") else v for k, v in parts.items()}

    def fits(text: str) -> bool:
        length = gsm7_length(text)
        assert length is not None, "templates are written in GSM-7"
        return length <= limit

    text = template.format(**values)
    while not fits(text):
        for key in _SHORTEN_FIRST:
            words = values.get(key, "").split()
            if len(words) > _KEEP_WORDS.get(key, 1):
                values[key] = " ".join(words[:-1] if key != "rtrw" else [])
                break
        else:
            break
        text = template.format(**values)
    if fits(text):
        return text

    def render(cap: int) -> str:
        return template.format(**{k: v if k in _WHOLE or len(v) <= cap else v[:cap].rstrip()
                                  for k, v in values.items()})

    low, high = 1, max(len(v) for v in values.values())
    if not fits(render(low)):  # pragma: no cover - templates are far shorter than the limit
        raise ValueError("the template alone does not fit in the SMS limit")
    while low < high:
        mid = (low + high + 1) // 2
        if fits(render(mid)):
            low = mid
        else:
            high = mid - 1
    return render(low)


def _link(reply_url: str | None) -> str:
    """The reply link, GSM-7 safe (a URL of letters, digits and `-._~:/`), or nothing."""
    if not reply_url:
        return ""
    if gsm7_length(reply_url) != len(reply_url) or any(ch.isspace() for ch in reply_url):
        raise ValueError("reply_url must be a plain ASCII URL")
    return " Jawab di " + reply_url


def _common(f: NoticeFacts, recipient_name: str | None) -> dict[str, str]:
    return {"name": recipient_name or "", "bapas": f.bapas_name, "client": f.client_name,
            "place": village_label(f.village_code, f.village_name), "rtrw": _rtrw(f),
            "officer": f.officer_name, "phone": local_phone(f.officer_phone), "ref": short_ref(f.escalation_id)}


def _greeting(recipient_name: str | None) -> str:
    return "Yth. Bapak/Ibu {name}," if recipient_name else "Yth. Bapak/Ibu,"


def police_sms(f: NoticeFacts, recipient_name: str | None, reply_url: str | None = None) -> str:
    """To the Bhabinkamtibmas (or the Polsek/Polres contact): only ever for three missed windows."""
    if f.reason != "three_missed":
        raise ValueError("the police are contacted only after three missed windows")
    return _fit(
        _greeting(recipient_name) + " {bapas} mohon bantuan memastikan keberadaan klien kami, Sdr. {client}, "
        "warga {place}{rtrw}, yang 3 kali berturut-turut tidak melapor. Mohon kabari PK {officer} {phone}. "
        "Ref {ref}.{link}",
        {**_common(f, recipient_name), "link": _link(reply_url)},
    )


def village_office_sms(f: NoticeFacts, recipient_name: str | None, reply_url: str | None = None) -> str:
    if f.reason == "three_missed":
        template = (" {bapas} mohon bantuan memastikan keberadaan klien kami, Sdr. {client}, warga {place}{rtrw}, "
                    "yang 3 kali berturut-turut tidak melapor. Mohon kabari PK {officer} {phone}. Ref {ref}.{link}")
    else:
        template = (" {bapas} mohon bantuan memastikan domisili Sdr. {client}, warga {place}{rtrw}, dan nomor HP-nya "
                    "yang aktif, karena nomor yang kami miliki tidak aktif. Mohon kabari PK {officer} {phone}. "
                    "Ref {ref}.{link}")
    return _fit(_greeting(recipient_name) + template, {**_common(f, recipient_name), "link": _link(reply_url)})


def guarantor_sms(f: NoticeFacts, recipient_name: str | None) -> str:
    """To the guarantor when the client's number is dead: ask the client to call the PK; nothing else."""
    return _fit(
        _greeting(recipient_name) + " kami dari {bapas}. Nomor HP Sdr. {client} tidak dapat kami hubungi. "
        "Mohon sampaikan agar Sdr. {client} segera menghubungi PK {officer} di {phone}. Ref {ref}. Terima kasih.",
        _common(f, recipient_name),
    )


def officer_sms(f: NoticeFacts) -> str:
    """To the PK (inside the Bapas): what happened, whom the system asked, what to do by when."""
    parts = {**_common(f, None), "due": f.task_due.strftime("%d-%m-%Y")}
    if f.reason == "three_missed":
        if f.police_phone:
            helper = ROLE_TEXT.get(f.police_role or "", "Polisi") + ": {pname} {pphone}."
            parts |= {"pname": f.police_name or "", "pphone": local_phone(f.police_phone)}
        else:
            helper = "Kontak polisi wilayah belum terdaftar, mohon koordinasi dengan Kasubsi."
        template = ("PANTAU {ref}: Klien {client} ({place}{rtrw}) 3 kali berturut-turut tidak melapor. " + helper +
                    " Mohon kunjungan rumah paling lambat {due}.")
    else:
        if f.guarantor_phone:
            helper = "melalui penjamin {gname} {gphone} dan kantor {place}"
            parts |= {"gname": f.guarantor_name or "", "gphone": local_phone(f.guarantor_phone)}
        else:
            helper = "melalui kantor {place} (penjamin tanpa nomor HP)"
        template = ("PANTAU {ref}: Nomor HP klien {client} ({place}{rtrw}) tidak aktif. Mohon verifikasi nomornya " +
                    helper + ", paling lambat {due}.")
    return _fit(template, parts)


def compose(role: str, f: NoticeFacts, recipient_name: str | None, reply_url: str | None = None) -> str:
    """The SMS for a recipient role of the escalation ladder (`reply_url`: the village's reply link)."""
    if role in ("bhabinkamtibmas", "polsek", "polres"):
        return police_sms(f, recipient_name, reply_url)
    if role == "village_office":
        return village_office_sms(f, recipient_name, reply_url)
    if role == "guarantor":
        return guarantor_sms(f, recipient_name)
    if role == "officer":
        return officer_sms(f)
    raise ValueError(f"no SMS text for recipient role {role!r}")


def coordinator_subject(f: NoticeFacts) -> str:
    return f"PANTAU: eskalasi {short_ref(f.escalation_id)}"


def coordinator_message(f: NoticeFacts, client_id: str, statuses: dict[str, str]) -> str:
    """For the coordinators' topic (e-mail or SMS subscribers): ids, not the client's name."""
    told = ", ".join(f"{ROLE_TEXT.get(role, role)} {_STATUS_TEXT.get(status, status)}"
                     for role, status in statuses.items()) or "-"
    return _fit(
        "PANTAU: Eskalasi {ref} ({reason}). Klien {client_id} di {village}, PK {officer}. "
        "Pemberitahuan: {status}. Kunjungan rumah paling lambat {due}.",
        {"ref": short_ref(f.escalation_id), "reason": REASON_TEXT.get(f.reason, f.reason), "client_id": client_id,
         "village": village_label(f.village_code, f.village_name), "officer": f.officer_name, "status": told,
         "due": f.task_due.strftime("%d-%m-%Y")},
    )


_STATUS_TEXT = {"sent": "terkirim", "failed": "gagal", "no_contact": "tanpa kontak", "pending": "menunggu",
                "sending": "menunggu", "deferred": "ditunda ke pagi", "cancelled": "dibatalkan"}
