"""The README's main job: `edge demo` plays a school morning end to end — gate, centre, parents, web app — and
every expectation of the story holds (not only its exit code). The expectations are worked out here from the
demo's INPUT (its roster, photos and guardians, the taps of its script, the cut-offs in the central.yaml it
wrote) and checked against what the stores hold (the centre's database, `edge report`, the notices counted at
the receivers), never against the demo's own list of what should happen (edge/demo/morning.py).
Run with --serve: while the centre keeps running, a real browser logs in to the demo's web app and takes the
screenshots the README shows (scripts/screenshots.sh writes them to docs/screenshots/); Ctrl-C (SIGINT) then
stops everything in order."""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from edge.central.store import open_store
from edge.demo.morning import LATE_CARD, MAIN_TAPS, SIDE_TAP
from edge.demo.runner import data_dir
from edge.demo.school import SITE
from tests.helpers import wait_until
from tests.system_tools import problem, unavailable
from tests.web_support import browser, screenshot


def _lines(proc: subprocess.Popen[str], out: list[str], q: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line)
        q.put(line)


def _screenshots(web_url: str, password: str, tmp_path: Path) -> None:
    """Log in to the demo's web app as the office and save Today, class 6A's day and the Gates page."""
    from selenium.webdriver.common.by import By

    with browser(tmp_path) as driver:
        driver.get(web_url + "/login")
        driver.find_element(By.ID, "username").send_keys("office")
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "login-submit").click()
        wait_until(lambda: "/login" not in driver.current_url, 10, "office logged in")  # the POST, then navigate
        for name, path, expect in (
            ("demo-today", f"/s/{SITE}/today", "6A"),
            ("demo-class-6A", f"/s/{SITE}/class/6A", "Lin-Manuel Miranda"),
            ("demo-gates", f"/s/{SITE}/gates", "gw-demo"),
        ):
            driver.get(web_url + path)
            assert expect in driver.page_source, (path, driver.page_source[:2000])
            screenshot(driver, tmp_path, name)


