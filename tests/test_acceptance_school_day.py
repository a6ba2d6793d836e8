"""#20's acceptance test: a school deployed the way README "Deploy a school" says, then one school day played on it.

Deploy: the site PKI and the closed broker (the session's Mosquitto), a PostgreSQL database, `edge school import`,
the collector's, the notifier's and the web app's bundles (one centre.env, one central.yaml, three identities)
installed into one folder, and one gateway's bundle with its hardware section set as README tells a school to (an
RDM6300 on `socket://`, here the simulator). Every process runs EXACTLY its generated unit's command line,
environment files and credentials (tests/unit_process.py); the parents' channels are a real webhook receiver (the
parents' app) and a real SMTP server (STARTTLS), their secrets in notifier.env as README says.

The day (printed with the elapsed time and the school's clock under `pytest -s`): the office uploads the roster
(XLSX) through the web app; children tap; the office adds a student and moves a guardian from the app to e-mail →
the new card is granted at the gate and the e-mail channel is used, with no restart; the gateway stops before the
cut-off → no absence notice, the held batch and its reason on the Holds page, the alarm on the Today page; the
gateway restarts, a late child's tap flows, the office releases → exactly the right notices, each once. The same
centre processes run from start to end (same PIDs) and each exits 0 on SIGTERM.

The cut-off is a school-clock time: the office sets it in the calendar editor to the next whole minute once the
gateway is down (the calendar counts in minutes), so the test never fakes a clock in a process started from a unit.
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import Workbook

from edge.central.distribution.publisher import Publisher
from edge.central.gates import holds
from edge.central.gateway_registry import register_everywhere
from edge.central.notify.receivers import HttpReceiver, SmtpReceiver
from edge.central.web.db import WebDb
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.devtools.postgres import PostgresServer
from edge.ops.provision import plan
from edge.ops.units import Layout, unit_name
from edge.security.broker_reload import apply
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import wait_until
from tests.sdnotify_support import NotifySocket
from tests.unit_process import from_unit, start
from tests.web_client_support import CookieClient
from tests.web_support import csrf_from

SITE = "test-school"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GW = "gw-1"
SECRET = "app-webhook-secret-0123456789"
PASSWORD = "office-password-1"
ADMIN_PASSWORD = "admin-password-1"
ROLES = (("collector", "collector-1"), ("notifier", "notifier-1"), ("web", "web-1"))
HEAD = ["person_id", "name", "class", "card_uid"]
STUDENTS = [
    ["an", "Nguyễn Văn An", "6A", "0F00C0FFEE"],
    ["binh", "Trần Thị Bình", "6A", "0F00C0FFEF"],
    ["chi", "Lê Minh Chi", "6A", "0F00C0FFF0"],
    ["dung", "Phạm Quốc Dũng", "6B", "0F00C0FFF1"],
    ["em", "Hoàng Thị Em", "6B", "0F00C0FFF2"],
]
NEW_STUDENT = ["giang", "Vũ Thị Giang", "6B", "0F00C0FFF3"]
GHEAD = ["person_id", "name", "phone", "email", "channel", "language", "kinds"]
GUARDIANS = [
    ["an", "Nguyễn Văn Ba", "0912 345 678", "", "app", "vi", "arrived;absent"],
    ["binh", "Trần Mẹ Bình", "", "me.binh@example.org", "email", "vi", "absent"],
    ["chi", "Lê Bố Chi", "0913 000 003", "", "app", "vi", "absent"],
    ["dung", "Phạm Mẹ Dũng", "", "me.dung@example.org", "email", "vi", "absent"],
    ["em", "Hoàng Bố Em", "0913 000 005", "bo.em@example.org", "app", "vi", "absent"],
]
EM_BY_EMAIL = ["em", "Hoàng Bố Em", "0913 000 005", "bo.em@example.org", "email", "vi", "absent"]
NEW_GUARDIAN = ["giang", "Vũ Mẹ Giang", "0913 000 007", "", "app", "vi", "arrived;absent"]


class Timeline:
    """Each step with the elapsed time and the school's clock: the run's record (`pytest -s`)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, what: str) -> None:
        print(f"  +{time.monotonic() - self.t0:6.1f} s  {datetime.now(TZ):%H:%M:%S}  {what}", flush=True)


