"""The Kasubsi's dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against the local stack:
log in through Cognito, see the seeded numbers under natural Indonesian labels and names (no usernames, no raw
codes), the village's answer and the SMS of an escalation, the open home-visit tasks, find a client by name and
read their history, resolve an escalation with a required resolution code, and save screenshots in `test-output/`
(copied to `docs/` for the README when missing or with PANTAU_UPDATE_SCREENSHOTS=1).

`make test` installs Chromium first where it can (root with apt); without it this test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.seed import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = ROOT / "test-output"
COLUMNS = {"caseload": lambda r: r["caseload"], "compliant": lambda r: r["clients_by_state"]["compliant"],
           "due": lambda r: r["clients_by_state"]["due"], "missed": lambda r: r["clients_by_state"]["missed"],
           "unreachable": lambda r: r["clients_by_state"]["unreachable"],
           "checkins_expected": lambda r: r["checkins_expected"], "checkins_done": lambda r: r["checkins_done"],
           "home_visits": lambda r: r["home_visits"], "open_escalations": lambda r: r["open_escalations"],
           "overdue_progress_reports": lambda r: r["overdue_progress_reports"]}
# What a reader must never see: raw codes, field names, usernames.
RAW = ("three_missed", "number_inactive", "found_at_home", "contact_restored", "sns_topic", "no_contact", "far",
       "low_accuracy", "video_call", "client_present", "checkins_expected", "pk.citra", "pk.dewi", "kasubsi.makassar",
       "bhabinkamtibmas", "officer", "null", "undefined")


def browser_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: the browser test needs Debian's `chromium` "
                    "(`make test` installs it with apt-get when run as root)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (it is pinned in requirements-dev.txt)")
    return sync_playwright, expect


@contextmanager
def dashboard_page(sync_playwright: Any, stack: Any, height: int) -> Iterator[tuple[Any, list[str]]]:
    """The dashboard opened in headless Chromium as a Kasubsi in Makassar would (Indonesian locale, WITA), with
    the page's script errors collected."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": height}, locale="id-ID",
                                    timezone_id="Asia/Makassar")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{stack.api_url}/dashboard")
            yield page, errors
        finally:
            browser.close()


