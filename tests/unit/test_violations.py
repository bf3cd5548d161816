"""The violation domain: missed windows for the evidence, the timeline in order, a formula-safe CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from chalicelib.domain.compliance import Contact, ContactKind, Schedule
from chalicelib.domain.violations import missed_windows, safe_cell, timeline, timeline_csv


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_missed_windows_are_the_closed_ones_without_a_counted_or_excused_contact():
    schedule = Schedule(date(2026, 10, 1), date(2026, 12, 31), 7, "Asia/Jakarta")
    contacts = [Contact(_at("2026-10-02T10:00:00+07:00"), ContactKind.COUNTED),
                Contact(_at("2026-10-16T10:00:00+07:00"), ContactKind.EXCUSED),
                Contact(_at("2026-10-23T10:00:00+07:00"), ContactKind.ATTEMPT),
                Contact(_at("2026-11-05T10:00:00+07:00"), ContactKind.COUNTED)]  # after as_of: not known
    missed = missed_windows(schedule, contacts, _at("2026-11-04T23:59:00+07:00"))
    assert [(w.first_day, w.last_day) for w in missed] == [
        (date(2026, 10, 8), date(2026, 10, 14)), (date(2026, 10, 22), date(2026, 10, 28))]  # 10-29.. still open
    closed = missed_windows(schedule, contacts, _at("2026-11-05T00:00:00+07:00"))
    assert closed[-1].first_day == date(2026, 10, 29) and len(closed) == 3
    # Windows before Pantau tracked the client are never missed.
    tracked = Schedule(date(2026, 10, 1), date(2026, 12, 31), 7, "Asia/Jakarta", tracking_from=date(2026, 10, 22))
    assert [w.first_day for w in missed_windows(tracked, contacts, _at("2026-11-05T00:00:00+07:00"))] == [
        date(2026, 10, 22), date(2026, 10, 29)]


def _violation(**over):
    v = {"id": "v1", "reported_at": "2026-11-03T03:00:00+00:00", "summary": "Tiga kali tidak lapor diri.",
         "recorded_by": "kasubsi.jaksel", "bap_date": "2026-11-04",
         "tpp_session": {"date": "2026-11-10", "decision": "propose_revocation", "notes": None},
         "outcome": "revoked", "outcome_notes": None, "closed_at": "2026-11-12T02:00:00+00:00",
         "closed_by": "kasubsi.jaksel",
         "evidence": {
             "missed_windows": [{"first_day": "2026-10-08", "last_day": "2026-10-14"}],
             "escalation": {"id": "e1", "reference": "ESK-1", "reason": "three_missed",
                            "opened_at": "2026-10-30T18:00:00+00:00", "resolution": "violation_referred",
                            "resolved_at": "2026-11-03T02:00:00+00:00", "resolved_by": "kasubsi.jaksel",
                            "notifications": [{"recipient_role": "bhabinkamtibmas", "channel": "sms",
                                               "status": "sent", "updated_at": "2026-10-31T01:00:00+00:00"}],
                            "responses": [{"recipient_role": "bhabinkamtibmas", "answer": "not_found",
                                           "notes": "=HYPERLINK(\"http://x\")", "at": "2026-11-01T04:00:00+00:00"}]},
             "visits": [{"id": "x", "visited_at": "2026-11-02T03:00:00+00:00", "client_present": False,
                         "distance_m": 40.2, "location_check": "ok", "photos": ["photos/a.jpg"],
                         "photo_flags": [], "recorded_by": "pk.andi"}]}}
    v.update(over)
    return v


def test_the_timeline_is_in_order_and_in_bahasa_indonesia():
    events = timeline(_violation())
    assert [e.what for e in events] == [
        "Tidak lapor diri", "Eskalasi dibuka", "Pemberitahuan kepada Bhabinkamtibmas", "Jawaban dari Bhabinkamtibmas",
        "Kunjungan rumah", "Eskalasi diselesaikan", "Pelanggaran dicatat", "Berita acara pemeriksaan (BAP)",
        "Sidang TPP", "Hasil akhir"]
    text = timeline_csv(events, "Asia/Jakarta")
    assert text.startswith("\ufeffWaktu,Peristiwa,Keterangan,Oleh\r\n")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["14 Oktober 2026", "Tidak lapor diri", "periode 8 Oktober 2026 s.d. 14 Oktober 2026 terlewat",
                       ""]
    assert rows[2][0] == "31 Oktober 2026 01.00 WIB" and rows[2][2].startswith("Tiga kali berturut-turut")
    assert rows[4][2] == "klien tidak ditemukan: =HYPERLINK(\"http://x\")"  # not at a cell's start: harmless
    assert rows[5][2] == "klien tidak ada di rumah; lokasi sesuai alamat terdaftar (40 m); 1 foto"
    assert rows[9] == ["10 November 2026", "Sidang TPP", "usul pencabutan", ""]
    assert rows[10][2] == "program klien dicabut"


def test_cells_that_would_be_formulas_start_with_an_apostrophe():
    for dangerous in ("=1+1", "+62812", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("Klien 1") == "Klien 1" and safe_cell(None) == ""
    text = timeline_csv(timeline(_violation(summary="=cmd|' /C calc'!A0", outcome=None, tpp_session=None,
                                            bap_date=None)), "Asia/Makassar")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[-1][1:] == ["Pelanggaran dicatat", "'=cmd|' /C calc'!A0", "kasubsi.jaksel"]
    assert rows[-1][0].endswith("WITA")
