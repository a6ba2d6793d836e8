"""The systemd units (edge/ops/systemd, rendered by edge/ops/units.py): the keys the fleet relies on are there,
and `systemd-analyze verify` finds nothing to say about them (where systemd-analyze is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.ops.supervision import Supervision
from edge.ops.units import ROLES, Layout, UnitError, render_unit
from tests.system_tools import unavailable
from tests.units_support import parse

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.needs("systemd-analyze")


def layout(tmp: Path) -> Layout:
    # the prefix of this checkout, so ExecStart= names an executable that exists (verify checks it)
    return Layout(prefix=Path(sys.prefix).parent, config_dir=tmp / "etc", state_dir=tmp / "var")


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values is not None and len(values) == 1, f"{section}.{key}: {values}"
    return values[0]


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "User": "edge",
}


def test_gateway_unit_is_notify_with_watchdog_restart_dedicated_user_and_hardening(tmp_path: Path) -> None:
    lay = layout(tmp_path)
    unit = parse(render_unit("gateway", "gw-north", lay))
    svc = unit["Service"]
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "WatchdogSec") == "30s"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert one(unit, "Service", "ExecStart") == f"{lay.bin} gateway run -c {lay.config_dir}/config.yaml"
    assert one(unit, "Service", "ReadWritePaths") == str(lay.state_dir)
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key
    assert "ProtectClock" not in svc, "its filter denies adjtimex, which the clock check reads"
    assert set(svc["LoadCredential"]) == {
        f"gallery.key:{lay.config_dir}/gallery.key",
        f"gateway-gw-north.key:{lay.config_dir}/tls/gateway-gw-north.key",
    }
    assert one(unit, "Service", "DevicePolicy") == "closed" and "char-video4linux rw" in svc["DeviceAllow"]
    assert one(unit, "Install", "WantedBy") == "multi-user.target"
    assert "time-sync.target" in one(unit, "Unit", "After")


@pytest.mark.parametrize("role", ["gateway", "collector", "notifier"])
def test_watchdog_period_and_heartbeat_age_agree(role: str) -> None:
    """A loop is stuck after half of WatchdogSec: the next ping is withheld and systemd restarts in time."""
    wd = ROLES[role].watchdog_s
    assert wd is not None
    assert Supervision.heartbeat_max_age_s({"WATCHDOG_USEC": str(wd * 1_000_000)}) == wd / 2


def test_collector_unit_has_no_devices_and_a_watchdog_on_its_writer_loop(tmp_path: Path) -> None:
    lay = layout(tmp_path)
    unit = parse(render_unit("collector", "collector-1", lay))
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "WatchdogSec") == "60s"
    assert one(unit, "Service", "PrivateDevices") == "yes" and one(unit, "Service", "ProtectClock") == "yes"
    assert one(unit, "Service", "ExecStart").endswith(
        f"collector run --id collector-1 --ca {lay.config_dir}/tls/ca.crt"
        f" --cert {lay.config_dir}/tls/collector-collector-1.crt --key %d/collector-collector-1.key"
        f" --notify-config {lay.config_dir}/central.yaml"
    )
    assert unit["Service"]["EnvironmentFile"] == [f"{lay.config_dir}/centre.env", f"-{lay.config_dir}/collector.env"]
    assert one(unit, "Service", "LoadCredential") == (
        f"collector-collector-1.key:{lay.config_dir}/tls/collector-collector-1.key"
    )
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key


def test_notifier_is_notify_with_a_watchdog_longer_than_a_slow_send(tmp_path: Path) -> None:
    lay = layout(tmp_path)
    unit = parse(render_unit("notifier", "notifier-1", lay))
    assert one(unit, "Service", "Type") == "notify", "edge notify run sends READY=1 once its threads run"
    assert one(unit, "Service", "WatchdogSec") == "180s"
    assert one(unit, "Service", "ExecStart") == f"{lay.bin} notify run -c {lay.config_dir}/central.yaml"
    assert unit["Service"]["EnvironmentFile"] == [f"{lay.config_dir}/centre.env", f"-{lay.config_dir}/notifier.env"]
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(UnitError, match=r"unknown role"):
        render_unit("printer", "x")


def test_web_unit_is_notify_with_a_watchdog_on_its_live_feed(tmp_path: Path) -> None:
    lay = layout(tmp_path)
    unit = parse(render_unit("web", "web-1", lay))
    assert one(unit, "Service", "Type") == "notify", "edge server run sends READY=1 once uvicorn listens"
    assert one(unit, "Service", "WatchdogSec") == "60s"
    assert one(unit, "Service", "ExecStart") == (
        f"{lay.bin} server run -c {lay.config_dir}/central.yaml --store ${{EDGE_STORE_URL}}"
        f" --ca {lay.config_dir}/tls/ca.crt --cert {lay.config_dir}/tls/web-web-1.crt"
        f" --key %d/web-web-1.key --centre {lay.state_dir}/centre --centre-key-file %d/centre.key"
    )
    assert unit["Service"]["LoadCredential"] == [
        f"web-web-1.key:{lay.config_dir}/tls/web-web-1.key",
        f"centre.key:{lay.config_dir}/centre.key",
    ]
    assert unit["Service"]["EnvironmentFile"] == [f"{lay.config_dir}/centre.env", f"-{lay.config_dir}/web.env"]
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key


def verify(path: Path) -> str:
    assert ANALYZE is not None
    proc = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return (proc.stdout + proc.stderr).strip() + ("" if proc.returncode == 0 else f"\nexit {proc.returncode}")


@needs_analyze
@pytest.mark.parametrize("role", ["gateway", "collector", "notifier", "web"])
def test_systemd_analyze_verify_has_nothing_to_say(tmp_path: Path, role: str) -> None:
    path = tmp_path / f"edge-{role}.service"
    path.write_text(render_unit(role, "n1", layout(tmp_path)))
    assert verify(path) == ""


@needs_analyze
def test_systemd_analyze_verify_catches_a_mistyped_key(tmp_path: Path) -> None:
    """The check above can fail: verify reports a misspelt hardening key (it exits 0, so its output is checked)."""
    path = tmp_path / "edge-gateway.service"
    path.write_text(render_unit("gateway", "n1", layout(tmp_path)).replace("NoNewPrivileges=", "NoNewPrivilege="))
    assert "Unknown key 'NoNewPrivilege'" in verify(path)


@needs_analyze
@pytest.mark.parametrize("role", ["gateway", "collector", "notifier"])
def test_exposure_score_stays_low(tmp_path: Path, role: str) -> None:
    path = tmp_path / f"edge-{role}.service"
    path.write_text(render_unit(role, "n1", layout(tmp_path)))
    assert ANALYZE is not None
    proc = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout + proc.stderr)
    if m is None:
        unavailable(f"this systemd-analyze has no offline security check: {proc.stderr.strip()[:200]}")
    assert float(m.group(1)) <= 3.0, proc.stdout