def keep_screenshot(shot: Path) -> None:
    """Refresh the README's copy in docs/ when asked (or when it is missing)."""
    target = ROOT / "docs" / shot.name
    if not target.exists() or os.environ.get("PANTAU_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, target)


def _row_cells(page, officer: str) -> dict[str, str]:
    row = page.locator(f'#report tr[data-officer="{officer}"]')
    return {col: row.locator(f'td[data-col="{col}"]').inner_text() for col in COLUMNS}


def _words(text: str) -> set[str]:
    return set(text.replace("(", " ").replace(")", " ").replace(",", " ").replace(":", " ").split())


def test_dashboard_for_a_kasubsi(stack):
    sync_playwright, expect = browser_or_skip()
    OUTPUT.mkdir(exist_ok=True)
    user = "kasubsi.makassar"
    target = stack.get("/v1/escalations?state=open", user).json["items"][0]
    # The village has answered through the link in its SMS (the reply page has its own browser test).
    [bhabin] = [n for n in target["notifications"] if n["recipient_role"] == "bhabinkamtibmas"]
    link = bhabin["text"].rsplit(" ", 1)[1]
    assert requests.post(link, data={"answer": "found", "notes": "Klien ada di rumah orang tuanya."},
                         timeout=30).status_code == 200
    with dashboard_page(sync_playwright, stack, height=1100) as (page, errors):
        assert page.title().startswith("Pantau")

        # A wrong password is refused by Cognito.
        page.fill("#username", user)
        page.fill("#password", "salah-sekali")
        page.click("#login-button")
        expect(page.locator("#login-error")).to_contain_text("salah")

        # Log in and see the seeded numbers, equal to the API's, by the PK's name under natural labels.
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.wait_for_selector('#report tfoot tr[data-officer="TOTAL"]')
        page.wait_for_selector(f'li[data-escalation="{target["id"]}"]')
        page.wait_for_selector("#tasks tr[data-task]")
        assert page.inner_text("#who-text") == "Nurhayati Daeng · Kasubsi Bimbingan Klien · Bapas Kelas I Makassar"
        report = stack.get("/v1/reports/compliance", user).json
        for row in report["officers"]:
            assert _row_cells(page, row["officer"]) == {c: str(get(row)) for c, get in COLUMNS.items()}
        totals = report["totals"]
        assert _row_cells(page, "TOTAL") == {c: str(get(totals)) for c, get in COLUMNS.items()}
        assert totals["checkins_done"] > 0 and totals["open_escalations"] >= 1  # the seeded history shows
        heads = page.locator("#report thead th").all_inner_texts()
        for label in ("Klien aktif", "Belum lapor (periode berjalan)", "Tidak lapor 1–2 kali", "Wajib lapor",
                      "Lama penanganan (median, hari)"):
            assert label in heads
        assert "Citra Lestari" in page.inner_text("#report tbody")
        assert "WITA" in page.inner_text("#report-meta")
        assert page.locator("#chart svg rect[data-kind='done']").count() == len(report["officers"])

        # The escalation: the client by name, the village's answer, each notification's status and SMS text.
        item = page.locator(f'li[data-escalation="{target["id"]}"]')
        expect(item).to_contain_text(target["client_name"])
        expect(item.locator(".answers")).to_contain_text("Klien ada dan sudah dilihat")
        expect(item.locator(".answers")).to_contain_text("Klien ada di rumah orang tuanya.")
        expect(item.locator('li[data-recipient="bhabinkamtibmas"] .status')).to_have_text("terkirim")
        item.locator('li[data-recipient="bhabinkamtibmas"] summary').click()
        expect(item.locator('li[data-recipient="bhabinkamtibmas"] details p')).to_contain_text("/r/")
        # Open home-visit tasks with their due dates.
        [task] = [t for t in stack.get("/v1/tasks?state=open", user).json["items"]
                  if t["escalation_id"] == target["id"]]
        expect(page.locator(f'#tasks tr[data-task="{task["id"]}"]')).to_contain_text(target["client_name"])

        # Find the client by name (through the API's name search) and read their history.
        page.fill("#search", target["client_name"][:4].lower())
        page.locator(f'#results button[data-client="{target["client_id"]}"]').click()
        page.wait_for_selector('#timeline li[data-kind="escalation"]')
        kinds = page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
        assert {"checkin", "escalation", "change"} <= set(kinds)
        assert "masih terbuka" in page.locator('#timeline li[data-kind="escalation"]').inner_text()
        visible = page.inner_text("body")
        assert not (_words(visible) & set(RAW)), _words(visible) & set(RAW)
        shot = OUTPUT / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)

        # Resolve: the form refuses to go without a resolution code; with one, the escalation is resolved.
        expect(item.locator("form")).to_be_hidden()
        item.get_by_role("button", name="Selesaikan eskalasi").click()
        item.get_by_label("Catatan penyelesaian").fill("Ditemukan Bhabinkamtibmas, klien lapor diri kembali.")
        item.get_by_role("button", name="Simpan penyelesaian").click()
        assert stack.get(f"/v1/escalations/{target['id']}", user).json["state"] == "open"
        item.get_by_label("Hasil penanganan").select_option("found_at_home")
        item.get_by_role("button", name="Simpan penyelesaian").click()
        item.wait_for(state="detached")
        resolved = stack.get(f"/v1/escalations/{target['id']}", user).json
        assert (resolved["state"], resolved["resolution"], resolved["resolved_by"]) == ("resolved", "found_at_home",
                                                                                        user)
        assert resolved["notes"] == "Ditemukan Bhabinkamtibmas, klien lapor diri kembali."
        expect(page.locator("#report tfoot td[data-col=open_escalations]")).to_have_text(
            str(totals["open_escalations"] - 1))
        expect(page.locator('#timeline li[data-kind="escalation"]')).to_contain_text("Klien ditemukan di rumah")
        page.screenshot(path=str(OUTPUT / "dashboard-resolved.png"), full_page=True)
        assert errors == []
        assert shot.stat().st_size > 10_000
        keep_screenshot(shot)
