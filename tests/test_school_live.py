"""Every process follows the store live, without a restart (#20):
- a running `edge collector run` accepts the check-in of a gateway registered after it started (and dead-letters it
  before);
- the notifier's queueing (the collector's hook) and sending use a guardian's new channel as soon as the office
  changes it;
- a running gateway (a real process, the real broker) grants a new student's card after an XLSX roster upload on
  the web app, with nobody running `edge distribution publish`: `edge server run`'s distributor does it.
SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from edge.central.distribution.publisher import Publisher
from edge.central.notify.hook import NotifyHook, arrivals, connect
from edge.central.notify.receivers import HttpReceiver
from edge.central.notify.worker import Notifier
from edge.central.school import edits
from edge.central.school.files import import_central
from edge.central.school.live import LiveSchools
from edge.central.school.state import load_school
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import load_central_config
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import Watcher, gallery_key, gateway_config, start_collector, wait_until
from tests.web_support import CENTRAL, GUARDIANS, ROSTER, SITE, csrf_from, free_port

REPO = Path(__file__).resolve().parents[1]
SECRET = "0123456789abcdef0123"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    return url


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def _school_files(tmp: Path, central: str = CENTRAL) -> Path:
    (tmp / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    path = tmp / "central.yaml"
    path.write_text(central, encoding="utf-8")
    return path


def _import(url: str, central: Path) -> None:
    db = WebDb(url)
    try:
        import_central(db, load_central_config(central), today=date(2026, 9, 1))
    finally:
        db.close()


def _count(url: str, sql: str, params: tuple[Any, ...]) -> int:
    db = WebDb(url)
    try:
        return int(db.query(sql, params)[0]["n"])
    finally:
        db.close()


def test_the_collector_accepts_a_gateway_registered_after_it_started(
    broker: MosquittoBroker, watcher: Watcher, store_url: str, tmp_path: Path
) -> None:
    _import(store_url, _school_files(tmp_path))
    db = WebDb(store_url)
    with db.transaction() as tx:
        edits.register_gateway(tx, SITE, "gw-live-a")  # the registry is in use: only gw-live-a so far
    db.close()
    name = f"col-live-{uuid.uuid4().hex[:6]}"
    log = tmp_path / "collector.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "collector", "run", *broker.collector_args(name), "--group", name,
             "--store", store_url, "--metrics", "off"],
            stdout=fh, stderr=subprocess.STDOUT, env=_env(),
        )  # fmt: skip
    try:
        watcher.wait_for(lambda t, p: t == f"edge/v1/collectors/{name}/status" and p == b"online", 30, "collector")

        def tap(seq: int) -> str:
            at = datetime.now(UTC) - timedelta(seconds=1)
            ev = CheckIn(new_event_id(), SITE, "gw-live-b", "main-in", "in", rfc3339_ms(at), seq, "card", "an",
                         "granted", card_uid="0F00A1B2C3").to_dict()  # fmt: skip
            watcher.publish(f"edge/v1/{SITE}/gw-live-b/checkin", json.dumps(ev).encode())
            return str(ev["event_id"])

        first = tap(1)
        wait_until(
            lambda: _count(store_url, "SELECT count(*) AS n FROM rejected WHERE event_id = ?", (first,)) == 1,
            20,
            "gw-live-b dead-lettered before it is registered",
        )
        from click.testing import CliRunner

        from edge.cli import cli

        added = CliRunner().invoke(cli, ["school", "gateway", "add", "--store", store_url, "--school", SITE,
                                         "gw-live-b", "--name", "cổng phụ"])  # fmt: skip
        assert added.exit_code == 0, added.output
        # in force within the watcher's poll: tap until the collector stores one (no restart in between)
        stored: list[str] = []

        def accepted() -> bool:
            stored.append(tap(2 + len(stored)))
            return _count(store_url, "SELECT count(*) AS n FROM checkins WHERE site_id = ?", (SITE,)) >= 1

        wait_until(accepted, 30, "gw-live-b's check-in stored after `edge school gateway add`")
        revoked = CliRunner().invoke(cli, ["school", "gateway", "revoke", "--store", store_url, "--school", SITE,
                                           "gw-live-b"])  # fmt: skip
        assert revoked.exit_code == 0, revoked.output
        refused: list[str] = []

        def dead_lettered() -> bool:
            refused.append(tap(100 + len(refused)))
            return _count(store_url, "SELECT count(*) AS n FROM rejected", ()) >= 2  # the first, and now this

        wait_until(dead_lettered, 30, "gw-live-b refused again after `edge school gateway revoke`", 0.5)
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(15)


CHANNELS_CENTRAL = """
schools:
  - id: {site}
    name: Trường Thử
    timezone: Asia/Ho_Chi_Minh
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      weekdays: [mon, tue, wed, thu, fri, sat, sun]
      terms: [{{name: T, start: {start}, end: {end}}}]
      cutoff: "24:00"
    channels:
      - {{name: hook, type: webhook, url: "{app}", secret: {secret}, rate_per_s: 100, burst: 100}}
      - {{name: app2, type: webhook, url: "{app2}", secret: {secret}, rate_per_s: 100, burst: 100}}