def _xlsx(head: list[str], rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in [head, *rows]:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _edge(*args: str, stdin: str | None = None) -> str:
    """`edge ARGS…` as the technician types it; its output (stdout + stderr), which must succeed."""
    r = subprocess.run([sys.executable, "-m", "edge", *args], input=stdin, capture_output=True, text=True,
                       timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0, f"edge {' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}"
    return r.stdout + r.stderr


def _central(src: Path, app: HttpReceiver, smtp: SmtpReceiver) -> Path:
    """The school as the technician writes it for `edge school import` and `edge provision --central`; the
    cut-off is moved by the office later (a time still ahead now, so the day has not been judged yet)."""
    ahead = datetime.now(TZ) + timedelta(hours=1)
    today = datetime.now(TZ).date()
    (src / "roster.csv").write_text(",".join(HEAD) + "\n" + "\n".join(",".join(r) for r in STUDENTS) + "\n")
    data = {
        "schools": [{
            "id": SITE, "name": "Trường THCS Thử", "timezone": str(TZ),
            "roster": "roster.csv",
            "calendar": {
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "terms": [{"name": "Học kỳ I", "start": str(today - timedelta(days=30)),
                           "end": str(today + timedelta(days=60))}],
                "cutoff": f"{ahead:%H:%M}" if ahead.date() == today else "24:00",
            },
            "channels": [
                {"name": "app", "type": "webhook", "url": app.url, "secret": "${EDGE_WEBHOOK_SECRET}"},
                {"name": "email", "type": "email", "host": "127.0.0.1", "port": smtp.port, "cafile": str(smtp.cafile),
                 "sender": "Trường THCS Thử <diemdanh@school.example>"},
            ],
        }],
        "notify": {"absence_grace_s": 5},
    }  # fmt: skip
    path = src / "central.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path.chmod(0o640)
    return path


class Day:
    """The running deployment and the office's browser."""

    def __init__(self, tmp: Path, url: str, broker: MosquittoBroker) -> None:
        self.tmp, self.url, self.broker = tmp, url, broker
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.sockets: dict[str, NotifySocket] = {}
        self.db = WebDb(url, pool_size=2)
        self.web: CookieClient | None = None

    def log(self, role: str) -> str:
        return (self.tmp / f"{role}.log").read_text(errors="replace")

    def start(self, role: str, unit: Path) -> None:
        sock = self.sockets[role] = NotifySocket(f"@edge-accept-{role}-{uuid.uuid4().hex}")
        cmd = from_unit(unit, self.tmp / "creds" / role, sock.address)
        self.procs[role] = start(cmd, self.tmp / f"{role}.log")
        try:
            sock.wait_for("READY", 90)
        except AssertionError:
            raise AssertionError(f"{role} not READY:\n{self.log(role)[-3000:]}") from None

    def stop(self, role: str) -> int:
        proc = self.procs[role]
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
            self.sockets.pop(role).close()
        return code

    def close(self) -> None:
        for role in list(self.procs):
            if self.procs[role].poll() is None:
                self.procs[role].kill()
                self.procs[role].wait(10)
        for sock in self.sockets.values():
            sock.close()
        self.db.close()

    # the office's browser ------------------------------------------------------------------------------------
    def login(self, port: int, username: str, password: str) -> None:
        """A fresh browser, logged in as `username`."""
        self.web = CookieClient(f"http://127.0.0.1:{port}")
        page = self.web.request("GET", "/login")
        r = self.web.request("POST", "/login", data={"username": username, "password": password,
                                                     "csrf_token": csrf_from(page.text)})  # fmt: skip
        assert r.status_code == 303, r.text

    def get(self, path: str) -> str:
        assert self.web is not None
        r = self.web.request("GET", path)
        assert r.status_code == 200, (path, r.status_code, r.text[-2000:])
        return r.text

    def post_form(self, page: str, action: str, data: dict[str, str], **kw: Any) -> Any:
        """Submit the form of `page` whose action is `action`, with its own CSRF token, as the browser does."""
        assert self.web is not None
        return self.web.request("POST", action, data={"csrf_token": csrf_from(self.get(page)), **data}, **kw)

    def upload(self, roster: list[list[str]], guardians: list[list[str]]) -> None:
        assert self.web is not None
        files = {
            "roster": ("danh-sach.xlsx", _xlsx(HEAD, roster), "application/octet-stream"),
            "guardians": ("phu-huynh.xlsx", _xlsx(GHEAD, guardians), "application/octet-stream"),
        }
        preview = self.post_form(f"/s/{SITE}/roster", f"/s/{SITE}/roster/preview", {}, files=files)
        assert preview.status_code == 200, preview.text[-3000:]
        pid = re.search(r'name="preview_id" value="([^"]+)"', preview.text)
        assert pid is not None, preview.text[-3000:]
        r = self.web.request("POST", f"/s/{SITE}/roster/apply",
                             data={"csrf_token": csrf_from(preview.text), "preview_id": pid.group(1)})  # fmt: skip
        assert r.status_code == 303, r.text[-3000:]
        assert 'id="roster-applied"' in self.get(r.headers["location"])

    # what the store and the logs say -------------------------------------------------------------------------
    def decisions(self, card: str) -> list[tuple[str | None, str]]:
        sql = "SELECT person_id, decision FROM checkins WHERE card_uid = ? ORDER BY occurred_at"
        rows = self.db.query(sql, (card,))
        return [(r["person_id"], r["decision"]) for r in rows]

    def link(self) -> Any:
        row = self.db.one("SELECT status FROM gateway_links WHERE site_id = ? AND gateway_id = ?", (SITE, GW))
        return row["status"] if row else None

    def batch(self) -> holds.HeldBatch | None:
        with self.db.transaction() as tx:
            found = holds.batches(tx, SITE)
        return found[0] if found else None

    def roster_at_gate(self, people: int) -> str:
        """Until the gateway has installed a roster of `people` people, built, signed and published by the web app
        (nobody runs `edge distribution publish`); its version."""
        installed = re.compile(r"distribution: roster v(\d+) installed: (\d+) people")

        def latest() -> tuple[str, int] | None:
            found = installed.findall(self.log("gateway"))
            return (found[-1][0], int(found[-1][1])) if found else None

        wait_until(lambda: (x := latest()) is not None and x[1] == people, 60, f"a roster of {people} at the gate")
        version = latest()
        assert version is not None and f"published as v{version[0]}" in self.log("web")
        return version[0]


@pytest.fixture
def sim() -> Iterator[Rdm6300Simulator]:
    with Rdm6300Simulator() as s:
        yield s


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, SmtpReceiver]]:
    app, smtp = HttpReceiver(secret=SECRET), SmtpReceiver()
    yield app, smtp
    app.close()
    smtp.close()


