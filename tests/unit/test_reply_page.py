"""The reply page's HTML: escaped, self-contained, in Bahasa Indonesia."""

from datetime import UTC, datetime

from chalicelib.domain import reply_page as page
from chalicelib.domain.followup import ANSWERS

EVIL = '<script>alert("x")</script> & "Rudi"'


def _facts(**kw) -> page.PageFacts:
    base = {"bapas_name": "Bapas Kelas I <Makassar>", "client_name": EVIL, "village_name": "Desa <b>Maju</b>",
            "reference": "ESK-1A2B3C4D", "officer_name": "Citra & Co", "officer_phone": "081100000005",
            "recipient_role": "bhabinkamtibmas", "valid_until": datetime(2026, 12, 16, 6, 30, tzinfo=UTC),
            "timezone": "Asia/Makassar"}
    return page.PageFacts(**{**base, **kw})


def test_every_value_is_escaped_and_nothing_is_fetched():
    html = page.form_page(_facts(previous=(("moved", "<i>Jl. Mawar</i>", datetime(2026, 12, 2, 3, tzinfo=UTC)),)),
                          error="<err>", notes="</textarea><script>")
    for raw in ("<script>", "<b>Maju", "<Makassar>", "<i>Jl", "<err>", "</textarea><script>"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Rudi&quot;" in html
    assert "src=" not in html and "href=" not in html and "<link" not in html and "@import" not in html
    assert all(f'value="{a}"' in html for a in ANSWERS) and html.count('type="radio"') == 4
    assert '<form method="post"' in html and 'name="notes"' in html
    assert "16 Desember 2026 pukul 14.30 WITA" in html  # the link's end, in the Bapas's zone, named
    thanks = page.thanks_page(_facts(), "moved", "<i>baru</i>")
    assert "<i>baru" not in thanks and "Terima kasih" in thanks


def test_the_error_pages_name_nothing():
    for status in (404, 410, 429, 503):
        html = page.message_page(status)
        assert "ESK-" not in html and "Bapas Kelas" not in html and '<html lang="id">' in html
