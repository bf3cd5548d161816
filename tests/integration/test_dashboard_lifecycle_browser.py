"""The dashboard's lifecycle sections in headless Chromium against the local stack: a transfer waiting for this
Bapas (accepted from the page with a PK chosen by name), stage reviews due, and open violations with their
chronology for the Kanwil. Everything in Bahasa Indonesia, names not usernames, no raw codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from infra.seed import PASSWORD
from tests.integration.test_dashboard_browser import OUTPUT, browser_or_skip, dashboard_page
from tests.records_support import new_id
from tests.support import client_body

# Raw codes a reader must not see in these sections ("awal" etc. appear as "tahap awal", in words).
RAW = ("pending", "propose_revocation", "continue", "stage_reviews", "jaksel", "null", "undefined", "NaN")


def test_transfers_reviews_and_violations_on_the_dashboard(stack):
    sync_playwright, expect = browser_or_skip()
    OUTPUT.mkdir(exist_ok=True)

    user = "kasubsi.makassar"
    # A client of jaksel, asked to move to makassar.
    body = client_body("pk.andi", name="Rahmat Hidayat")
    moving = stack.post("/v1/clients", "kasubsi.jaksel", body).json["id"]
    transfer = stack.post(f"/v1/clients/{moving}/transfer", "kasubsi.jaksel",
                          {"to_bapas_id": "makassar", "reason": "Klien pindah ke rumah orang tuanya di Makassar."})
    assert transfer.status == 201, transfer
    # A makassar client whose first stage ended unreviewed, with an open violation.
    start = date.today() - timedelta(days=200)
    late = client_body("pk.citra", name="Yusuf Mappanyompa", program="pembebasan_bersyarat",
                       supervision_start=start.isoformat(), supervision_end=(start + timedelta(days=360)).isoformat())
    late["address"] = {"text": "Jl. Somba Opu 10", "village_code": "73.71.01.1001"}
    late["phones"] = [{"number": "0812-4400-1234", "owner": "client"}]
    r = stack.post("/v1/clients", user, late)
    assert r.status == 201, r
    late_id = r.json["id"]
    assert r.json["stage_reviews"]["overdue"] >= 1
    reported = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    violation = stack.put(f"/v1/clients/{late_id}/violations/{new_id()}", user,
                          {"reported_at": reported, "summary": "Tidak lapor diri tiga bulan berturut-turut."})
    assert violation.status == 201, violation

    with dashboard_page(sync_playwright, stack, height=1400) as (page, errors):
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#login-button")

        page.wait_for_selector(f'#transfers li[data-transfer="{transfer.json["id"]}"]', timeout=60_000)
        page.wait_for_selector("#violations li[data-violation]", timeout=60_000)
        item = page.locator(f'#transfers li[data-transfer="{transfer.json["id"]}"]')
        expect(item).to_contain_text("Rahmat Hidayat")
        expect(item).to_contain_text(transfer.json["from_bapas_name"])
        expect(item).to_contain_text("pindah ke rumah orang tuanya")
        review = page.locator(f'#reviews tr[data-client="{late_id}"]')
        expect(review).to_contain_text("Yusuf Mappanyompa")
        expect(review).to_contain_text("terlambat")
        expect(page.locator(f'#violations li[data-violation="{violation.json["id"]}"]')).to_contain_text(
            "Yusuf Mappanyompa")
        visible = page.inner_text("#lifecycle")
        words = set(visible.replace(",", " ").replace("(", " ").replace(")", " ").split())
        assert not (words & set(RAW)), words & set(RAW)
        page.screenshot(path=str(OUTPUT / "dashboard-lifecycle.png"), full_page=True)

        # Accepting needs a PK, chosen by name.
        item.get_by_role("button", name="Terima").click()
        expect(item).to_contain_text("Pilih PK")
        item.get_by_label("PK penerima").select_option(value="pk.citra")
        item.get_by_role("button", name="Terima").click()
        item.wait_for(state="detached", timeout=60_000)
        moved = stack.get(f"/v1/clients/{moving}", user).json
        assert (moved["bapas_id"], moved["officer"]) == ("makassar", "pk.citra")
        assert stack.get(f"/v1/clients/{moving}", "kasubsi.jaksel").status == 404
        assert errors == []
