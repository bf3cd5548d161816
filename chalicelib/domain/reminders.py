"""Reminders before a window is missed: who gets one, and what it says.

Pure domain logic (standard library only).

Who
    A client whose current check-in window has no counted (or excused) contact yet and closes within
    `days_before` days of the run (`reminder_days_before`, a Bapas setting, default 2): `as_of < closes_at <=
    as_of + days_before`. Not a client in an unreachable episode (the escalation ladder is already contacting
    the guarantor and the village), not a client whose supervision has not started or has ended, not a client
    whose reminders a coordinator switched off. One reminder per window: the window is named by its first local
    date (`window_key`), which no later change of cadence renames.

To whom
    The client's own active mobile number, else the guarantor's (`phones.sms_recipient`); nobody when neither
    has one (a landline is never sent an SMS).

What
    A short, polite SMS in Bahasa Indonesia that names the Bapas, the PK and their phone, and the last day to
    report. Never the offence, nothing about the supervision beyond "wajib lapor".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from chalicelib.domain import compliance as rules
from chalicelib.domain.notices import MAX_SMS_CHARS, gsm7_length, local_phone, to_gsm7

DEFAULT_DAYS_BEFORE = 2
MAX_DAYS_BEFORE = 7  # the Bapas setting's largest value: how far ahead the run reads the due index
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember")


def reminder_window(schedule: rules.Schedule, contacts: Iterable[rules.Contact], state: rules.State,
                    as_of: datetime, days_before: int) -> rules.Window | None:
    """The current window when it is still owed at `as_of` and closes within `days_before` days; else None."""
    if state in (rules.State.UNREACHABLE, rules.State.ENDED):
        return None
    window = schedule.window_at(as_of)
    if window is None or not as_of < window.closes_at <= as_of + timedelta(days=days_before):
        return None
    settled = (rules.ContactKind.COUNTED, rules.ContactKind.EXCUSED)
    if any(c.kind in settled and c.at <= as_of and window.contains(c.at) for c in contacts):
        return None
    return window


def window_key(window: rules.Window) -> str:
    """The window's name for the once-per-window rule: its first local date."""
    return window.first_day.isoformat()


def tanggal(day: date) -> str:
    """`Jumat, 4 Desember 2026`."""
    return f"{_DAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _fit(text_of, name: str) -> str:
    """The text with `name` shortened until it fits two GSM-7 segments."""
    while True:
        text = to_gsm7(text_of(name))
        if (gsm7_length(text) or 0) <= MAX_SMS_CHARS or len(name) <= 3:
            return text
        name = name[: max(3, len(name) - 8)].rstrip() + "."


def client_text(client_name: str, last_day: date, bapas_name: str, officer_name: str, officer_phone: str | None) -> str:
    phone = f" di {local_phone(officer_phone)}" if officer_phone else ""
    return _fit(lambda name: (
        f"Yth. Bapak/Ibu {name}, kami dari {bapas_name} mengingatkan dengan hormat bahwa batas waktu wajib lapor "
        f"Anda untuk periode ini adalah hari {tanggal(last_day)}. Mohon hubungi PK Anda, {officer_name}{phone}, "
        "sebelum tanggal tersebut. Terima kasih."), client_name)


def guarantor_text(guarantor_name: str | None, client_name: str, last_day: date, bapas_name: str,
                   officer_name: str, officer_phone: str | None) -> str:
    phone = f" ({local_phone(officer_phone)})" if officer_phone else ""
    greeting = f"Yth. Bapak/Ibu {guarantor_name}" if guarantor_name else "Yth. Bapak/Ibu penjamin"
    return _fit(lambda name: (
        f"{greeting}, kami dari {bapas_name} mohon bantuan Bapak/Ibu untuk mengingatkan {name} agar wajib lapor "
        f"kepada PK {officer_name}{phone} paling lambat hari {tanggal(last_day)}. Terima kasih atas bantuannya."),
        client_name)
