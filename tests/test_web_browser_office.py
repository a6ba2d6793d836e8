"""The office's pages in a real browser (headless Debian Chromium through Selenium, the app on uvicorn), in
Vietnamese, at phone (390×844) and desktop widths: a roster workbook with Vietnamese headers and a card number
Excel stored as a number (the warning shows its row; Apply sits at the top of the preview), the calendar editor
(a holiday and a make-up day change the day's check), a bulk multi-day excuse from the class page, and the
unknown-card list as the guard sees it.

Screenshots go to a temporary directory; to refresh the README's (docs/screenshots/, phone width):

    EDGE_SCREENSHOTS=docs/screenshots /work/main/.venv/bin/python -m pytest -q tests/test_web_browser_office.py
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from edge.central.school import edits
from edge.config.central import GateName
from tests.web_support import SITE, browser, checkin, live_server, make_web, password_of, screenshot

pytestmark = pytest.mark.needs("chromium")
WAIT_S = 10.0
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """The test's temp dir: web_support.screenshot writes there, or into EDGE_SCREENSHOTS (docs/screenshots)."""
    return tmp_path


def shoot(driver: Any, shots: Path, name: str, size: str) -> None:
    """A full-page PNG (the window grown to the page's height); only phone width goes to the README."""
    if os.environ.get("EDGE_SCREENSHOTS") and size != "phone":
        return
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": min(int(height), 4000), "deviceScaleFactor": 1, "mobile": size == "phone"},
    )
    try:
        path = screenshot(driver, shots, name)
        assert path.stat().st_size > 1000
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def wait_for(driver: Any, pred: Callable[[], Any], what: str) -> Any:
    """`pred` true within WAIT_S; an element of the page being replaced (a form's POST → redirect) is asked again."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # WebDriverException covers a stale element and Chromium's "node … does not belong to the document" when the
    # page is replaced between finding an element and reading it: both mean "ask again"
    wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=(WebDriverException,))
    return wait.until(lambda _: pred(), message=what)


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def set_value(driver: Any, element_id: str, value: str) -> None:
    """Date inputs take typed text in the browser's locale; set the ISO value as a script would."""
    driver.execute_script("arguments[0].value = arguments[1]", by_id(driver, element_id), value)


def sign_in(driver: Any, base: str, username: str) -> None:
    driver.get(f"{base}/login")
    by_id(driver, "username").send_keys(username)
    by_id(driver, "password").send_keys(password_of(username))
    by_id(driver, "login-submit").click()
    wait_for(driver, lambda: "/login" not in driver.current_url, "logged in")


@pytest.fixture
def site(tmp_path: Path, size: str) -> Iterator[tuple[Any, Any, str]]:
    """(ctx, driver, base url) at the size's width, the page in Vietnamese (the default)."""
    ctx, app = make_web(tmp_path)
    width, height = SIZES[size]
    try:
        with live_server(app, ctx) as srv, browser(tmp_path, width=width, height=height) as driver:
            yield ctx, driver, srv.url
    finally:
        ctx.close()
        ctx.store.close()


def test_roster_with_vietnamese_headers_warns_about_a_numeric_card(
    site: tuple[Any, Any, str], tmp_path: Path, shots: Path, size: str
) -> None:
    from selenium.webdriver.common.by import By

    ctx, driver, base = site
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Mã HS", "Họ và tên", "Lớp", "Số thẻ", "Ngày nhập học"])
    ws.append(["an", "Nguyễn Văn An", "6A", "0F00A1B2C3", None])
    ws.append(["binh", "Trần Thị Bình", "6A", 12345678, None])  # row 3: the card typed as a number
    ws.append(["chi", "Lê Minh Chi", "6A", None, None])
    ws.append(["dung", "Phạm Dũng", "6B", "0F00A1B2C5", None])
    ws.append(["em", "Hoàng Em", "6B", None, None])
    for i in range(40):  # a long class: the preview is taller than the screen
        ws.append([f"moi{i:02d}", f"Học Sinh Mới {i}", "7A", None, "2026-12-01"])
    sheet = tmp_path / "danh-sach.xlsx"
    wb.save(sheet)

    sign_in(driver, base, "office")
    driver.get(f"{base}/s/{SITE}/roster")
    assert by_id(driver, "roster-template").text == "Tải tệp mẫu (XLSX)"
    by_id(driver, "roster-file").send_keys(str(sheet))
    by_id(driver, "roster-preview").click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "roster-warnings"), "the warnings")
    warnings = driver.find_elements(By.CSS_SELECTOR, "#roster-warnings tbody tr")
    cells = [c.text for c in warnings[0].find_elements(By.TAG_NAME, "td")]
    assert len(warnings) == 1 and cells[:2] == ["Học sinh", "3"]
    assert "Excel bỏ các số 0 ở đầu" in cells[2]
    top = by_id(driver, "roster-apply-top")
    assert top.is_displayed()
    assert driver.execute_script("return arguments[0].getBoundingClientRect().bottom", top) < SIZES[size][1]
    assert driver.execute_script("return document.documentElement.scrollHeight") > SIZES[size][1]
    shoot(driver, shots, "roster-preview", size)
    top.click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "roster-applied"), "applied")
    d = ctx.directories[SITE]
    assert d.students["binh"].card_uid == "12345678" and "moi39" in d.students


