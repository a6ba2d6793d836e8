"""`edge doctor` against real parts: a video file as the camera, a simulated RDM6300 on a socket, the session's
Mosquitto, a sealed gallery, a real outbox. Every problem found comes with a fix; the exit code says whether
something failed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.outbox import Outbox
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import FACES, gallery_key, gateway_config, write_video

ROSTER = "person_id,name,class,card_uid\nobama,Barack Obama,12A,\nrose,Rose Leslie,11C,62E3086CED\n"


def doctor(config: Path, *args: str) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    res = CliRunner().invoke(cli, ["doctor", "-c", str(config), "--timeout", "5", "--json", *args])
    by_name: dict[str, list[dict[str, Any]]] = {}
    for check in json.loads(res.stdout):
        by_name.setdefault(check["name"], []).append(check)
    return res.exit_code, by_name


def status(checks: dict[str, list[dict[str, Any]]], name: str) -> str:
    return str(checks[name][0]["status"])


@pytest.fixture
def reader() -> Any:
    sim = Rdm6300Simulator().start()
    yield sim
    sim.stop()


def setup_gateway(tmp: Path, broker_port: MosquittoBroker | int, reader_port: int, roster: str = ROSTER) -> Path:
    (tmp / "photos" / "obama").mkdir(parents=True)
    shutil.copy(FACES / "obama_1.jpg", tmp / "photos" / "obama" / "1.jpg")
    enroll(tmp / "gallery.npz", photos_from_folder(tmp / "photos"), EnrolSettings(jitters=1), key=gallery_key(tmp))
    write_video(tmp / "gate.mp4", [(FACES / "obama_2.jpg", 5)])
    gate = {
        "id": "main-in",
        "direction": "in",
        "mode": "card_or_face",
        "cameras": [{"id": "cam-1", "source": str(tmp / "gate.mp4")}],
        "readers": [{"id": "reader-1", "port": f"socket://127.0.0.1:{reader_port}"}],
    }
    return gateway_config(tmp, broker_port, "gw-doctor", gate, roster, clock_check="assume_synced")


def test_a_healthy_gateway(broker: MosquittoBroker, reader: Rdm6300Simulator, tmp_path: Path) -> None:
    code, checks = doctor(setup_gateway(tmp_path, broker, reader.port))
    assert code == 0, checks
    assert status(checks, "config") == "ok"
    assert status(checks, "camera cam-1") == "ok" and "delivers frames (640x360)" in checks["camera cam-1"][0]["detail"]
    assert status(checks, "reader reader-1") == "ok"
    assert "accepts this gateway" in checks["broker"][0]["detail"]
    assert status(checks, "broker") == "ok" and "(TLS)" in checks["broker"][0]["detail"]  # its own certificate
    assert status(checks, "identity") == "ok"
    assert checks["identity"][0]["detail"] == f"certificate gw-doctor, role gateway, site {broker.site}"
    assert status(checks, "roster") == "ok" and checks["roster"][0]["detail"].startswith("2 people, sha256 ")
    assert status(checks, "gallery") == "ok" and "1 templates of 1 people" in checks["gallery"][0]["detail"]
    assert status(checks, "disk") == "ok" and status(checks, "outbox") == "ok"
    assert status(checks, "clock") == "warn" and "assume_synced" in checks["clock"][0]["detail"]
    assert (
        CliRunner().invoke(cli, ["doctor", "-c", str(tmp_path / "config.yaml"), "--timeout", "5", "--strict"]).exit_code
        == 2
    ), "--strict: warnings fail too"


def test_a_plaintext_broker_is_a_warning_with_its_fix(reader: Rdm6300Simulator, tmp_path: Path) -> None:
    plain = MosquittoBroker(tmp_path / "plain-mosquitto", insecure_plaintext=True).start()
    try:
        _code, checks = doctor(setup_gateway(tmp_path, plain.port, reader.port))
    finally:
        plain.stop()
    assert status(checks, "broker") == "warn"
    assert "plaintext" in checks["broker"][0]["fix"], "no TLS configured: said, with the fix"


def test_problems_are_found_and_each_has_a_fix(broker: MosquittoBroker, tmp_path: Path) -> None:
    roster = ROSTER + "kit,Kit Harington,11C,62E3086CED\n"  # rose's card twice
    config = setup_gateway(tmp_path, free_port(), free_port(), roster)  # no broker, no reader listening there
    ob = Outbox(tmp_path / "gateway.sqlite")

    def event(seq: int) -> tuple[str, str, str]:
        return "edge/v1/test-school/gw-doctor/checkin", f"id-{seq}", json.dumps({"seq": seq})

    for _ in range(120):
        ob.append(event)
    ob.close()
    (tmp_path / "gallery.npz").write_bytes(b"not a gallery")
    code, checks = doctor(config)
    assert code == 1
    assert status(checks, "broker") == "fail" and "no connection" in checks["broker"][0]["detail"]
    assert status(checks, "reader reader-1") == "fail"
    assert status(checks, "roster") == "fail" and "line 4" in checks["roster"][0]["detail"]
    assert status(checks, "outbox") == "warn" and checks["outbox"][0]["detail"].startswith("120 check-in(s) waiting")
    assert status(checks, "gallery") == "warn" and "cards alone" in checks["gallery"][0]["detail"]
    for group in checks.values():
        for check in group:
            if check["status"] != "ok":
                assert check["fix"], f"{check['name']} has no fix"


def test_an_invalid_config_stops_at_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("site_id: s\ngateway_id: g\ngates: []\n")
    code, checks = doctor(config)
    assert code == 1 and list(checks) == ["config"]
    assert any("config.yaml:3: gates" in c["detail"] for c in checks["config"]), checks


def test_no_devices_skips_the_hardware(broker: MosquittoBroker, tmp_path: Path) -> None:
    code, checks = doctor(setup_gateway(tmp_path, broker, free_port()), "--no-devices")
    assert code == 0 and not any(n.startswith(("camera", "reader")) for n in checks)


def test_the_broker_check_leaves_the_running_gateway_connected_and_sees_a_revoked_certificate(
    broker: MosquittoBroker, reader: Rdm6300Simulator, tmp_path: Path
) -> None:
    import subprocess
    import sys
    import threading

    import yaml

    from tests.helpers import client

    config = setup_gateway(tmp_path, broker, reader.port)
    # the running gateway: its session on the broker, and its pid file naming a live `edge gateway run` process
    data = yaml.safe_load(config.read_text())
    service = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)", "edge", "gateway", "run"], stdin=subprocess.DEVNULL
    )
    (Path(data["storage"]["database"]).parent / "gateway.pid").write_text(f"{service.pid}\n")
    running = client(broker, "gw-doctor", "gateway")  # the gateway's own session, as the service holds it
    gone = threading.Event()
    running.on_disconnect = lambda *_a: gone.set()
    try:
        _code, checks = doctor(config, "--no-devices")
        assert status(checks, "broker") == "ok", checks["broker"]
        assert "not probed because the gateway is running" in checks["broker"][0]["detail"]
        running.publish("edge/v1/test-school/gw-doctor/health", b"{}", qos=1).wait_for_publish(5)
        assert not gone.is_set(), "the doctor's check took over the running gateway's session"
    finally:
        running.disconnect()
        running.loop_stop()
        service.kill()
        service.wait()

    revoked = tmp_path / "revoked"
    revoked.mkdir()
    config = setup_gateway(revoked, broker, reader.port)
    data = yaml.safe_load(config.read_text())
    data["gateway_id"], data["broker"] = "gw-doctor-revoked", broker.client_config("gw-doctor-revoked")
    config.write_text(yaml.safe_dump(data))
    broker.revoke("gw-doctor-revoked")
    _code, checks = doctor(config, "--no-devices", "--no-probe")
    assert status(checks, "broker") == "fail" and "TLS refused" in checks["broker"][0]["detail"], checks["broker"]


def test_a_stale_pid_file_does_not_count_as_a_running_gateway(tmp_path: Path) -> None:
    import subprocess
    import sys

    from edge.gateway import pidfile

    db = tmp_path / "gateway.sqlite"
    assert not pidfile.running(db)  # no file
    pidfile.write(db)  # this pytest process: alive, but not an edge gateway
    assert not pidfile.running(db)
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())", "edge", "gateway"],
        check=True,
        capture_output=True,
        text=True,
    )
    pidfile.path_for(db).write_text(done.stdout)  # an edge gateway that has exited (kill -9, power cut)
    assert not pidfile.running(db)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "edge", "gateway", "run"])
    try:
        pidfile.path_for(db).write_text(f"{alive.pid}\n")
        assert pidfile.running(db)
    finally:
        alive.kill()
        alive.wait()
