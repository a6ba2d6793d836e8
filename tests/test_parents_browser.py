"""The parents' app in Chromium at phone size (390x844): sign-in with the code the local SMS gateway received,
today, the month's history, an absence request, preferences, consent withdrawal, and the offline view of the
last known status once the school's server is unreachable (the service worker's copy). Screenshots go to the
test's temp dir, or to $EDGE_SCREENSHOTS (docs/screenshots/parent-*.png, the README's pictures:
`scripts/screenshots.sh`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.central.parents import consent
from edge.central.school.state import load_guardians
from tests.helpers import wait_until
from tests.parents_support import AN_PHONE, AN_PHONE_E164, parents_school
from tests.web_support import SCHOOL_MORNING, SITE, browser, checkin, live_server, screenshot

pytestmark = pytest.mark.needs("chromium")
PHONE = (390, 844)


def _history(ctx: Any) -> None:
    """A month of mornings for An (07:02 to 07:50: on time, late) and one absence."""
    events = []
    for back in range(1, 20):
        day = SCHOOL_MORNING - timedelta(days=back)
        if day.weekday() < 5 and back != 4:
            events.append(checkin("an", day - timedelta(minutes=28 - 3 * (back % 7))))
    events.append(checkin("an", SCHOOL_MORNING - timedelta(minutes=18)))  # today 07:12
    ctx.store.store_batch(events)


def test_a_parent_on_a_phone(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def shot(driver: Any, name: str) -> None:
        screenshot(driver, tmp_path, f"parent-{name}")  # into $EDGE_SCREENSHOTS (scripts/screenshots.sh) or tmp

    def text(driver: Any, css: str) -> str:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)

    def wait_css(driver: Any, css: str) -> None:
        wait_until(lambda: bool(driver.find_elements(By.CSS_SELECTOR, css)), 15, css)

    with parents_school(tmp_path) as school:
        _history(school.ctx)
        consent.give(school.ctx.db, SITE, "an", given_by="Nguyễn Văn Ba", method="paper", recorded_by="office")
        with browser(tmp_path, *PHONE) as d:
            # a phone's viewport (a desktop window cannot be narrower than 500 px)
            metrics = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True}
            d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            with live_server(school.app, school.ctx) as srv:
                d.get(srv.url + "/p/")
                wait_css(d, "#address")
                shot(d, "sign-in")
                d.find_element(By.ID, "address").send_keys(AN_PHONE)
                d.find_element(By.ID, "send-code").click()
                wait_css(d, "#code")
                d.find_element(By.ID, "code").send_keys(school.last_code(AN_PHONE_E164))
                d.find_element(By.ID, "sign-in").click()
                wait_css(d, "#children")
                assert "Đã đến lúc 07:12 tại cổng chính" in text(d, "#children")
                assert "Trần Thị Bình" not in d.page_source
                shot(d, "today")

                d.find_element(By.CSS_SELECTOR, "#children a").click()
                wait_css(d, "#history")
                rows = d.find_elements(By.CSS_SELECTOR, "#history tbody tr")
                assert len(rows) >= 10 and "Vắng" in text(d, "#history")
                d.execute_script("document.getElementById('history').scrollIntoView()")
                shot(d, "history")

                d.execute_script(
                    "document.getElementById('first-day').value='2026-11-25';"
                    "document.getElementById('last-day').value='2026-11-26';"
                )
                d.find_element(By.ID, "absence-reason").send_keys("Cháu bị sốt, xin phép nghỉ hai ngày")
                d.find_element(By.ID, "absence-send").click()
                wait_css(d, "#absence-sent")
                assert "Đang chờ" in text(d, "#requests")
                d.execute_script("document.getElementById('absence').scrollIntoView()")
                shot(d, "absence")

                d.find_element(By.ID, "consent-withdraw").click()
                wait_css(d, "#consent-done")
                assert "Đã rút lại" in text(d, "#consent-done")
                rec = consent.current(school.ctx.db, SITE, "an")
                assert rec is not None and not rec.given and rec.method == "app"
                d.execute_script("document.getElementById('consent').scrollIntoView()")
                shot(d, "consent")

                d.get(srv.url + "/p/settings")
                wait_css(d, "#channel")
                Select(d.find_element(By.ID, "channel")).select_by_value("mail")
                Select(d.find_element(By.ID, "language")).select_by_value("en")
                d.find_element(By.ID, "save-settings").click()
                wait_css(d, "#settings-saved")
                assert "Saved." in text(d, "#settings-saved")
                (g,) = [g for g in load_guardians(school.ctx.db, SITE) if g.person_id == "an"]
                assert (g.channel, g.language) == ("mail", "en")
                shot(d, "settings")

                # the service worker controls the app, and has kept the home page and the status
                wait_until(lambda: d.execute_script("return !!navigator.serviceWorker.controller"), 15, "SW")
                d.get(srv.url + "/p/")
                wait_css(d, "#children")
                wait_until(lambda: d.find_element(By.ID, "offline").get_attribute("hidden") is not None, 5, "online")
            # the school's server is gone: the phone shows the last known status, marked offline
            d.get(srv.url + "/p/")
            wait_css(d, "#children")
            assert "Arrived 07:12 at the main gate" in text(d, "#children")
            wait_until(lambda: d.find_element(By.ID, "offline").is_displayed(), 10, "the offline banner")
            shot(d, "offline")
