"""One deployment (#20 item 4), as a school installs it: `edge provision` writes the collector's, the notifier's and
the web app's bundles for one PostgreSQL store; they are installed into one configuration folder (as install.sh
does) and each process is started with EXACTLY the command line, environment files and credentials of its
generated unit (tests/unit_process.py). Then: one centre.env for all three, three identities side by side, a
provisioned gateway accepted by the broker at once, its check-in stored by the collector with the parents' notice
queued in the same store (the collector unit passes central.yaml), a dead letter of that store on the web app's
Gates page, and no stray SQLite file anywhere (the notifier once created an empty central.sqlite)."""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from edge.central.gateway_registry import register_everywhere
from edge.central.school.edits import register_gateway
from edge.central.school.files import import_central
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import load_central_config
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.devtools.postgres import PostgresServer
from edge.ops.provision import plan
from edge.ops.units import Layout, unit_name
from edge.security.broker_reload import apply
from tests.helpers import Watcher, wait_until
from tests.sdnotify_support import NotifySocket
from tests.unit_process import from_unit, start
from tests.web_client_support import CookieClient
from tests.web_support import CENTRAL, GUARDIANS, ROSTER, SITE, csrf_from

ROLES = (("collector", "collector-u1"), ("notifier", "notifier-u1"), ("web", "web-u1"))


@pytest.fixture
def sockets() -> Iterator[dict[str, NotifySocket]]:
    s = {role: NotifySocket(f"@edge-test-unit-{role}-{uuid.uuid4().hex}") for role, _ in ROLES}
    yield s
    for sock in s.values():
        sock.close()


