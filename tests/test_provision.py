"""`edge provision`: one folder with a validated config (absolute paths), the site CA, the machine's certificate
and key, its systemd unit and install.sh; idempotent; --dry-run writes and issues nothing; the provisioned
gateway config reaches `online` on a real broker."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from edge.cli import cli
from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.gateway.service import Gateway
from edge.ops.provision import plan
from edge.ops.units import Layout
from edge.security.pki import Pki, describe, load_cert
from tests.helpers import Watcher
from tests.system_tools import require

PREFIX = str(Path(sys.prefix).parent)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    p = Pki(tmp_path / "pki")
    p.init("st-marys")
    return p


def provision(pki: Pki, out: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli,
        [
            "provision",
            *args,
            "--site",
            "st-marys",
            "--server",
            "mqtt.school.example",
            "--pki",
            str(pki.dir),
            "--out",
            str(out),
            "--prefix",
            PREFIX,
        ],
    )
    return res.exit_code, res.output


def test_gateway_bundle(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = provision(pki, out, "gateway", "gw-north")
    assert code == 0, text
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == {
        "config.yaml",
        "roster.csv",
        "tls/ca.crt",
        "tls/crl.pem",
        "tls/gateway-gw-north.crt",
        "tls/gateway-gw-north.key",
        "edge-gateway.service",
        "install.sh",
    }
    assert stat.S_IMODE((out / "tls/gateway-gw-north.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700, "the bundle holds a private key"
    assert describe(load_cert(out / "tls/gateway-gw-north.crt")) == ("gw-north", "gateway", "st-marys")
    assert (out / "tls/ca.crt").read_bytes() == pki.ca_cert_path.read_bytes()

    cfg = load_config(out / "config.yaml", env={})
    assert (cfg.site_id, cfg.gateway_id, cfg.broker.host, cfg.broker.port) == (
        "st-marys",
        "gw-north",
        "mqtt.school.example",
        8883,
    )
    raw = yaml.safe_load((out / "config.yaml").read_text())
    for path in (raw["storage"]["database"], raw["roster"]["path"], raw["gallery"]["path"], raw["gallery"]["key_file"]):
        assert path.startswith("/"), f"{path}: relative paths break once the file is copied to /etc/edge"
    assert raw["broker"]["tls"] == {
        "ca": "/etc/edge/tls/ca.crt",
        "cert": "/etc/edge/tls/gateway-gw-north.crt",
        # the unit's LoadCredential= (named as the file), else the file
        "key": "${CREDENTIALS_DIRECTORY:-/etc/edge/tls}/gateway-gw-north.key",
        "crl": "/etc/edge/tls/crl.pem",
    }
    unit = (out / "edge-gateway.service").read_text()
    assert f"ExecStart={PREFIX}/.venv/bin/edge gateway run -c /etc/edge/config.yaml" in unit
    assert "note: roster.csv is empty until the centre publishes" in text
    assert "note: install.sh makes this gateway's own gallery key" in text and not (out / "gallery.key").exists()
    assert "systemctl enable --now edge-gateway.service" in (out / "install.sh").read_text()
    assert subprocess.run(["sh", "-n", str(out / "install.sh")], check=False).returncode == 0, "install.sh parses"
    require("systemd-analyze")  # last: without it only this check is left out (and under CI=true it fails)
    res = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(out / "edge-gateway.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (res.stdout + res.stderr).strip() == ""


def test_install_makes_the_gateways_own_gallery_key_once(pki: Pki, tmp_path: Path) -> None:
    """The gallery comes from the centre (edge distribution); each gateway seals it at rest with a key of its own,
    made on the machine by install.sh: a valid key file, 0600, and not replaced when the script runs again."""
    from edge.security.sealed import read_key_file

    out = tmp_path / "out"
    assert provision(pki, out, "gateway", "gw-key")[0] == 0
    script = (out / "install.sh").read_text()
    step = next(line for line in script.splitlines() if "gallery.key" in line and "urandom" in line)
    etc = tmp_path / "etc"
    etc.mkdir()
    local = step.replace("/etc/edge", str(etc))
    assert subprocess.run(["sh", "-c", local], check=False).returncode == 0
    key = read_key_file(etc / "gallery.key")  # 64 hex characters, mode 0600 (read_key_file refuses others)
    assert subprocess.run(["sh", "-c", local], check=False).returncode == 0
    assert read_key_file(etc / "gallery.key") == key, "an existing key is kept: its gallery stays readable"
    assert stat.S_IMODE((etc / "gallery.key").stat().st_mode) == 0o600
    assert provision(pki, tmp_path / "c", "collector", "c-1")[0] == 0
    assert "urandom" not in (tmp_path / "c" / "install.sh").read_text()


def test_idempotent(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert provision(pki, out, "gateway", "gw-north")[0] == 0
    cert = (out / "tls/gateway-gw-north.crt").read_bytes()
    code, text = provision(pki, out, "gateway", "gw-north")
    assert code == 0
    states = [
        line.split()[0]
        for line in text.splitlines()
        if line.split() and line.split()[0] in ("new", "changed", "unchanged")
    ]
    assert states and set(states) == {"unchanged"}, text
    assert (out / "tls/gateway-gw-north.crt").read_bytes() == cert, "the same certificate, not a new one"


def test_dry_run_writes_and_issues_nothing(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = provision(pki, out, "gateway", "gw-south", "--dry-run")
    assert code == 0, text
    assert not out.exists() and pki.get("gw-south") is None
    assert "would write new" in text and "config.yaml" in text and "would issue a gateway certificate" in text


def test_centre_bundles_share_one_centre_env_and_keep_their_own_identities(pki: Pki, tmp_path: Path) -> None:
    """#20: the notifier once ran on central.sqlite while the collector and the web app wrote collector.sqlite, and
    each bundle installed its identity as tls/client.{crt,key}, so the last one installed replaced the others."""
    store = "postgresql://edge@db.school.example/edge"
    for role, name in (("collector", "collector-1"), ("notifier", "notifier-1"), ("web", "web-1")):
        code, text = provision(pki, tmp_path / role, role, name, "--store", store)
        assert code == 0, text
    envs = {role: (tmp_path / role / "centre.env").read_text() for role in ("collector", "notifier", "web")}
    assert len(set(envs.values())) == 1, "one store URL, one broker, one central configuration for all"
    env = dict(line.split("=", 1) for line in envs["collector"].splitlines() if line and not line.startswith("#"))
    assert env == {
        "EDGE_STORE_URL": store,
        "EDGE_MQTT_HOST": "mqtt.school.example",
        "EDGE_MQTT_PORT": "8883",
        "EDGE_CENTRAL_CONFIG": "/etc/edge/central.yaml",
    }
    metrics = {(tmp_path / r / f"{r}.env").read_text() for r in ("collector", "notifier", "web")}
    assert len(metrics) == 3, "each role its own metrics port"
    files = {
        role: {p.relative_to(tmp_path / role).as_posix() for p in (tmp_path / role / "tls").iterdir()}
        for role in ("collector", "notifier", "web")
    }
    assert files["collector"] == {
        "tls/ca.crt",
        "tls/crl.pem",
        "tls/collector-collector-1.crt",
        "tls/collector-collector-1.key",
    }
    assert "tls/web-web-1.key" in files["web"] and "tls/notifier-notifier-1.key" in files["notifier"]
    all_names = [f for names in files.values() for f in names if not f.startswith(("tls/ca", "tls/crl"))]
    assert len(all_names) == len(set(all_names)), "no two bundles install the same identity file"
    assert describe(load_cert(tmp_path / "collector" / "tls/collector-collector-1.crt"))[1] == "collector"
    assert describe(load_cert(tmp_path / "web" / "tls/web-web-1.crt"))[1] == "server"

    code, text = provision(pki, tmp_path / "other", "web", "web-2")  # no --store: the default, a different one
    assert code == 0 and "no --store" in text
    assert (tmp_path / "other" / "centre.env").read_text() != envs["web"]


def test_install_refuses_a_second_centre_role_with_another_store(pki: Pki, tmp_path: Path) -> None:
    """install.sh's guard, run with /etc/edge replaced by a folder of the test: the same centre.env passes, a
    different one stops the install before anything is copied."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert provision(pki, a, "collector", "collector-1", "--store", "sqlite:////srv/one.sqlite")[0] == 0
    assert provision(pki, b, "web", "web-1", "--store", "sqlite:////srv/two.sqlite")[0] == 0
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "centre.env").write_bytes((a / "centre.env").read_bytes())  # the collector installed first

    def guard(bundle: Path) -> subprocess.CompletedProcess[str]:
        script = (bundle / "install.sh").read_text()
        start = script.index("if [ -e /etc/edge/centre.env ]")
        block = script[start : script.index("fi\n", start) + 3].replace("/etc/edge", str(etc))
        return subprocess.run(["sh", "-c", block], cwd=bundle, capture_output=True, text=True, check=False)

    assert guard(a).returncode == 0
    script = (a / "install.sh").read_text()
    copy = script[script.index("for f in *.yaml") : script.index("done", script.index("for f in *.yaml")) + 4]
    local = copy.replace("/etc/edge", str(etc)).replace("install -m 0640 -o root -g edge", "install -m 0640")
    (etc / "tls").mkdir()
    (etc / "collector.env").write_text("EDGE_METRICS=127.0.0.1:9200\n")  # the site's own setting
    assert subprocess.run(["sh", "-c", local], cwd=a, check=False).returncode == 0
    assert (etc / "collector.env").read_text() == "EDGE_METRICS=127.0.0.1:9200\n", "a role's own file is kept"
    assert (etc / "tls" / "collector-collector-1.crt").exists()
    refused = guard(b)
    assert refused.returncode == 1 and "one store and one broker" in refused.stderr
    assert "two.sqlite" in refused.stderr


