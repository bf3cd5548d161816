"""The public reply page (`/r/{token}`): small HTML pages in Bahasa Indonesia for a cheap phone.

Pure domain logic (standard library only). Each page is one document with inline CSS and nothing fetched from
elsewhere: no script, no image, no font. The form is a plain HTML form (`application/x-www-form-urlencoded`,
posted to the page's own URL), so it works without JavaScript. Every value from the database or the request is
HTML-escaped here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from chalicelib.domain.followup import ANSWERS

ANSWER_LABELS = {
    "found": "Klien ada: tinggal di alamat ini dan sudah saya lihat",
    "not_found": "Klien tidak ditemukan di alamat ini",
    "moved": "Klien sudah pindah (tulis alamat barunya bila diketahui)",
    "other": "Lainnya (jelaskan pada keterangan)",
}
# How the page and the messages name the recipient the link was sent to.
RECIPIENT_LABELS = {
    "bhabinkamtibmas": "Bhabinkamtibmas",
    "village_office": "Kantor desa/kelurahan",
    "polsek": "Polsek",
    "polres": "Polres",
}
ZONE_LABELS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
MAX_NOTES = 1000

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f4f6f8}
header{background:#0b6e4f;color:#fff;padding:12px 16px}
header p{margin:0;font-size:14px}
header h1{margin:2px 0 0;font-size:19px;line-height:1.3}
main{padding:14px 16px 24px;max-width:560px;margin:0 auto}
.card{background:#fff;border:1px solid #d9dee5;border-radius:8px;padding:12px 14px;margin-bottom:14px}
dl{margin:0}dt{font-size:13px;color:#5b6878}dd{margin:0 0 8px;font-weight:600}
fieldset{border:0;margin:0;padding:0}
legend{font-weight:700;margin-bottom:6px}
label.opt{display:flex;gap:10px;align-items:flex-start;padding:10px;border:1px solid #d9dee5;border-radius:6px;
margin-bottom:8px;background:#fff}
label.opt input{margin-top:4px;width:20px;height:20px;flex:none}
textarea{width:100%;min-height:84px;font:inherit;padding:8px;border:1px solid #b8c0cb;border-radius:6px}
button{width:100%;font:inherit;font-weight:700;padding:12px;border:0;border-radius:6px;background:#0b6e4f;color:#fff}
.error{color:#b91c1c;font-weight:600}
.muted{color:#5b6878;font-size:14px}
.done{border-color:#0b6e4f;background:#e1f3ea}
a{color:#0b6e4f}
"""


@dataclass(frozen=True)
class PageFacts:
    """What the page shows: no more than the SMS already carried (the client's name, the village, the PK)."""

    bapas_name: str
    client_name: str
    village_name: str
    reference: str
    officer_name: str
    officer_phone: str
    recipient_role: str
    valid_until: datetime
    timezone: str
    previous: tuple[tuple[str, str | None, datetime], ...] = ()  # (answer, notes, at) of this link, oldest first


def local_time(t: datetime, tz: str) -> str:
    """`2 Desember 2026 pukul 14.30 WIB`: the form an Indonesian letter uses, with the zone's name."""
    local = t.astimezone(ZoneInfo(tz))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} pukul {local:%H.%M} {ZONE_LABELS.get(tz, tz)}"


def _document(title: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"robots\" content=\"noindex\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n")


def _header(bapas_name: str, title: str) -> str:
    return f"<header><p>{escape(bapas_name)}</p><h1>{escape(title)}</h1></header>"


def _facts_card(f: PageFacts) -> str:
    return ("<div class=\"card\"><dl>"
            f"<dt>Nama klien</dt><dd id=\"client\">{escape(f.client_name)}</dd>"
            f"<dt>Desa/kelurahan</dt><dd id=\"village\">{escape(f.village_name)}</dd>"
            f"<dt>PK (Pembimbing Kemasyarakatan)</dt><dd>{escape(f.officer_name)} · {escape(f.officer_phone)}</dd>"
            f"<dt>Nomor referensi</dt><dd>{escape(f.reference)}</dd>"
            "</dl></div>")


def _previous(f: PageFacts) -> str:
    if not f.previous:
        return ""
    answer, notes, at = f.previous[-1]
    extra = f"<br>Keterangan: {escape(notes)}" if notes else ""
    return ("<div class=\"card done\" id=\"previous\"><strong>Jawaban terakhir Anda</strong><br>"
            f"{escape(ANSWER_LABELS.get(answer, answer))} ({escape(local_time(at, f.timezone))}){extra}"
            f"<p class=\"muted\">Jawaban yang sudah dikirim: {len(f.previous)}. Anda boleh mengirim jawaban baru "
            "bila keadaannya berubah; semua jawaban tersimpan.</p></div>")


