"""Violations (pelanggaran syarat umum): the missed windows that make the evidence, and the violation's timeline
as the coordinator sends it to the Kanwil (a CSV in Bahasa Indonesia).

Pure domain logic (standard library only). The record itself (its evidence snapshot, BAP date, TPP decision and
outcome) is stored by `services/violations.py`; this module only reads the plain dicts it stores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.compliance import Contact, ContactKind, Schedule, Window

OUTCOMES = ("supervision_continued", "warning", "revoked", "other")


def missed_windows(schedule: Schedule, contacts: Iterable[Contact], as_of: datetime) -> list[Window]:
    """Closed windows (closed at or before `as_of`) with no counted and no excused contact, oldest first; only
    missable ones (not opened before tracking began, not cut short by a cadence change: `compliance.Window`)."""
    known = [c for c in contacts if c.at <= as_of and c.kind in (ContactKind.COUNTED, ContactKind.EXCUSED)]
    out = []
    for window in schedule.windows():
        if window.closes_at > as_of:
            break
        if window.missable and not any(window.contains(c.at) for c in known):
            out.append(window)
    return out


# ----- the timeline -----------------------------------------------------------------------------------

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
REASONS = {"three_missed": "tiga kali berturut-turut tidak lapor diri",
           "number_inactive": "nomor telepon klien tidak aktif"}
ROLES = {"bhabinkamtibmas": "Bhabinkamtibmas", "officer": "PK", "coordinator": "Kasubsi Bimkemas",
         "village_office": "kantor desa/kelurahan", "guarantor": "penjamin", "polsek": "Polsek", "polres": "Polres"}
DELIVERY = {"sent": "terkirim", "failed": "gagal terkirim", "no_contact": "tidak ada nomor yang dapat dihubungi",
            "pending": "belum terkirim", "sending": "belum terkirim", "deferred": "ditunda"}
ANSWERS = {"found": "klien tinggal di sana dan terlihat", "not_found": "klien tidak ditemukan",
           "moved": "klien sudah pindah", "other": "jawaban lain"}
RESOLUTIONS = {"contact_restored": "kontak dengan klien pulih", "found_at_home": "klien ditemukan di rumah",
               "moved": "klien pindah alamat", "absconded": "klien melarikan diri",
               "violation_referred": "diteruskan sebagai pelanggaran", "other": "lainnya"}
LOCATION_CHECKS = {"ok": "lokasi sesuai alamat terdaftar", "far": "lokasi jauh dari alamat terdaftar",
                   "low_accuracy": "akurasi GPS rendah", "unknown": "lokasi alamat belum terdaftar"}
TPP_DECISIONS = {"continue": "pembimbingan dilanjutkan", "warning": "teguran",
                 "propose_revocation": "usul pencabutan", "other": "keputusan lain"}
OUTCOME_TEXTS = {"supervision_continued": "pembimbingan dilanjutkan", "warning": "klien diberi teguran",
                 "revoked": "program klien dicabut", "other": "hasil lain"}
CSV_HEADERS = ("Waktu", "Peristiwa", "Keterangan", "Oleh")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Event:
    at: datetime | date  # an instant, or a local date (windows, BAP, TPP session)
    what: str
    detail: str = ""
    by: str = ""

    @property
    def sort_key(self) -> str:
        if isinstance(self.at, datetime):
            return self.at.astimezone(UTC).isoformat()
        return self.at.isoformat() + "T00:00:00+00:00"


def day_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _when(at: datetime | date, tz: str) -> str:
    if isinstance(at, datetime):
        local = at.astimezone(ZoneInfo(tz))
        return f"{day_text(local.date())} {local:%H.%M} {ZONE_NAMES.get(tz, tz)}"
    return day_text(at)


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _code(table: dict[str, str], value: str | None) -> str:
    """A code in words; free text (a resolution written before the codes existed) as it is."""
    return table.get(value or "", value or "")


def timeline(violation: dict[str, Any]) -> list[Event]:
    """Everything the violation's record holds, in order: the missed windows, the escalation with its notifications
    and the village's answers, the home visits, then the violation, the BAP, the TPP session and the outcome."""
    evidence = violation.get("evidence") or {}
    events: list[Event] = []
    for w in evidence.get("missed_windows") or []:
        first, last = date.fromisoformat(w["first_day"]), date.fromisoformat(w["last_day"])
        events.append(Event(last, "Tidak lapor diri", f"periode {day_text(first)} s.d. {day_text(last)} terlewat"))
    escalation = evidence.get("escalation")
    if escalation:
        ref = f" (ref. {escalation['reference']})" if escalation.get("reference") else ""
        events.append(Event(_instant(escalation["opened_at"]), "Eskalasi dibuka",  # type: ignore[arg-type]
                            _code(REASONS, escalation.get("reason")).capitalize() + ref, "sistem"))
        for n in escalation.get("notifications") or []:
            at = _instant(n.get("updated_at")) or _instant(escalation["opened_at"])
            events.append(Event(at, f"Pemberitahuan kepada {_code(ROLES, n.get('recipient_role'))}",  # type: ignore
                                _code(DELIVERY, n.get("status")), "sistem"))
        for r in escalation.get("responses") or []:
            detail = _code(ANSWERS, r.get("answer"))
            if r.get("notes"):
                detail += f": {r['notes']}"
            events.append(Event(_instant(r["at"]), f"Jawaban dari {_code(ROLES, r.get('recipient_role'))}",  # type: ignore
                                detail))
        if escalation.get("resolved_at"):
            detail = _code(RESOLUTIONS, escalation.get("resolution"))
            events.append(Event(_instant(escalation["resolved_at"]), "Eskalasi diselesaikan",  # type: ignore[arg-type]
                                detail.capitalize(), escalation.get("resolved_by") or ""))
    for v in evidence.get("visits") or []:
        parts = ["klien ada di rumah" if v.get("client_present") else "klien tidak ada di rumah",
                 _code(LOCATION_CHECKS, v.get("location_check"))]
        if v.get("distance_m") is not None:
            parts[-1] += f" ({round(v['distance_m'])} m)"
        if v.get("photos"):
            parts.append(f"{len(v['photos'])} foto")
        events.append(Event(_instant(v["visited_at"]), "Kunjungan rumah", "; ".join(parts),  # type: ignore[arg-type]
                            v.get("recorded_by") or ""))
    # The evidence is what was known when the violation was recorded: it comes first, in time order. Then the
    # violation's own steps in the order they happen (the BAP and the TPP session by date, the BAP first on a tie).
    events.sort(key=lambda e: e.sort_key)
    events.append(Event(_instant(violation["reported_at"]), "Pelanggaran dicatat",  # type: ignore[arg-type]
                        violation.get("summary") or "", violation.get("recorded_by") or ""))
    steps = []
    if violation.get("bap_date"):
        steps.append(Event(date.fromisoformat(violation["bap_date"]), "Berita acara pemeriksaan (BAP)", ""))
    tpp = violation.get("tpp_session")
    if tpp:
        detail = _code(TPP_DECISIONS, tpp.get("decision"))
        if tpp.get("notes"):
            detail += f": {tpp['notes']}"
        steps.append(Event(date.fromisoformat(tpp["date"]), "Sidang TPP", detail))
    events += sorted(steps, key=lambda e: e.sort_key)  # stable: the BAP stays first on the same date
    if violation.get("outcome"):
        detail = _code(OUTCOME_TEXTS, violation["outcome"])
        if violation.get("outcome_notes"):
            detail += f": {violation['outcome_notes']}"
        events.append(Event(_instant(violation.get("closed_at")) or _instant(violation["reported_at"]),  # type: ignore
                            "Hasil akhir", detail, violation.get("closed_by") or ""))
    return events


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (=, +, -, @, tab, CR) gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def timeline_csv(events: list[Event], tz: str) -> str:
    """UTF-8 with a BOM (so spreadsheets read it as UTF-8), CRLF lines, Indonesian headers."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for e in events:
        writer.writerow([safe_cell(v) for v in (_when(e.at, tz), e.what, e.detail, e.by)])
    return "\ufeff" + buf.getvalue()