def _clear_retained_roster(broker: MosquittoBroker) -> None:
    """The session broker may retain another test's roster for this site (and this test's for the next)."""
    with Publisher("127.0.0.1", broker.port, broker.identity("accept-clear", "server"), "accept-clear") as pub:
        pub.clear(SITE, "roster")


@pytest.mark.slow
@pytest.mark.timeout(600)  # a cut-off up to a minute ahead, then its grace: past the suite's 180 s
def test_a_school_day_on_a_centre_deployed_as_the_readme_says(
    broker: MosquittoBroker,
    postgres: PostgresServer,
    sim: Rdm6300Simulator,
    receivers: tuple[HttpReceiver, SmtpReceiver],
    tmp_path: Path,
) -> None:
    assert broker.pki is not None and broker.site == SITE
    if (datetime.now(TZ) + timedelta(minutes=15)).date() != datetime.now(TZ).date():
        pytest.skip("the school day would cross midnight in the school's zone before its cut-off")
    app, smtp = receivers
    step = Timeline()
    _clear_retained_roster(broker)
    print()

    # --- Deploy (README "Deploy a school") -------------------------------------------------------------------
    url = postgres.fresh_database()  # `createdb`: an empty database and its user
    src = tmp_path / "src"
    src.mkdir()
    central = _central(src, app, smtp)
    print(_edge("school", "import", "--store", url, str(central)).rstrip())
    step("edge school import: the school, its calendar and its roster in PostgreSQL")
    centre = Layout(prefix=Path(sys.prefix).parent, config_dir=tmp_path / "etc", state_dir=tmp_path / "var")
    for role, name in ROLES:  # `edge provision ROLE NAME --store URL --central central.yaml --broker-dir …`
        plan(role, name, site=SITE, server=f"127.0.0.1:{broker.port}", out=tmp_path / "provision" / name,
             pki_dir=broker.pki.dir, layout=centre, store_url=url, central=central).write()  # fmt: skip
    apply(broker.broker_dir)
    for _role, name in ROLES:  # install.sh: its files into /etc/edge; the web bundle's centre key made once
        shutil.copytree(tmp_path / "provision" / name, centre.config_dir, dirs_exist_ok=True)
    script = (tmp_path / "provision" / "web-1" / "install.sh").read_text()
    subprocess.run(["sh", "-c", next(s for s in script.splitlines() if "centre.key" in s and "urandom" in s)],
                   check=True)  # fmt: skip
    web_port = free_port()  # the site's own settings in ROLE.env (install.sh keeps them): free ports here
    (centre.config_dir / "web.env").write_text(f"EDGE_WEB_HOST=127.0.0.1\nEDGE_WEB_PORT={web_port}\nEDGE_METRICS=off\n")
    (centre.config_dir / "collector.env").write_text("EDGE_METRICS=off\n")
    (centre.config_dir / "notifier.env").write_text(f"EDGE_METRICS=off\nEDGE_WEBHOOK_SECRET={SECRET}\n")
    step("centre bundles provisioned and installed (collector, notifier, web app)")
    print(_edge("server", "user", "add", "--store", url, "--role", "admin", "--site", SITE, "--password-stdin",
                "admin", stdin=ADMIN_PASSWORD + "\n").rstrip())  # fmt: skip
    step("the first admin account (edge server user add)")

    # the gateway: its bundle, its rights at the broker and in the store, its hardware section
    gw = Layout(prefix=Path(sys.prefix).parent, config_dir=tmp_path / "gw-etc", state_dir=tmp_path / "gw-var")
    plan("gateway", GW, site=SITE, server=f"127.0.0.1:{broker.port}", out=tmp_path / "provision" / GW,
         pki_dir=broker.pki.dir, layout=gw).write()  # fmt: skip
    for line in register_everywhere(broker.pki, GW, broker_dir=broker.broker_dir, store_url=url):
        print(line)
    cfg_path = tmp_path / "provision" / GW / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["gates"] = [{"id": "main-in", "direction": "in", "mode": "card",
                     "readers": [{"id": "reader-1", "port": sim.url}]}]  # fmt: skip
    cfg["metrics"]["port"] = free_port()
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    shutil.copytree(tmp_path / "provision" / GW, gw.config_dir, dirs_exist_ok=True)
    script = (tmp_path / "provision" / GW / "install.sh").read_text()
    subprocess.run(["sh", "-c", next(s for s in script.splitlines() if "gallery.key" in s and "urandom" in s)],
                   check=True)  # fmt: skip
    print(_edge("config", "validate", str(gw.config_dir / "config.yaml")).rstrip())
    step(f"gateway {GW} provisioned: broker ACL reloaded, registered in the store, RDM6300 on {sim.url}")

    day = Day(tmp_path, url, broker)
    try:
        for role, _name in ROLES:
            day.start(role, centre.config_dir / unit_name(role))
        day.start("gateway", gw.config_dir / unit_name("gateway"))
        pids = {role: p.pid for role, p in day.procs.items()}
        wait_until(lambda: day.link() == "online", 60, f"{GW} online at the centre")
        wait_until(sim.client_connected.is_set, 60, "the gateway's reader open")
        step(f"collector, notifier, web app and {GW} READY, each from its unit file (pids {pids})")
        argv = [sys.executable, "-m", "edge", "doctor", "--no-devices", "-c", str(gw.config_dir / "config.yaml")]
        doctor = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        print(doctor.stdout.rstrip())
        checks = re.findall(r"^\[\s*(\w+)\s*\] (\w+):", doctor.stdout, re.M)
        assert {"config", "broker", "identity", "roster", "outbox"} <= {name for _s, name in checks}, doctor.stdout
        # every check passes but the clock's, which is this machine's (a test host need not be NTP-synchronised)
        assert [name for status, name in checks if status != "OK"] in ([], ["clock"]), doctor.stdout
        assert doctor.returncode == (0 if all(status == "OK" for status, _n in checks) else 1)
        step(f"edge doctor --no-devices on {GW} while it runs: config, broker, identity, roster, outbox OK")

        day.login(web_port, "admin", ADMIN_PASSWORD)  # the admin adds the office's account on the Admin page
        r = day.post_form("/admin/users", "/admin/users", {"username": "office", "password": PASSWORD,
                                                          "role": "office", "site_id": SITE})  # fmt: skip
        assert r.status_code == 303, r.text[-2000:]
        step("the admin adds the office's account on the Admin page")

        # --- The school day -------------------------------------------------------------------------------
        day.login(web_port, "office", PASSWORD)
        day.upload(STUDENTS, GUARDIANS)
        step("the office uploads the roster and the guardians (XLSX) on the Roster page → applied")
        v = day.roster_at_gate(len(STUDENTS))
        step(f"the gate holds the roster the web app built, signed and published (v{v})")
        for person, _name, _cls, card in STUDENTS[:2]:  # An and Bình arrive
            sim.tap(card)
            wait_until(lambda: day.decisions(card) == [(person, "granted")], 30, f"{person} granted")  # noqa: B023
        step("An and Bình tap at the gate: granted, stored")
        assert app.wait_for(1, 30), "An's arrival notice"
        step("An's parent gets the arrival notice in the app (webhook)")

        day.upload([*STUDENTS, NEW_STUDENT], [*GUARDIANS[:4], EM_BY_EMAIL, NEW_GUARDIAN])
        step("mid-morning (the issue's 08:10): the office adds Giang (new card), moves Em's parent to e-mail")
        v = day.roster_at_gate(len(STUDENTS) + 1)
        step(f"the web app publishes roster v{v} by itself; the running gateway installs it")
        sim.tap(NEW_STUDENT[3])
        wait_until(lambda: day.decisions(NEW_STUDENT[3]) == [("giang", "granted")], 30, "Giang's new card granted")
        assert app.wait_for(2, 30), "Giang's arrival notice"
        step("Giang's new card is granted at the gate (no restart); her parent gets the arrival notice")

        assert day.stop("gateway") == 0
        wait_until(lambda: day.link() == "stopped", 30, f"{GW} stopped, witnessed by the collector")
        step(f"{GW} stopped (SIGTERM, exit 0): the collector records it")
        cutoff = (datetime.now(TZ) + timedelta(seconds=80)).replace(second=0, microsecond=0)
        r = day.post_form(f"/s/{SITE}/calendar", f"/s/{SITE}/calendar/times",
                          {"scope": "school", "cutoff": f"{cutoff:%H:%M}", "dismissal": "23:59"})  # fmt: skip
        assert r.status_code in (200, 303), r.text[-2000:]
        step(f"the office sets today's cut-off to {cutoff:%H:%M} in the calendar editor")
        wait_until(lambda: day.batch() is not None, 300, "the absence batch held at the cut-off")
        b = day.batch()
        assert b is not None and b.status == "held" and b.students == 3, b
        assert ("gateway_down", GW) in [(x.code, x.gateway) for x in b.reasons], b.reasons
        assert [r.body["kind"] for r in app.received] == ["arrived", "arrived"] and smtp.distinct == 0
        page = day.get(f"/s/{SITE}/holds")
        assert f'action="/s/{SITE}/holds/{b.id}/release"' in page and GW in page
        banner = re.compile(rf'<div class="gate-alarm" id="gate-alarm-{SITE}" role="alert">(.*?)</div>', re.S)

        def alarm() -> str | None:
            """The banner once it names the gate: the held batch's line comes at once, the "gates down" line when
            the gate has been away notify.holds.max_gap_s (60 s)."""
            found = banner.search(day.get(f"/s/{SITE}/today"))
            return found.group(1) if found and GW in found.group(1) else None

        shown = wait_until(alarm, 120, "the gates-down alarm on the office's Today page", 1.0)
        assert f'id="holds-banner-{SITE}"' in shown and f'href="/s/{SITE}/holds"' in shown, shown
        said = f"GATES DOWN at {SITE}: gateway {GW} stopped"  # the notifier's alarm in its log (journal)
        down = wait_until(lambda: [ln for ln in day.log("notifier").splitlines() if said in ln], 60, "GATES DOWN")
        print(down[-1])
        step(f"cut-off {cutoff:%H:%M} + grace: nothing sent; the batch of 3 held ({GW} down) on Holds, alarm on Today")

        day.start("gateway", gw.config_dir / unit_name("gateway"))
        wait_until(lambda: day.link() == "online", 60, f"{GW} online again")
        wait_until(sim.client_connected.is_set, 60, "the reader open again")
        sim.tap(STUDENTS[3][3])
        wait_until(lambda: day.decisions(STUDENTS[3][3]) == [("dung", "granted")], 30, "Dũng's late tap")
        step(f"{GW} restarted; Dũng arrives late and taps: granted, stored")
        r = day.post_form(f"/s/{SITE}/holds", f"/s/{SITE}/holds/{b.id}/release", {})
        assert r.status_code == 303, r.text[-2000:]
        wait_until(lambda: (x := day.batch()) is not None and x.status == "released", 60, "the batch released")
        step("the office releases the batch on the Holds page")
        wait_until(
            lambda: (
                day.db.query("SELECT count(*) AS n FROM notify_jobs WHERE status <> 'sent'")[0]["n"] == 0
                and smtp.distinct == 1
                and app.distinct == 3
            ),
            60,
            "every queued notice sent",
        )
        step("notices sent: Chi's parent in the app, Em's parent by e-mail; none for Dũng (arrived late)")

        # exactly the right notices, each once, each on the guardian's channel of the moment
        got = sorted((r.body["kind"], r.body["person_id"]) for r in app.received)
        assert got == [("absent", "chi"), ("arrived", "an"), ("arrived", "giang")]
        assert [r.body["to"] for r in smtp.received] == [["bo.em@example.org"]]
        assert "Hoàng Thị Em" in (smtp.received[0].body["text"] or "") and smtp.received[0].body["tls"]
        assert app.duplicates == 0 and smtp.duplicates == 0
        b = day.batch()
        assert b is not None and (b.queued, b.arrived_since) == (2, 1)
        assert "Đã gửi" in day.get(f"/s/{SITE}/holds")

        for role in ("collector", "notifier", "web"):  # never restarted: the same processes from the start
            assert day.procs[role].pid == pids[role] and day.procs[role].poll() is None, day.log(role)[-3000:]
        for role in ("gateway", "web", "notifier", "collector"):
            code = day.stop(role)
            assert code == 0, f"{role} exited {code}:\n{day.log(role)[-3000:]}"
        step("SIGTERM: collector, notifier, web app and gateway exit 0; the centre ran without a restart")
    finally:
        day.close()
        _clear_retained_roster(broker)
