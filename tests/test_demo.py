"""The README's main job: `edge demo` plays a school morning end to end — gate, centre, parents, web app — and
every expectation of the story holds (not only its exit code). Run with --serve: while the centre keeps running,
a real browser logs in to the demo's web app and saves the screenshots the README shows; Ctrl-C (SIGINT) then
stops everything in order."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge.demo.morning import ARRIVALS, NOTICES, STATUSES, UNKNOWN_CARD
from edge.demo.school import GUARDIANS, SITE
from tests.helpers import wait_until
from tests.web_support import browser, browser_available

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


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
            SHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SHOTS / f"{name}.png"))


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
        if browser_available():
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

    # the gate: every check-in published was stored once; who came, how
    assert summary["published"] == summary["stored"] > 0
    granted = {e["person_id"]: e["method"] for e in summary["checkins"] if e["decision"] == "granted"}
    assert {p: granted.get(p) for p in ARRIVALS} == ARRIVALS
    strangers = [e for e in summary["checkins"] if e["method"] == "face" and e["person_id"] is None]
    assert strangers and all(e["decision"] == "unknown" for e in strangers)
    assert any(e.get("card_uid") == UNKNOWN_CARD and e["decision"] == "denied" for e in summary["checkins"])
    seqs = [e["seq"] for e in summary["checkins"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # the rule: on time, late, absent
    assert summary["statuses"] == {p: str(s) for p, s in STATUSES.items()}

    # the parents: each notice exactly once, in the guardian's language, through the guardian's channel
    notices = summary["notices"]
    assert {(n["guardian_id"], n["kind"], n["late"]) for n in notices} == NOTICES
    assert len(notices) == len(NOTICES) and not any(n["duplicate"] for n in notices)
    spec = {g.guardian_id: g for g in GUARDIANS}
    for n in notices:
        g = spec[n["guardian_id"]]
        assert n["language"] == g.language
        assert n["channel"] == ("email" if g.channel == "email" else "webhook")
    late_vi = next(n for n in notices if n["guardian_id"] == "g-rose-1" and n["late"])
    assert "muộn" in late_vi["text"]

    # the guard opened the gate from the web app: a signed command, its result on the page, the relay
    assert summary["gate_result"]["ok"] is True
    assert summary["relay_driven"] is True
    assert set(summary["exits"].values()) == {0}, summary["exits"]
    assert summary["seconds"] < 120, summary["seconds"]  # ~25 s here; the bound is 90 s

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
    assert people["rose_leslie"] == "late" and people["joe_biden"] == "present"
    assert people["kit_harington"] == "absent"
