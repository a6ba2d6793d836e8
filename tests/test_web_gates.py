"""The Gates page (#10) against a real gateway: the closed test broker (TLS, ACL), a gateway with its controller
running the real firmware in simavr, and the web app's GateMonitor as a `server` identity. A guard's "open gate"
is a command signed with the server's key; it pulses the simulated relay and its result is shown and audited."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.web import audit
from edge.central.web.gates import GateMonitor
from edge.central.web.i18n import translate
from edge.devtools.mosquitto import MosquittoBroker
from firmware_bridge.simulators.avr_sim import AvrGateSim
from tests.gate_support import RELAY1, Rig, start_rig, stop_rig
from tests.helpers import Watcher, wait_until
from tests.web_support import SITE, csrf_from, login, make_web


@pytest.fixture
def rig(tmp_path: Path, broker: MosquittoBroker, avr_sim: AvrGateSim, watcher: Watcher) -> Iterator[Rig]:
    r = start_rig(tmp_path / "gw", broker, avr_sim, watcher)
    yield r
    stop_rig(r)


@pytest.fixture
def web(tmp_path: Path, broker: MosquittoBroker, rig: Rig) -> Iterator[tuple[Any, TestClient, Rig]]:
    (tmp_path / "web").mkdir()
    ctx, app = make_web(tmp_path / "web")
    monitor = GateMonitor(
        "127.0.0.1", broker.port, "web-server", broker.identity("web-server", "server"), site_id=broker.site
    )
    ctx.gates = ctx.commands = monitor
    assert monitor.start(10), "the web server could not subscribe on the closed broker"
    wait_until(
        lambda: any(g["online"] and g["gateway_id"] == "gw-dev" for g in monitor.gateways(SITE)),
        30,  # the rig's controller in simavr and its first connect: seconds in a loaded full run
        "gw-dev online (retained status)",
    )
    with TestClient(app) as client:
        yield ctx, client, rig
    monitor.stop()
    ctx.close()


def _row(ctx: Any, gateway_id: str) -> dict[str, Any]:
    return next((g for g in ctx.gates.gateways(SITE) if g["gateway_id"] == gateway_id), {})


def test_guard_opens_the_gate_with_a_signed_command(web: tuple[Any, TestClient, Rig]) -> None:
    ctx, c, rig = web
    login(c, "guard")
    # the session broker retains other tests' gateways of this site too: look at gw-dev's own row
    wait_until(lambda: _row(ctx, "gw-dev").get("outbox_depth") is not None, 30, "a health report")
    page = c.get(f"/s/{SITE}/gates")
    assert page.status_code == 200
    assert 'id="gw-gw-dev"' in page.text and "Hoạt động" in page.text and 'id="open-gw-dev"' in page.text
    r = c.post(f"/s/{SITE}/gates/gw-dev/open", data={"csrf_token": csrf_from(page.text), "gate": "main-in"})
    assert r.status_code == 200
    assert 'class="result ok"' in r.text and "main-in" in r.text, r.text
    rig.sim.wait_pin(RELAY1, 1, 3)  # the relay of the simulated controller really closed
    sent, result = audit.recent(ctx.db, action="open_gate_sent"), audit.recent(ctx.db, action="open_gate_result")
    assert sent[0]["username"] == "guard" and sent[0]["detail"]["gateway"] == "gw-dev"
    assert result[0]["detail"]["ok"] is True
    # the command was signed by the server identity: the gateway's authorizer accepted it
    assert rig.gw.commands.authorizer is not None and rig.gw.commands.authorizer.refused == 0


def test_a_refused_command_shows_the_gateways_error(web: tuple[Any, TestClient, Rig]) -> None:
    ctx, c, _rig = web
    token = ctx.tokens.create("guard", "kiosk")
    r = c.post(
        f"/api/v1/schools/{SITE}/gates/gw-dev/open",
        headers={"Authorization": f"Bearer {token}"},
        json={"gate": "side-door"},
    )
    assert r.status_code == 200
    assert r.json()["ok"] is False and "unknown gate" in r.json()["error"]
    assert r.json()["error_code"] == "unknown_gate" and r.json()["error_fields"]["gate"] == "side-door"
    assert audit.recent(ctx.db, action="open_gate_result")[0]["detail"]["ok"] is False
    # the page says it in the guard's language, from the code (the gateway itself speaks English)
    login(c, "guard")
    c.cookies.set("edge_lang", "vi")
    page = c.get(f"/s/{SITE}/gates")
    shown = c.post(f"/s/{SITE}/gates/gw-dev/open", data={"csrf_token": csrf_from(page.text), "gate": "side-door"})
    said = translate("vi", "gates.error.unknown_gate", gate="side-door", gates="main-in")
    assert 'class="result fail"' in shown.text and html.escape(said) in shown.text, shown.text
    assert "unknown gate" not in shown.text


def test_only_guards_and_admins_open_gates(web: tuple[Any, TestClient, Rig]) -> None:
    ctx, c, _rig = web
    login(c, "office")
    page = c.get(f"/s/{SITE}/gates")
    assert page.status_code == 200 and 'id="open-gw-dev"' not in page.text, "office sees the gates, no button"
    r = c.post(f"/s/{SITE}/gates/gw-dev/open", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
    login(c, "teacher6a")
    assert c.get(f"/s/{SITE}/gates").status_code == 403
    assert c.get(f"/api/v1/schools/{SITE}/gates").status_code == 403
    login(c, "admin")
    unknown = c.post(f"/s/{SITE}/gates/gw-nope/open", data={"csrf_token": csrf_from(c.get(f"/s/{SITE}/gates").text)})
    assert unknown.status_code == 404
    assert audit.recent(ctx.db, action="open_gate_sent") == []


def test_monitor_tracks_status_health_and_device_alarms(tmp_path: Path) -> None:
    """The monitor's bookkeeping from messages alone (no broker needed): retained status, health, alarms raised
    and cleared on the device topic, a controller link going down, junk ignored."""
    m = GateMonitor("127.0.0.1", 1, "web-x", None, site_id=SITE)
    base = f"edge/v1/{SITE}/gw-9"
    m.handle(f"{base}/status", b"online", now=100.0)
    m.handle(f"{base}/health", json.dumps({"outbox_depth": 3, "fps": 7.5, "version": "1.2", "alarms": []}).encode())
    alarm = {"kind": "alarm", "name": "door_held_open", "controller": "ctl-1", "gate": "main-in", "active": True}
    m.handle(f"{base}/device", json.dumps(alarm).encode())
    m.handle(
        f"{base}/device",
        json.dumps(
            {"kind": "link", "name": "controller", "controller": "ctl-2", "gate": "side", "active": False}
        ).encode(),
    )
    m.handle(f"{base}/health", b"x" * 300_000)  # oversized: ignored
    (g,) = m.gateways(SITE)
    assert g["online"] and g["outbox_depth"] == 3 and g["fps"] == 7.5 and g["version"] == "1.2"
    assert g["gates"] == ["main-in", "side"]
    assert any("door_held_open" in a for a in g["alarms"]) and any("controller_offline" in a for a in g["alarms"])
    m.handle(f"{base}/device", json.dumps({**alarm, "active": False}).encode())
    m.handle(f"{base}/status", b"offline")
    (g,) = m.gateways(SITE)
    assert g["status"] == "offline" and not g["online"]
    assert not any("door_held_open" in a for a in g["alarms"])
    assert m.gateways("other-site") == []


def test_monitor_shows_the_gallery_and_roster_versions_the_centre_distributed() -> None:
    """The gateway's health carries its distribution snapshot (edge/gateway/distribution.py); Gates shows the
    versions, and nothing for a gateway on local files or with a malformed snapshot."""
    m = GateMonitor("127.0.0.1", 1, "web-x", None, site_id=SITE)
    dist = {"gallery": {"version": 7, "sha256": "ab" * 8}, "roster": {"version": 3, "sha256": "cd" * 8}}
    m.handle(f"edge/v1/{SITE}/gw-1/health", json.dumps({"outbox_depth": 0, "distribution": dist}).encode())
    m.handle(f"edge/v1/{SITE}/gw-2/health", json.dumps({"outbox_depth": 0, "distribution": None}).encode())
    m.handle(f"edge/v1/{SITE}/gw-3/health", json.dumps({"distribution": {"gallery": {"version": "7"}}}).encode())
    by_id = {g["gateway_id"]: g for g in m.gateways(SITE)}
    assert (by_id["gw-1"]["gallery_version"], by_id["gw-1"]["roster_version"]) == (7, 3)
    assert (by_id["gw-2"]["gallery_version"], by_id["gw-2"]["roster_version"]) == (None, None)
    assert by_id["gw-3"]["gallery_version"] is None