def test_provisioned_centre_runs_from_its_units_on_one_postgresql_store(
    broker: MosquittoBroker, postgres: PostgresServer, sockets: dict[str, NotifySocket], tmp_path: Path
) -> None:
    assert broker.pki is not None and broker.site == SITE
    url = postgres.fresh_database()
    lay = Layout(prefix=Path(sys.prefix).parent, config_dir=tmp_path / "etc", state_dir=tmp_path / "var")
    src = tmp_path / "src"
    src.mkdir()
    (src / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (src / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    central = CENTRAL.replace("roster.csv", str(src / "roster.csv")).replace(
        "guardians.csv", str(src / "guardians.csv")
    )
    (src / "central.yaml").write_text(central, encoding="utf-8")
    open_store(url).close()
    db = WebDb(url)
    # the school in the store: roster, guardians, calendar (what `edge school import central.yaml` does)
    import_central(db, load_central_config(src / "central.yaml"), today=date(2026, 9, 1))
    with db.transaction() as tx:  # the school's gate so far: the collector accepts this one only
        register_gateway(tx, SITE, "gw-old")

    # provision the three centre roles for ONE store, and install them into one folder (as install.sh does)
    for role, name in ROLES:
        p = plan(
            role,
            name,
            site=SITE,
            server=f"127.0.0.1:{broker.port}",
            out=tmp_path / "bundles" / role,
            pki_dir=broker.pki.dir,
            layout=lay,
            store_url=url,
            central=src / "central.yaml",
        )
        p.write()
    apply(broker.broker_dir)  # `edge provision … --broker-dir`: the new identities' rights at the broker
    bundles = [tmp_path / "bundles" / role for role, _ in ROLES]
    assert all(filecmp.cmp(bundles[0] / "centre.env", b / "centre.env", shallow=False) for b in bundles)
    for b in bundles:
        shutil.copytree(b, lay.config_dir, dirs_exist_ok=True)
    script = (tmp_path / "bundles" / "web" / "install.sh").read_text()
    step = next(line for line in script.splitlines() if "centre.key" in line and "urandom" in line)
    subprocess.run(["sh", "-c", step], check=True)  # install.sh's own step: the centre's gallery key, made here
    keys = sorted(p.name for p in (lay.config_dir / "tls").glob("*.key"))
    assert keys == ["collector-collector-u1.key", "notifier-notifier-u1.key", "web-web-u1.key"], "none replaced"
    # the site's own choices in the role files: free ports on this shared test machine
    web_port = free_port()
    (lay.config_dir / "web.env").write_text(f"EDGE_WEB_HOST=127.0.0.1\nEDGE_WEB_PORT={web_port}\nEDGE_METRICS=off\n")
    for role in ("collector", "notifier"):
        (lay.config_dir / f"{role}.env").write_text("EDGE_METRICS=off\n")

    gw = f"gw-{uuid.uuid4().hex[:6]}"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    watcher = Watcher(broker, f"edge/v1/{SITE}/{gw}/receipt", client_id=f"watch-{gw}")
    try:
        for role, _name in ROLES:
            cmd = from_unit(lay.config_dir / unit_name(role), tmp_path / "creds" / role, sockets[role].address)
            if role == "collector":
                assert "--notify-config" in cmd.argv and cmd.env["EDGE_STORE_URL"] == url
            procs[role] = start(cmd, tmp_path / f"{role}.log")
        for role, _name in ROLES:
            try:
                sockets[role].wait_for("READY", 60)
            except AssertionError:
                raise AssertionError((tmp_path / f"{role}.log").read_text()[-3000:]) from None

        # the web unit publishes the school's roster to the gateways by itself (its identity, the centre's key)
        manifests = Watcher(broker, f"edge/v1/{SITE}/distribution/roster/manifest", client_id=f"watch-m-{gw}")
        try:
            _t, body = manifests.wait_for(lambda _t, _p: True, 30, "the roster manifest the web app publishes")
        finally:
            manifests.close()
        assert json.loads(body)["site"] == SITE and json.loads(body)["kind"] == "roster"
        # a gateway provisioned while the centre runs: the broker and the collector take it without a restart
        gw_plan = plan("gateway", gw, site=SITE, server=f"127.0.0.1:{broker.port}", out=tmp_path / gw,
                       pki_dir=broker.pki.dir, layout=lay)  # fmt: skip
        gw_plan.write()
        provisioned = time.monotonic()
        lines = register_everywhere(broker.pki, gw, broker_dir=broker.broker_dir, store_url=url)
        assert any("accepts a QoS 1 publish" in line for line in lines), lines
        wait_until(
            lambda: "gateway registry: 2 gateway(s)" in (tmp_path / "collector.log").read_text(),
            10,
            "the running collector following the registry",
        )
        print(f"\nprovisioned → broker and collector accept {gw}: {time.monotonic() - provisioned:.2f} s")
        # a tap of the new gateway: stored in THE store, its parent's notice queued there in the same transaction
        tap = CheckIn(new_event_id(), SITE, gw, "main-in", "in", rfc3339_ms(), 1, "card", "an", "granted",
                      card_uid="0F00A1B2C3").to_dict()  # fmt: skip
        # sent again until a receipt comes back, as a gateway does (the session broker's "collectors" group may
        # also hold earlier tests' persistent collector sessions, which take a share of the first sends)
        receipt = b""
        for _attempt in range(6):
            watcher.publish(f"edge/v1/{SITE}/{gw}/checkin", json.dumps(tap).encode())
            try:
                _t, receipt = watcher.wait_for(lambda t, _p: t.endswith("/receipt"), 5, "the collector's receipt")
                break
            except AssertionError:
                continue
        assert receipt, "no receipt from the running collector after 6 sends"
        assert json.loads(receipt)["status"] == "stored"
        assert db.query("SELECT person_id FROM checkins WHERE event_id = ?", (tap["event_id"],)) == [
            {"person_id": "an"}
        ]
        wait_until(
            lambda: db.query("SELECT count(*) AS n FROM notify_jobs WHERE person_id = 'an'")[0]["n"] >= 1,
            10,
            "the arrival notice queued by the collector (its unit passes central.yaml)",
        )
        # a dead letter in the same store, seen on the web app's Gates page by the office
        # (sent again until one arrives: a send may be shared to an earlier test's offline collector session)
        for _attempt in range(10):
            watcher.publish(f"edge/v1/{SITE}/{gw}/checkin", b"{not a check-in")
            try:
                wait_until(lambda: db.query("SELECT count(*) AS n FROM rejected")[0]["n"] >= 1, 3, "the dead letter")
                break
            except AssertionError:
                continue
        assert db.query("SELECT count(*) AS n FROM rejected")[0]["n"] >= 1, "no dead letter after 10 sends"
        r = subprocess.run(
            [sys.executable, "-m", "edge", "server", "user", "add", "--store", url, "--role", "office", "--site",
             SITE, "--password-stdin", "office"],
            input="office-password-1\n", capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        web = CookieClient(f"http://127.0.0.1:{web_port}")
        page = web.request("GET", "/login")
        r2 = web.request("POST", "/login", data={"username": "office", "password": "office-password-1",
                                                 "csrf_token": csrf_from(page.text)})  # fmt: skip
        assert r2.status_code == 303, r2.text
        gates = web.request("GET", f"/s/{SITE}/gates")
        assert gates.status_code == 200 and "payload is not JSON" in gates.text
        assert re.search(r'id="dl-\d+"', gates.text)
    finally:
        watcher.close()
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for role, proc in procs.items():
            try:
                assert proc.wait(30) == 0, (tmp_path / f"{role}.log").read_text()[-3000:]
            finally:
                if proc.poll() is None:
                    proc.kill()
        db.close()
    stray = [p for p in tmp_path.rglob("*.sqlite")]
    assert stray == [], f"a process made its own SQLite store: {stray}"