def test_collector_bundle_and_refusals(pki: Pki, tmp_path: Path) -> None:
    code, text = provision(pki, tmp_path / "c", "collector", "collector-1")
    assert code == 0, text
    env = (tmp_path / "c" / "centre.env").read_text()
    assert "EDGE_MQTT_HOST=mqtt.school.example" in env and "EDGE_STORE_URL=sqlite:////var/lib/edge/centre.sqlite" in env
    code, text = provision(pki, tmp_path / "n", "notifier", "notifier-1")
    assert code == 0, text
    assert "no --central: copy central.yaml" in text
    code, text = provision(pki, tmp_path / "w", "web", "web-1")
    assert code == 0, text
    assert "edge server user add" in text and "HTTPS" in text
    code, text = provision(pki, tmp_path / "x2", "collector", "web-1")
    assert code == 1 and "already issued as a server" in text
    other = Pki(tmp_path / "other")
    other.init("another-school")
    code, text = provision(other, tmp_path / "x", "gateway", "gw-x")
    assert code == 1 and "not 'st-marys'" in text
    code, text = provision(pki, tmp_path / "y", "gateway", "gw/evil")
    assert code == 1 and "part of MQTT topics" in text


def test_provisioned_gateway_goes_online_on_the_closed_broker(broker: MosquittoBroker, tmp_path: Path) -> None:
    """The site's broker (TLS, client certificates, per-identity ACL) accepts the provisioned gateway as it is."""
    assert broker.pki is not None
    lay = Layout(prefix=Path(PREFIX), config_dir=tmp_path / "etc", state_dir=tmp_path / "var")
    p = plan(
        "gateway",
        "gw-north",
        site=broker.pki.site,
        server=f"127.0.0.1:{broker.port}",
        out=lay.config_dir,
        pki_dir=broker.pki.dir,  # the site PKI the broker trusts
        layout=lay,
    )
    p.write()  # the bundle, written where install.sh would put it
    broker.reload()  # the broker learns the new identity's ACL (what a site does after issuing one)
    (tmp_path / "var").mkdir()
    cfg = load_config(lay.config_dir / "config.yaml", env={})
    # this machine has no camera or serial port: the gate gets a reader on a socket nobody listens on
    gate = cfg.gates[0].model_copy(
        update={
            "cameras": [],
            "readers": [cfg.gates[0].readers[0].model_copy(update={"port": f"socket://127.0.0.1:{free_port()}"})],
        }
    )
    assert cfg.broker.tls is not None and cfg.broker.tls.key == str(lay.config_dir / "tls/gateway-gw-north.key")
    watcher = Watcher(broker, f"edge/v1/{broker.pki.site}/gw-north/status", client_id="provision-watcher")
    gw = Gateway(cfg.model_copy(update={"gates": [gate]}))
    gw.start()
    try:
        watcher.wait_for(lambda _t, payload: payload == b"online", 30, "online")
    finally:
        gw.stop()
        watcher.close()
