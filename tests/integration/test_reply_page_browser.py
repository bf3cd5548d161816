"""The reply page as a Bhabinkamtibmas's cheap phone shows it: headless Chromium at 360×640 with JavaScript off,
opened from the link in a real SMS (read from the local stack's SNS), answered `found` with the plain form; the
answer is then in the escalation for the coordinator and the PK. Screenshots in `test-output/` (and `docs/`).
"""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.integration.test_dashboard_browser import ARGS, CHROMIUM, OUTPUT, browser_or_skip, keep_screenshot


def _sms(stack: Any) -> list[tuple[str, str]]:
    data = requests.get(f"{stack.stack.endpoint}/moto-api/data.json", timeout=30).json()
    return [(m["phone_number"], m["message"]) for m in data.get("sns", {}).get("SMS", [])]


def test_reply_page_on_a_phone_without_javascript(stack):
    sync_playwright, expect = browser_or_skip()
    OUTPUT.mkdir(exist_ok=True)
    coordinator, pk = "kasubsi.jaksel", "pk.andi"
    seeded = stack.stack.seeded["jaksel"][4]  # infra/seed.py: the client escalated when the stack starts
    [esc] = [e for e in stack.get("/v1/escalations?limit=200", coordinator).json["items"] if e["client_id"] == seeded]
    [bhabin] = [n for n in esc["notifications"] if n["recipient_role"] == "bhabinkamtibmas"]
    # The SMS as SNS got it: the reference and the link in it.
    [text] = [m for to, m in _sms(stack) if to == bhabin["to"] and esc["reference"] in m]
    link = re.search(r"http://\S+/r/[A-Za-z0-9_-]{22}", text).group(0)
    before = len(esc["responses"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 640}, java_script_enabled=False,
                                          locale="id-ID", is_mobile=True, has_touch=True, device_scale_factor=2)
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(link)
            expect(page.locator("h1")).to_contain_text("apakah klien ini ada di wilayah Anda")
            expect(page.locator("#client")).to_have_text(esc["client_name"])
            expect(page.locator("#village")).to_have_text(esc["village_name"])
            # It fits a phone: nothing wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            page.screenshot(path=str(OUTPUT / "reply-page.png"), full_page=True)

            page.get_by_label("Klien ada: tinggal di alamat ini dan sudah saya lihat").check()
            page.fill("#notes", "Klien ada di rumah, sedang bekerja di bengkel dekat rumah.")
            page.get_by_role("button", name="Kirim jawaban").click()
            expect(page.locator("h1")).to_have_text("Terima kasih, jawaban Anda sudah kami terima")
            expect(page.locator("#confirmation")).to_contain_text("Klien ada: tinggal di alamat ini")
            page.screenshot(path=str(OUTPUT / "reply-confirmation.png"), full_page=True)
            assert all(url.startswith(link.split("/r/")[0]) for url in requested), requested  # nothing from elsewhere
        finally:
            browser.close()
    for user in (coordinator, pk):
        responses = stack.get(f"/v1/escalations/{esc['id']}", user).json["responses"]
        assert len(responses) == before + 1
        assert (responses[-1]["answer"], responses[-1]["recipient_role"]) == ("found", "bhabinkamtibmas")
        assert responses[-1]["notes"] == "Klien ada di rumah, sedang bekerja di bengkel dekat rumah."
    for name in ("reply-page.png", "reply-confirmation.png"):
        assert (OUTPUT / name).stat().st_size > 5_000
        keep_screenshot(OUTPUT / name)