notify: {{poll_s: 0.05, backoff_initial_s: 0.05, backoff_max_s: 0.2}}
"""


def test_the_notifier_uses_a_guardians_new_channel_without_restart(store_url: str, tmp_path: Path) -> None:
    app, app2 = HttpReceiver(secret=SECRET), HttpReceiver(secret=SECRET)
    today = datetime.now(UTC).date()
    central = _school_files(
        tmp_path,
        CHANNELS_CENTRAL.format(
            site=SITE,
            start=today - timedelta(days=2),
            end=today + timedelta(days=2),
            app=app.url,
            app2=app2.url,
            secret=SECRET,
        ),
    )
    _import(store_url, central)
    cfg = load_central_config(central)
    store = open_store(store_url)
    schools = LiveSchools(WebDb(store_url), cfg, poll_s=0.2).start(name="test-schools")
    hook = NotifyHook(schools)
    notifier = Notifier(cfg.notify, schools, lambda: connect(store_url), arrivals)
    notifier.start()
    try:

        def arrive(person: str) -> None:
            ev = CheckIn(new_event_id(), SITE, "gw-1", "main-in", "in", rfc3339_ms(datetime.now(UTC)), 1, "card",
                         person, "granted").to_dict()  # fmt: skip
            store.store_batch([ev], [], on_stored=hook)

        arrive("dung")  # dung's guardian: the 'hook' channel (GUARDIANS), as imported
        assert app.wait_for(1, 20) and app2.distinct == 0
        db = WebDb(store_url)
        try:
            with db.transaction() as tx:  # the parent of 'an' switches from the app to the other channel
                assert edits.set_guardian_channel(tx, SITE, "an-g1", "app2") == 1
            version = load_school(db, SITE)
        finally:
            db.close()
        assert version is not None
        wait_until(lambda: (schools.state(SITE) or version).version >= version.version, 10, "the change seen")
        arrive("an")
        assert app2.wait_for(1, 20), "the new channel is used"
        assert app.distinct == 1 and "Nguyễn Văn An" in str(app2.received[0].body)
    finally:
        notifier.stop()
        schools.stop()
        schools.db.close()
        store.close()
        app.close()
        app2.close()


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def sim() -> Iterator[Rdm6300Simulator]:
    with Rdm6300Simulator() as s:
        yield s


@pytest.mark.slow
def test_a_running_gateway_grants_a_new_students_card_after_a_web_roster_import(
    broker: MosquittoBroker, store_url: str, sim: Rdm6300Simulator, tmp_path: Path
) -> None:
    assert broker.pki is not None
    central = _school_files(tmp_path)
    _import(store_url, central)
    from click.testing import CliRunner

    from edge.cli import cli

    added = CliRunner().invoke(cli, ["server", "user", "add", "--store", store_url, "--role", "office", "--site", SITE,
                                     "--password-stdin", "office"], input="office-password-1\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    server_id = "test-web-dist"
    with Publisher("127.0.0.1", broker.port, broker.identity(server_id, "server"), "test-dist-clear") as pub:
        pub.clear(SITE, "roster")  # the session broker may retain another test's roster for this site
    db = tmp_path / "collector.sqlite"
    collector = start_collector(db, broker, f"col-dist-{uuid.uuid4().hex[:6]}")
    (tmp_path / "gw").mkdir()
    gallery_key(tmp_path / "gw")
    gate = {"id": "main-in", "direction": "in", "mode": "card", "readers": [{"id": "r1", "port": sim.url}]}
    gw_cfg = gateway_config(tmp_path / "gw", broker, "gw-dist-live", gate, ROSTER, clock_check="assume_synced")
    from edge.security.sealed import new_key_file

    centre_key = new_key_file(tmp_path / "keys" / "centre.key")
    port = free_port()
    server_log, gw_log = tmp_path / "server.log", tmp_path / "gateway.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with server_log.open("wb") as fh:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "edge", "server", "run", "-c", str(central), "--store", store_url,
                 "--port", str(port), "--insecure-cookies", "--metrics", "off", "--pki", str(broker.pki.dir),
                 "--identity", server_id, "--mqtt-port", str(broker.port), "--centre", str(tmp_path / "centre"),
                 "--centre-key-file", str(centre_key)],
                stdout=fh, stderr=subprocess.STDOUT, env=_env(),
            ))  # fmt: skip
        with gw_log.open("wb") as fh:
            procs.append(subprocess.Popen([sys.executable, "-m", "edge", "gateway", "run", "-c", str(gw_cfg)],
                                          stdout=fh, stderr=subprocess.STDOUT, env=_env()))  # fmt: skip
        wait_until(sim.client_connected.is_set, 30, "the gateway's reader connected")

        def decisions(card: str) -> list[tuple[str | None, str]]:
            return [(c["person_id"], c["decision"]) for c in collector.store.checkins() if c["card_uid"] == card]

        new_card = "ABCDEF0123"
        # a card held on an RDM6300 repeats its frame: tap, then lift it for 2 s (more than the reader's 1.5 s
        # repeat window): each is a new tap
        wait_until(lambda: sim.tap(new_card, repeats=1) and bool(decisions(new_card)), 30, "a card read", 2.0)
        assert decisions(new_card)[0] == (None, "denied")

        base = f"http://127.0.0.1:{port}"
        web = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
        wait_until(lambda: _up(web), 60, "the web app up")
        web.post("/login", data={"username": "office", "password": "office-password-1", "next": "/",
                                 "csrf_token": csrf_from(web.get("/login").text)})  # fmt: skip
        rows: list[list[object]] = [["person_id", "name", "class", "card_uid"]]
        rows += [list[object](line.split(",")[:4]) for line in ROSTER.strip().splitlines()[1:]]
        rows.append(["giang", "Vũ Thị Giang", "6B", new_card])
        page = web.get(f"/s/{SITE}/roster").text
        preview = web.post(f"/s/{SITE}/roster/preview", data={"csrf_token": csrf_from(page)},
                           files={"roster": ("roster.xlsx", _xlsx(rows), "application/octet-stream")})  # fmt: skip
        assert preview.status_code == 200, preview.text
        pid = re.search(r'name="preview_id" value="([^"]+)"', preview.text)
        assert pid is not None
        applied = web.post(f"/s/{SITE}/roster/apply", data={"csrf_token": csrf_from(preview.text),
                                                             "preview_id": pid.group(1)})  # fmt: skip
        assert applied.status_code == 200 and 'id="roster-applied"' in applied.text
        # nobody publishes anything: the distributor sees the new version, the gateway installs the roster
        wait_until(
            lambda: sim.tap(new_card, repeats=1) and ("giang", "granted") in decisions(new_card),
            60,
            "the new student's card granted at the gate",
            2.0,
        )
        assert "distributor: roster of test-school published" in server_log.read_text()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        collector.stop()
        collector.store.close()
        with Publisher("127.0.0.1", broker.port, broker.identity(server_id, "server"), "test-dist-clear") as pub:
            pub.clear(SITE, "roster")  # leave no roster retained for later tests of this site


def _up(web: httpx.Client) -> bool:
    try:
        return web.get("/login").status_code == 200
    except httpx.HTTPError:
        return False
