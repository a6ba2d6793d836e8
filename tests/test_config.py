"""Config validation: the shipped file, unknown keys, wrong types, env placeholders, the CLI's exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.config import ConfigError, load_config, parse_config_text

REPO = Path(__file__).resolve().parent.parent

GOOD = """\
site_id: school-1
gateway_id: gw-1
gates:
  - id: main
    direction: in
    readers:
      - id: r1
        port: socket://127.0.0.1:4001
broker:
  host: broker.local
  password: ${MQTT_PW}
  tls: {ca: tls/ca.crt, cert: tls/client.crt, key: tls/client.key}
"""


def issue_tls(folder: Path, gateway: str = "gw-1") -> None:
    """The identity files GOOD names (tls/ca.crt, client.crt, client.key) from a real site PKI."""
    from edge.security.pki import Pki

    pki = Pki(folder / "pki")
    pki.init("school-1")
    ident = pki.issue(gateway, "gateway")
    (folder / "tls").mkdir(exist_ok=True)
    (folder / "tls" / "ca.crt").write_bytes(pki.ca_cert_path.read_bytes())
    (folder / "tls" / "client.crt").write_bytes(ident.cert_path.read_bytes())
    (folder / "tls" / "client.key").write_bytes(ident.key_path.read_bytes())


def test_the_broker_is_closed_unless_the_config_says_insecure() -> None:
    no_tls = GOOD.replace("  tls: {ca: tls/ca.crt, cert: tls/client.crt, key: tls/client.key}\n", "")
    assert any("broker.tls (ca, cert, key) is required" in f for f in issues_of(no_tls))
    lab = parse_config_text(no_tls + "  insecure_plaintext: true\n", file="c.yaml", env={"MQTT_PW": "x"})
    assert lab.broker.tls is None and lab.broker.insecure_plaintext
    assert any("exclude each other" in f for f in issues_of(GOOD + "  insecure_plaintext: true\n"))
    unsigned = no_tls + "  insecure_plaintext: true\ncommands:\n  require_signature: false\n"
    assert not parse_config_text(unsigned, file="c.yaml", env={"MQTT_PW": "x"}).commands.require_signature
    found = issues_of(GOOD + "commands:\n  require_signature: false\n")
    assert any("require_signature: false is allowed only with broker.insecure_plaintext" in f for f in found)


def issues_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config_text(text, file="c.yaml", env={"MQTT_PW": "x"} if env is None else env)
    return [str(i) for i in exc.value.issues]


def test_shipped_config_is_valid() -> None:
    cfg = load_config(REPO / "config.yaml", env={})
    assert cfg.site_id == "demo-school"
    assert cfg.broker.port == 8883  # an unquoted placeholder keeps the YAML type
    assert cfg.gates[0].cameras[0].source == "0"
    assert Path(cfg.storage.database).is_absolute()


def test_good_config_and_env_secret() -> None:
    cfg = parse_config_text(GOOD, env={"MQTT_PW": "s3cret"})
    assert cfg.broker.password == "s3cret"
    assert cfg.gates[0].readers[0].baudrate == 9600
    assert cfg.mqtt_client_id == "edge-gw-school-1-gw-1"


def test_unknown_key_reported_with_path_and_line() -> None:
    text = GOOD.replace("    direction: in\n", "    direction: in\n    colour: red\n")
    assert issues_of(text) == ["c.yaml:6: gates[0].colour: unknown key"]


def test_unknown_top_level_key() -> None:
    assert issues_of(GOOD + "extra: 1\n") == ["c.yaml:13: extra: unknown key"]


def test_wrong_types_all_reported_at_once() -> None:
    text = GOOD.replace("direction: in", "direction: sideways").replace(
        "host: broker.local", "host: broker.local\n  port: abc"
    )
    found = issues_of(text)
    assert len(found) == 2
    assert found[0].startswith("c.yaml:5: gates[0].direction: Input should be 'in' or 'out'")
    assert found[1].startswith("c.yaml:11: broker.port: Input should be a valid integer")


def test_string_is_not_silently_a_number() -> None:
    found = issues_of(GOOD.replace("port: socket://127.0.0.1:4001", "port: socket://x:1\n        baudrate: '9600'"))
    assert found[0].startswith("c.yaml:9: gates[0].readers[0].baudrate: Input should be a valid integer")


def test_missing_env_var() -> None:
    found = issues_of(GOOD, env={})
    assert found == ["c.yaml:11: broker.password: environment variable MQTT_PW is not set (from '${MQTT_PW}')"]


def test_env_default_used_when_unset() -> None:
    cfg = parse_config_text(GOOD.replace("${MQTT_PW}", "${MQTT_PW:-fallback}"), env={})
    assert cfg.broker.password == "fallback"


def test_missing_required_key() -> None:
    assert issues_of(GOOD.replace("gateway_id: gw-1\n", "")) == ["c.yaml:1: gateway_id: required key is missing"]


def test_duplicate_gate_ids_rejected() -> None:
    text = GOOD.replace(
        "broker:",
        "  - id: main\n    direction: out\n    readers:\n      - id: r2\n        port: /dev/ttyS1\nbroker:",
    )
    found = issues_of(text)
    assert any("duplicate gate id(s): main" in f for f in found)


def test_gate_mode_needs_its_inputs() -> None:
    found = issues_of(GOOD.replace("direction: in", "direction: in\n    mode: face"))
    assert any("mode 'face' needs at least one camera" in f for f in found)


def test_duplicate_yaml_key_and_bad_yaml() -> None:
    assert any("duplicate key" in f for f in issues_of(GOOD + "site_id: again\n"))
    bad = issues_of("site_id: [unclosed\n")
    assert bad[0].startswith("c.yaml:2: <top>: not valid YAML")


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.replace("${MQTT_PW}", "x"))
    (tmp_path / "roster.csv").write_text("person_id,name,class,card_uid\n")  # validate checks it exists
    issue_tls(tmp_path)
    res = runner.invoke(cli, ["config", "validate", str(good)])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("direction: in", "direction: in\n    colour: red"))
    res = runner.invoke(cli, ["config", "validate", str(bad)], env={"MQTT_PW": "x"})
    assert res.exit_code == 1
    assert f"{bad}:6: gates[0].colour: unknown key" in res.output

    res = runner.invoke(cli, ["config", "validate", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1
    assert "cannot read the file" in res.output


def test_console_script_validates_shipped_config(tmp_path: Path) -> None:
    """The shipped config names its identity files under EDGE_TLS_DIR (default /etc/edge/tls): valid once they
    exist, and a clear error naming the missing file before that."""
    import os

    edge = Path(sys.executable).parent / "edge"

    def validate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        cmd = [str(edge), "config", "validate", str(REPO / "config.yaml")]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **env})

    missing = validate({"EDGE_TLS_DIR": str(tmp_path / "nothing-here")})
    assert missing.returncode == 1 and "ca.crt" in missing.stdout + missing.stderr
    issue_tls(tmp_path, "gw-01")
    res = validate({"EDGE_TLS_DIR": str(tmp_path / "tls")})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "OK (site demo-school" in res.stdout
