"""The web app in a real browser (#10): headless Debian Chromium driven by Selenium against uvicorn, with a real
gateway (its controller running the real firmware in simavr), the closed broker and a collector storing into the
web app's database. Log in per role; a card tap appears on Today without a reload;
the guard's "open gate" reaches the simulated controller and shows its result; screenshots of the main pages
(the README's: scripts/screenshots.sh writes them to docs/screenshots/; a test run, to its tmp_path)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.central.web.context import utc_now
from edge.central.web.gates import GateMonitor
from edge.devtools.mosquitto import MosquittoBroker
from firmware_bridge.simulators.avr_sim import AvrGateSim
from tests.gate_support import ADA, RELAY1, Rig, start_rig, stop_rig
from tests.helpers import Watcher, wait_until
from tests.web_support import ROSTER, SITE, browser, live_server, make_web, password_of, screenshot

pytestmark = pytest.mark.needs("chromium")
WEB_ROSTER = ROSTER + "ada,Ada Lovelace,6A,007B3039,ada.jpg\n"


@pytest.fixture
def site(tmp_path: Path, broker: MosquittoBroker, avr_sim: AvrGateSim, watcher: Watcher) -> Iterator[dict[str, Any]]:
    rig = start_rig(tmp_path / "gw", broker, avr_sim, watcher)
    (tmp_path / "web").mkdir()
    # the web app reads the database the running collector writes
    ctx, app = make_web(
        tmp_path / "web", f"sqlite:///{tmp_path / 'gw' / 'collector.sqlite'}", roster=WEB_ROSTER, live=True
    )
    ctx.clock = utc_now  # the gateway stamps real time; Today is today
    monitor = GateMonitor(
        "127.0.0.1", broker.port, "web-server", broker.identity("web-server", "server"), site_id=broker.site
    )
    ctx.gates = ctx.commands = monitor
    assert monitor.start(10)
    wait_until(lambda: any(g["online"] for g in monitor.gateways(SITE)), 10, "gateway online")
    try:
        with live_server(app, ctx) as server, browser(tmp_path) as driver:
            yield {"ctx": ctx, "rig": rig, "url": server.url, "driver": driver}
    finally:
        monitor.stop()
        ctx.close()
        stop_rig(rig)


def _login(driver: Any, url: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password_of(username))
    driver.find_element(By.ID, "login-submit").click()
    wait_until(lambda: "/login" not in driver.current_url, 5, f"{username} logged in")


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1100, max(700, min(int(height) + 40, 1600)))
    screenshot(driver, tmp_path, name)
    driver.set_window_size(1100, 900)


def test_the_school_in_a_browser(site: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver, url, ctx = site["driver"], site["url"], site["ctx"]
    rig: Rig = site["rig"]

    # log in per role: each lands on its page; a wrong password is refused in words
    for username, landing in (("admin", "/today"), ("office", "/today"), ("teacher6a", "/today"), ("guard", "/gates")):
        _login(driver, url, username)
        assert driver.current_url.endswith(f"/s/{SITE}{landing}"), (username, driver.current_url)
        assert username in driver.find_element(By.CLASS_NAME, "who").text
    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys("office")
    driver.find_element(By.ID, "password").send_keys("wrong-password-1")
    driver.find_element(By.ID, "login-submit").click()
    # the answer is a page at the same /login address: wait for it (a click does not wait for the form's POST)
    wait_until(lambda: driver.find_elements(By.ID, "login-error"), 10, "the login error page")
    assert "Sai tên đăng nhập" in driver.find_element(By.ID, "login-error").text

    # a teacher cannot open another class
    _login(driver, url, "teacher6a")
    driver.get(f"{url}/s/{SITE}/class/6B")
    assert "403" in driver.find_element(By.TAG_NAME, "h1").text

    # Today, live: a card tap at the gateway appears without a reload
    driver.get(f"{url}/s/{SITE}/today")
    wait_until(lambda: ctx.live.viewers == 1, 5, "the page's EventSource connected (earlier pages' closed)")
    marker = driver.execute_script("window.__noReload = 1; return window.__noReload")
    assert marker == 1
    before = ctx.store.count()
    rig.tap(ADA)
    # 40 s: the gateway sends again after its 15 s receipt timeout when a first send went to an earlier test's
    # persistent collector session in the session broker's shared group (Mosquitto shares to offline sessions too)
    wait_until(lambda: ctx.store.count() > before, 40, "the tap stored by the collector")
    stored = max(r["received_at"] for r in ctx.store.checkins())
    wait_until(lambda: "Ada Lovelace" in driver.find_element(By.ID, "feed").text, 10, "the check-in on Today")
    print(f"card tap stored -> on Today: {time.time() - stored:.3f} s")  # a figure (edge bench web measures it)
    assert driver.execute_script("return window.__noReload") == 1, "the page was not reloaded"
    present = driver.find_element(By.CSS_SELECTOR, "tr[data-class='6A'] [data-status='present']").text
    late = driver.find_element(By.CSS_SELECTOR, "tr[data-class='6A'] [data-status='late']").text
    assert int(present) + int(late) == 1
    _shot(driver, tmp_path, "today")

    driver.get(f"{url}/s/{SITE}/class/6A")
    assert "Ada Lovelace" in driver.find_element(By.ID, "class-day").text
    _shot(driver, tmp_path, "class-day")
    driver.get(f"{url}/s/{SITE}/student/ada")
    assert "Ada Lovelace" in driver.page_source
    assert "007B3039" not in driver.page_source  # a teacher never sees card UIDs (an EM4100 UID clones the card)
    _shot(driver, tmp_path, "student")

    # the guard opens the gate: the simulated controller's relay closes, the result is shown
    _login(driver, url, "guard")
    driver.get(f"{url}/s/{SITE}/gates")
    driver.find_element(By.ID, "open-gw-dev").click()
    wait_until(lambda: driver.find_elements(By.ID, "command-result"), 15, "the command's result")
    result = driver.find_element(By.ID, "command-result")
    assert "ok" in result.get_attribute("class") and "main-in" in result.text, result.text
    rig.sim.wait_pin(RELAY1, 1, 3)
    _shot(driver, tmp_path, "gates")

    # a phone-sized screen: the class table scrolls inside its box, the page does not
    _login(driver, url, "teacher6a")
    driver.set_window_size(390, 844)
    driver.get(f"{url}/s/{SITE}/class/6A")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    screenshot(driver, tmp_path, "class-day-phone")