@pytest.mark.slow
def test_demo_plays_the_whole_morning(tmp_path: Path) -> None:
    edge = Path(sys.executable).parent / "edge"
    work = tmp_path / "demo"
    proc = subprocess.Popen(
        [str(edge), "demo", "--workdir", str(work), "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, COLUMNS="160"),
    )
    out: list[str] = []
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, out, q), name="demo-output", daemon=True).start()
    try:
        while True:
            line = q.get(timeout=180)
            if line.startswith("serving"):
                break
        web_url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)  # type: ignore[union-attr]
        password = re.search(r"password (\S+?)\)", line).group(1)  # type: ignore[union-attr]
        no_browser = problem("chromium")
        if no_browser is None:
            _screenshots(web_url, password, tmp_path)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0, "".join(out)[-5000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(out)
    assert "demo OK" in text
    summary = json.loads((work / "demo-summary.json").read_text(encoding="utf-8"))
    assert summary["problems"] == []
    school = yaml.safe_load((work / "school" / "central.yaml").read_text(encoding="utf-8"))["schools"][0]
    guardians = list(csv.DictReader((work / "school" / "guardians.csv").open(encoding="utf-8")))
    stored = _stored(work)

    # the gate: every check-in the gateway published is in the centre's database, once
    assert sorted(e["event_id"] for e in summary["checkins"]) == sorted(e["event_id"] for e in stored)
    seqs = [e["seq"] for e in stored]
    assert sorted(seqs) == list(range(1, len(stored) + 1)), "no seq lost or repeated"
    # who came, and how: from the roster, the photos and the script's taps
    granted = {e["person_id"]: e["method"] for e in stored if e["decision"] == "granted"}
    assert granted == _expected_arrivals(data_dir())
    strangers = [e for e in stored if e["method"] == "face" and e["person_id"] is None]
    assert strangers and all(e["decision"] == "unknown" for e in strangers)
    unknown_cards = {c for _, c in MAIN_TAPS} - set(_card_holders(data_dir()))
    assert unknown_cards and all(
        any(e["card_uid"] == c and e["decision"] == "denied" and e["person_id"] is None for e in stored)
        for c in unknown_cards
    )

    # the rule: on time, late, absent, from each class's cut-off and the stored times
    statuses = _expected_statuses(data_dir(), school, stored)
    assert set(statuses.values()) == {"present", "late", "absent"}, "the morning shows every status"
    assert summary["statuses"] == statuses

    # the parents: each notice exactly once, in the guardian's language, through the guardian's channel
    notices = summary["notices"]  # as counted at the receivers (the SMTP server and the webhook receiver)
    assert not any(n["duplicate"] for n in notices)
    assert sorted((n["guardian_id"], n["kind"], n["late"]) for n in notices) == _expected_notices(guardians, statuses)
    spec = {g["guardian_id"]: g for g in guardians}
    for n in notices:
        g = spec[n["guardian_id"]]
        assert n["language"] == g["language"]
        assert n["channel"] == ("email" if g["email"] else "webhook")
        if n["late"]:
            assert ("muộn" if g["language"] == "vi" else "late") in n["text"], n["text"]

    # the guard opened the gate from the web app: a signed command, its result on the page, the relay
    assert summary["gate_result"]["ok"] is True
    assert summary["relay_driven"] is True
    assert set(summary["exits"].values()) == {0}, summary["exits"]

    # every process stopped: nothing listens on the broker's or the web app's port any more
    broker_port = int(re.search(r"private mosquitto on 127.0.0.1:(\d+)", text).group(1))  # type: ignore[union-attr]
    web_port = int(summary["web_url"].rsplit(":", 1)[1])
    for port in (broker_port, web_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0

    # the data folder is kept and `edge report` works on it, as the demo's last lines say
    assert f"data folder kept: {work}" in text.replace("\n", "")
    report = subprocess.run(
        [
            str(edge), "report", "--store", f"sqlite:///{work}/centre.sqlite",
            "--school", SITE, "--date", summary["day"], "--format", "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )  # fmt: skip
    people = {p["person_id"]: p["status"] for p in json.loads(report.stdout)["people"]}
    assert people == statuses
    if no_browser is not None:  # the demo ran and was checked; only its screenshots were not taken
        unavailable(f"chromium: {no_browser}")


def _card_holders(data: Path) -> dict[str, str]:
    """card UID -> person_id, from the demo's roster."""
    with (data / "roster.csv").open(encoding="utf-8") as fh:
        return {r["card_uid"]: r["person_id"] for r in csv.DictReader(fh) if r["card_uid"]}


def _expected_arrivals(data: Path) -> dict[str, str]:
    """person_id -> how they are let in: the enrolled student without a card by the main gate's camera, each
    card the script taps by its holder (the side gate wants card AND face)."""
    holders = _card_holders(data)
    enrolled = {p.name for p in (data / "photos").iterdir() if p.is_dir()}
    out = dict.fromkeys(enrolled - set(holders.values()), "face")
    out.update({holders[card]: "card" for _, card in MAIN_TAPS if card in holders})
    out[holders[SIDE_TAP[1]]] = "card+face"
    out[holders[LATE_CARD]] = "card"
    return out


def _stored(work: Path) -> list[dict[str, Any]]:
    store = open_store(f"sqlite:///{work}/centre.sqlite")
    try:
        return list(store.checkins(order="seq"))
    finally:
        store.close()


def _expected_statuses(data: Path, school: dict[str, Any], stored: list[dict[str, Any]]) -> dict[str, str]:
    """Each student's status by THE rule: first granted arrival before the class's cut-off present, after it
    late, none absent (every class's cut-off has passed or everyone in it arrived, as the demo is built)."""
    zone = ZoneInfo(school["timezone"])
    calendar = school["calendar"]
    first_in: dict[str, time] = {}
    for e in stored:
        if e["decision"] == "granted" and e["direction"] == "in":
            at = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(zone).time()
            first_in[e["person_id"]] = min(at, first_in.get(e["person_id"], at))
    out: dict[str, str] = {}
    with (data / "roster.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            cutoff = time.fromisoformat(
                calendar.get("classes", {}).get(r["class"], {}).get("cutoff", calendar["cutoff"])
            )
            arrived = first_in.get(r["person_id"])
            out[r["person_id"]] = "absent" if arrived is None else "late" if arrived >= cutoff else "present"
    return out


def _expected_notices(guardians: list[dict[str, str]], statuses: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(guardian, kind, late) each guardian must get once: an arrival; an absence at the cut-off; a latecomer's
    guardians both (not there at the cut-off, then arrived late)."""
    kinds = {
        "present": [("arrived", False)],
        "absent": [("absent", False)],
        "late": [("absent", False), ("arrived", True)],
    }
    return sorted((g["guardian_id"], kind, late) for g in guardians for kind, late in kinds[statuses[g["person_id"]]])
