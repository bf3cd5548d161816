"""Who is reminded, and what the SMS says (chalicelib/domain/reminders.py, chalicelib/domain/verification.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain import compliance as rules
from chalicelib.domain.notices import MAX_SMS_CHARS, gsm7_length
from chalicelib.domain.reminders import client_text, guarantor_text, reminder_window, tanggal, window_key
from chalicelib.domain.verification import Challenge, masked, new_code, sms_text

WIB = ZoneInfo("Asia/Jakarta")
SCHEDULE = rules.Schedule(start=date(2027, 1, 4), end=date(2027, 6, 30), interval_days=7, tz="Asia/Jakarta")


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=WIB)


def window(as_of: datetime, contacts=(), days: int = 2):
    state = rules.evaluate(SCHEDULE, contacts, as_of).state
    return reminder_window(SCHEDULE, list(contacts), state, as_of, days)


def test_reminded_only_when_the_owed_window_closes_within_the_days_before():
    # Window 0 is Jan 4-10 (closes Jan 11 00:00 WIB).
    assert window(at(date(2027, 1, 7))) is None  # closes in 3 days 15 hours
    w = window(at(date(2027, 1, 9)))  # closes in 1 day 15 hours
    assert w is not None and window_key(w) == "2027-01-04" and w.last_day == date(2027, 1, 10)
    assert window(at(date(2027, 1, 8)), days=3) is not None  # a Bapas that reminds 3 days ahead
    # Met, or excused, in this window: nothing is owed.
    for kind in (rules.ContactKind.COUNTED, rules.ContactKind.EXCUSED):
        assert window(at(date(2027, 1, 9)), [rules.Contact(at(date(2027, 1, 5)), kind)]) is None
    # A failed attempt or a contact of the previous window does not settle it; one after as_of is not known.
    attempt = rules.Contact(at(date(2027, 1, 5)), rules.ContactKind.ATTEMPT)
    assert window(at(date(2027, 1, 9)), [attempt]) is not None
    later = rules.Contact(at(date(2027, 1, 9), 15), rules.ContactKind.COUNTED)
    assert window(at(date(2027, 1, 9)), [later]) is not None


def test_never_before_the_period_after_it_or_in_an_unreachable_episode():
    assert window(at(date(2027, 1, 2))) is None  # before the supervision starts (no window yet)
    assert window(at(date(2027, 7, 2))) is None  # ended
    dead = rules.Contact(at(date(2027, 1, 12)), rules.ContactKind.INACTIVE)
    assert window(at(date(2027, 1, 16)), [dead]) is None  # unreachable: the ladder contacts the guarantor


def test_the_texts_are_polite_short_and_never_name_the_offence():
    text = client_text("Budi Santoso", date(2027, 1, 10), "Bapas Kelas I Jakarta Selatan", "Andi Pratama",
                       "+6281100000002")
    assert text.startswith("Yth. Bapak/Ibu Budi Santoso") and "hari Minggu, 10 Januari 2027" in text
    assert "Andi Pratama" in text and "081100000002" in text
    assert (gsm7_length(text) or 999) <= MAX_SMS_CHARS
    long_name = "Bapak Muhammad Abdurrahman Wahid Hasyim Asy'ari Al-Jakarti bin Sulaiman Ahmad Yusuf" * 2
    fitted = guarantor_text("Ibu Sri", long_name, date(2027, 1, 10), "Bapas Kelas I Jakarta Selatan",
                            "Andi Pratama", None)
    assert (gsm7_length(fitted) or 999) <= MAX_SMS_CHARS and fitted.startswith("Yth. Bapak/Ibu Ibu Sri")
    for t in (text, fitted):
        assert "pidana" not in t.lower() and "pasal" not in t.lower()
    assert tanggal(date(2026, 12, 4)) == "Jumat, 4 Desember 2026"


def test_a_verification_code_is_kept_only_as_a_salted_hash():
    code = new_code()
    assert len(code) == 6 and code.isdigit()
    now = at(date(2027, 1, 9))
    c = Challenge.issue("client-1", "+6281234567890", code, now)
    assert code not in repr(c.to_item()) and c.matches("client-1", code)
    assert not c.matches("client-1", f"{(int(code) + 1) % 10**6:06d}") and not c.matches("client-2", code)
    assert Challenge.from_item(c.to_item()) == c
    assert not c.expired(now + timedelta(minutes=9)) and c.expired(now + timedelta(minutes=10))
    assert c.too_soon_to_resend("+6281234567890", now + timedelta(seconds=30))
    assert not c.too_soon_to_resend("+6281234567890", now + timedelta(seconds=61))
    text = sms_text(code, "Bapas Kelas I Jakarta Selatan", "Andi Pratama")
    assert code in text and code not in masked(text, code) and "******" in masked(text, code)
    assert (gsm7_length(text) or 999) <= MAX_SMS_CHARS
