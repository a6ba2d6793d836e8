"""The data pages in a real browser (headless Debian Chromium through Selenium, the app on uvicorn): an office
user uploads a roster XLSX with one bad row and sees that row's number (nothing applied), then downloads the
monthly report from the Reports page's link and the file holds the expected rows. Takes reports.png and
roster.png (the README's: scripts/screenshots.sh writes them to docs/screenshots/; a test run, to its tmp_path)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from tests.web_support import ROSTER, SITE, TZ, browser, checkin, live_server, make_web, password_of, screenshot

pytestmark = pytest.mark.needs("chromium")
WAIT_S = 10.0


def wait_for(driver: Any, pred: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda _: pred(), message=what)


def sign_in(driver: Any, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password_of(username))
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, lambda: "/login" not in driver.current_url, "logged in")


def test_roster_upload_and_report_download(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    ctx, app = make_web(tmp_path)
    zone = ZoneInfo(TZ)
    events = []
    for d in (16, 17, 18, 19, 23):
        day = date(2026, 11, d)
        events.append(checkin("an", datetime.combine(day, time(7, 30), tzinfo=zone).astimezone(UTC)))
        if d != 18:
            events.append(checkin("dung", datetime.combine(day, time(7, 50), tzinfo=zone).astimezone(UTC)))
    ctx.store.store_batch(events)

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["person_id", "name", "class", "card_uid"])
    ws.append(["an", "Nguyễn Văn An", "6A", "0F00A1B2C3"])
    ws.append(["binh", "Trần Thị Bình", "6A", "0F00A1B2C4"])
    ws.append(["chi", "Lê Minh Chi", "6A", "not-a-card"])  # spreadsheet row 4
    ws.append(["dung", "Phạm Dũng", "6B", "0F00A1B2C5"])
    ws.append(["em", "Hoàng Em", "6B", None])
    sheet = tmp_path / "roster-upload.xlsx"
    wb.save(sheet)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        with live_server(app, ctx) as srv, browser(tmp_path, width=1200, height=1000) as driver:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
            sign_in(driver, srv.url, "office")

            driver.get(f"{srv.url}/s/{SITE}/roster")
            driver.find_element(By.ID, "roster-file").send_keys(str(sheet))
            driver.find_element(By.ID, "roster-preview").click()
            wait_for(driver, lambda: driver.find_elements(By.ID, "problems"), "the problems table")
            rows = driver.find_elements(By.CSS_SELECTOR, "#problems tbody tr")
            assert len(rows) == 1
            cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
            assert cells[1] == "4" and "not-a-card" in cells[2]
            assert not driver.find_elements(By.ID, "roster-apply")
            screenshot(driver, tmp_path, "roster")
            assert (tmp_path / "roster.csv").read_text(encoding="utf-8") == ROSTER

            driver.get(f"{srv.url}/s/{SITE}/reports?month=2026-11")
            wait_for(driver, lambda: driver.find_elements(By.ID, "report-summary"), "the summary table")
            dung = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#sum-dung td")]
            assert dung[3:6] == ["0", "4", "11"]  # on time, late, absent: 15 school days before today (24th, 07:30)
            screenshot(driver, tmp_path, "reports")
            driver.find_element(By.ID, "dl-csv-summary").click()
            files = wait_for(driver, lambda: list(downloads.glob("*.csv")), "the downloaded CSV")
            wait_for(driver, lambda: not list(downloads.glob("*.crdownload")), "the download to finish")
            assert files[0].name == "attendance_test-school_2026-11-01_2026-11-30_summary.csv"
            text = files[0].read_text(encoding="utf-8-sig")
            got = {r["Mã học sinh"]: r for r in csv.DictReader(io.StringIO(text))}  # the page's language: vi
            assert set(got) == {"an", "binh", "chi", "dung", "em"}
            assert (got["an"]["Đúng giờ"], got["dung"]["Đi muộn"], got["binh"]["Vắng không phép"]) == ("5", "4", "15")
    finally:
        ctx.close()
        ctx.store.close()