def test_calendar_holiday_and_makeup_day(site: tuple[Any, Any, str], shots: Path, size: str) -> None:
    ctx, driver, base = site
    sign_in(driver, base, "office")
    driver.get(f"{base}/s/{SITE}/calendar?check=2026-11-25")
    assert by_id(driver, "check-verdict").text.startswith("25/11/2026: có học")

    set_value(driver, "day-start", "2026-11-25")
    by_id(driver, "day-name").send_keys("Nghỉ bù 20/11")
    by_id(driver, "day-add").click()
    wait_for(driver, lambda: driver.find_elements("id", "calendar-saved"), "saved")
    from selenium.webdriver.support.ui import Select

    Select(by_id(driver, "day-kind")).select_by_value("makeup")
    set_value(driver, "day-start", "2026-11-28")
    by_id(driver, "day-name").send_keys("Học bù thứ Tư")
    by_id(driver, "day-add").click()
    wait_for(driver, lambda: "Học bù thứ Tư" in by_id(driver, "cal-makeup").text, "the make-up day listed")

    set_value(driver, "check-day", "2026-11-25")
    by_id(driver, "check-submit").click()
    wait_for(driver, lambda: "nghỉ học" in by_id(driver, "check-verdict").text, "the holiday's check")
    assert by_id(driver, "check-verdict").text == "25/11/2026: nghỉ học — ngày nghỉ: Nghỉ bù 20/11"
    set_value(driver, "check-day", "2026-11-28")
    by_id(driver, "check-submit").click()
    wait_for(driver, lambda: "28/11/2026" in by_id(driver, "check-verdict").text, "the make-up day's check")
    assert by_id(driver, "check-verdict").text == "28/11/2026: có học — ngày học bù: Học bù thứ Tư"
    assert ctx.directories[SITE].calendar.is_school_day(datetime(2026, 11, 28).date())
    shoot(driver, shots, "calendar", size)


def test_bulk_multi_day_excuse_from_the_class_page(site: tuple[Any, Any, str], shots: Path, size: str) -> None:
    from selenium.webdriver.common.by import By

    ctx, driver, base = site
    sign_in(driver, base, "office")
    driver.get(f"{base}/s/{SITE}/class/6A")
    by_id(driver, "excuse-range").find_element(By.TAG_NAME, "summary").click()
    by_id(driver, "pick-an").click()
    by_id(driver, "pick-binh").click()
    set_value(driver, "range-start", "2026-11-24")
    set_value(driver, "range-end", "2026-11-27")
    by_id(driver, "range-reason").send_keys("Đi thi học sinh giỏi cấp tỉnh")
    shoot(driver, shots, "excuse-range", size)
    by_id(driver, "range-submit").click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "excuse-range-done"), "the excuse recorded")
    assert by_id(driver, "excuse-range-done").text == "Đã ghi 8 ngày vắng có phép."
    status = by_id(driver, "row-an").find_element(By.CSS_SELECTOR, ".status").text
    assert status == "Vắng có phép"
    rows = ctx.db.query("SELECT count(*) AS n FROM excuses WHERE site_id = ?", (SITE,))
    assert int(rows[0]["n"]) == 8


def test_unknown_cards_as_the_guard(site: tuple[Any, Any, str], shots: Path, size: str) -> None:
    from selenium.webdriver.common.by import By

    ctx, driver, base = site
    with ctx.db.transaction() as tx:  # the gate's configured name, as the school set it
        edits.set_gate_names(tx, SITE, {"main-in": GateName(vi="cổng chính", en="main gate")})
    ctx.directories.reload(SITE)
    stranger = checkin(None, datetime(2026, 11, 24, 0, 12, tzinfo=UTC), decision="denied")
    stranger["card_uid"] = "0F00C0FFEE"
    ctx.store.store_batch([stranger])
    sign_in(driver, base, "guard")
    nav = [a.get_attribute("id") for a in driver.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert nav == ["nav-today", "nav-gates", "nav-unknown-cards"]
    by_id(driver, "nav-unknown-cards").click()
    wait_for(driver, lambda: driver.find_elements(By.ID, "unknown-cards"), "the list")
    cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#unknown-cards tbody td")]
    assert cells == ["24/11/2026 07:12:00", "cổng chính · Trường THCS Thử", "••••C0FFEE"]
    assert "0F00C0FFEE" not in driver.page_source
    shoot(driver, shots, "unknown-cards", size)