def form_page(f: PageFacts, error: str | None = None, answer: str | None = None, notes: str = "") -> str:
    """The question and the form (again with `error` and what was sent, when the form was not complete)."""
    who = RECIPIENT_LABELS.get(f.recipient_role, "Bapak/Ibu")
    options = "".join(
        f"<label class=\"opt\"><input type=\"radio\" name=\"answer\" value=\"{a}\" required"
        f"{' checked' if a == answer else ''}><span>{escape(ANSWER_LABELS[a])}</span></label>"
        for a in ANSWERS)
    error_html = f"<p class=\"error\" role=\"alert\">{escape(error)}</p>" if error else ""
    body = (
        _header(f.bapas_name, "Mohon bantuan: apakah klien ini ada di wilayah Anda?")
        + "<main>"
        + f"<p>Yth. {escape(who)},<br>petugas kami belum dapat menghubungi klien pemasyarakatan di bawah ini. "
          "Mohon beri tahu kami apakah ia masih tinggal di desa/kelurahan tersebut dan terlihat dalam beberapa "
          "hari terakhir.</p>"
        + _facts_card(f) + _previous(f)
        + "<form method=\"post\" accept-charset=\"utf-8\"><fieldset>"
          "<legend>Jawaban Anda</legend>" + error_html + options + "</fieldset>"
          "<p><label for=\"notes\"><strong>Keterangan atau alamat baru</strong> (boleh dikosongkan)</label>"
          f"<textarea id=\"notes\" name=\"notes\" maxlength=\"{MAX_NOTES}\">{escape(notes)}</textarea></p>"
          "<button type=\"submit\">Kirim jawaban</button></form>"
        + f"<p class=\"muted\">Tautan ini hanya untuk Anda dan berlaku sampai "
          f"{escape(local_time(f.valid_until, f.timezone))}. Mohon tidak meneruskannya kepada orang lain.</p>"
        + "</main>")
    return _document("Pantau · Jawaban untuk Bapas", body)


def thanks_page(f: PageFacts, answer: str, notes: str | None) -> str:
    extra = f"<br>Keterangan: {escape(notes)}" if notes else ""
    body = (
        _header(f.bapas_name, "Terima kasih, jawaban Anda sudah kami terima")
        + "<main><div class=\"card done\" id=\"confirmation\">"
        + f"<strong>{escape(ANSWER_LABELS[answer])}</strong>{extra}"
        + f"<p>Jawaban untuk klien {escape(f.client_name)} ({escape(f.village_name)}) sudah diteruskan kepada PK "
          f"{escape(f.officer_name)} dan Kasubsi Bimbingan Klien.</p></div>"
        + f"<p>Bila keadaannya berubah, Anda dapat mengirim jawaban baru melalui tautan yang sama sampai "
          f"{escape(local_time(f.valid_until, f.timezone))}. <a href=\"\">Kirim jawaban baru</a></p>"
        + f"<p class=\"muted\">Nomor referensi: {escape(f.reference)}</p></main>")
    return _document("Pantau · Terima kasih", body)


# Pages that reveal nothing about any escalation: the same text whatever the token was.
MESSAGES = {
    404: ("Tautan tidak ditemukan",
          "Tautan ini tidak kami kenal. Periksa kembali tautan pada SMS yang Anda terima; pastikan tidak ada "
          "huruf yang terpotong."),
    410: ("Tautan sudah tidak berlaku",
          "Tautan jawaban hanya berlaku 14 hari sejak SMS dikirim, dan masa berlakunya sudah lewat. Bila Anda "
          "masih mempunyai informasi, silakan hubungi PK yang namanya tercantum pada SMS."),
    413: ("Jawaban terlalu panjang", "Mohon persingkat keterangan Anda, lalu kirim kembali."),
    415: ("Jawaban tidak dapat dibaca", "Mohon kirim jawaban melalui formulir pada halaman tautan."),
    429: ("Terlalu banyak permintaan", "Mohon tunggu beberapa menit, lalu buka kembali tautan pada SMS."),
    503: ("Layanan sedang sibuk", "Mohon coba lagi beberapa saat lagi. Jawaban Anda belum tersimpan."),
}


def message_page(status: int) -> str:
    title, text = MESSAGES[status]
    return _document(f"Pantau · {title}", _header("Pantau", title) + f"<main><p>{escape(text)}</p></main>")
