"""The coordinators' dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against the local
stack: log in through Cognito, see the seeded numbers, resolve an escalation, read a client's timeline, and save
screenshots in `test-output/`.

`make test` installs Chromium first where it can (root with apt); without it this test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from infra.seed import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = ROOT / "test-output"
README_SHOT = ROOT / "docs" / "dashboard.png"
COLUMNS = {"caseload": lambda r: r["caseload"], "compliant": lambda r: r["clients_by_state"]["compliant"],
           "due": lambda r: r["clients_by_state"]["due"], "missed": lambda r: r["clients_by_state"]["missed"],
           "unreachable": lambda r: r["clients_by_state"]["unreachable"],
           "checkins_expected": lambda r: r["checkins_expected"], "checkins_done": lambda r: r["checkins_done"],
           "home_visits": lambda r: r["home_visits"], "open_escalations": lambda r: r["open_escalations"],
           "overdue_progress_reports": lambda r: r["overdue_progress_reports"]}


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: the browser test needs Debian's `chromium` "
                    "(`make test` installs it with apt-get when run as root)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (it is pinned in requirements-dev.txt)")
    return sync_playwright, expect


def _row_cells(page, officer: str) -> dict[str, str]:
    row = page.locator(f'#report tr[data-officer="{officer}"]')
    return {col: row.locator(f'td[data-col="{col}"]').inner_text() for col in COLUMNS}


def test_dashboard_login_numbers_resolve_and_timeline(stack):
    sync_playwright, expect = _browser_or_skip()
    OUTPUT.mkdir(exist_ok=True)
    user = "kasubsi.makassar"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1100}, locale="id-ID",
                                    timezone_id="Asia/Makassar")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{stack.api_url}/dashboard")
            assert page.title().startswith("Pantau")

            # A wrong password is refused by Cognito.
            page.fill("#username", user)
            page.fill("#password", "salah-sekali")
            page.click("#login-button")
            expect(page.locator("#login-error")).to_contain_text("salah")

            # Log in (Cognito InitiateAuth from the page) and see the seeded numbers, equal to the API's.
            page.fill("#password", PASSWORD)
            page.click("#login-button")
            page.wait_for_selector('#report tfoot tr[data-officer="TOTAL"]')
            assert "kasubsi.makassar" in page.inner_text("#who-text")
            report = stack.get("/v1/reports/compliance", user).json
            for row in report["officers"]:
                assert _row_cells(page, row["officer"]) == {c: str(get(row)) for c, get in COLUMNS.items()}
            totals = report["totals"]
            assert _row_cells(page, "TOTAL") == {c: str(get(totals)) for c, get in COLUMNS.items()}
            assert totals["checkins_done"] > 0 and totals["open_escalations"] >= 1  # the seeded history shows
            # The chart: one pair of bars per PK.
            assert page.locator("#chart svg rect[data-kind='done']").count() == len(report["officers"])

            # The timeline of the client whose escalation is open: newest first, the open escalation in it.
            open_before = stack.get("/v1/escalations?state=open", user).json["items"]
            target = open_before[0]
            page.select_option("#client", target["client_id"])
            page.wait_for_selector('#timeline li[data-kind="escalation"]')
            kinds = page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
            assert {"checkin", "escalation", "change"} <= set(kinds)
            assert "terbuka" in page.locator('#timeline li[data-kind="escalation"]').inner_text()
            shot = OUTPUT / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)

            # Resolve it from the list: gone from the list, resolved in the API, the report and the timeline.
            item = page.locator(f'li[data-escalation="{target["id"]}"]')
            expect(item.locator("form")).to_be_hidden()
            item.get_by_role("button", name="Selesaikan").click()
            item.get_by_label("Hasil penanganan").select_option("found_at_home")  # a resolution code is required
            item.get_by_role("button", name="Simpan").click()
            item.wait_for(state="detached")
            resolved = stack.get(f"/v1/escalations/{target['id']}", user).json
            assert resolved["state"] == "resolved" and resolved["resolved_by"] == user
            expect(page.locator("#report tfoot td[data-col=open_escalations]")).to_have_text(
                str(totals["open_escalations"] - 1))
            expect(page.locator('#timeline li[data-kind="escalation"]')).to_contain_text("diselesaikan")
            page.screenshot(path=str(OUTPUT / "dashboard-resolved.png"), full_page=True)
            assert errors == []
            assert shot.stat().st_size > 10_000
            if not README_SHOT.exists() or os.environ.get("PANTAU_UPDATE_SCREENSHOTS") == "1":
                shutil.copyfile(shot, README_SHOT)
        finally:
            browser.close()
