"""`edge config validate` checks the files a config names: a missing roster or TLS file is an error with the
file:line of its key (the gateway would refuse to start); a missing gallery or key is a warning (cards only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.config import load_config
from edge.config.loader import ConfigError, ConfigIssue

BROKER = "broker:\n  host: 127.0.0.1\n  insecure_plaintext: true\n"

CONFIG = """\
site_id: school-1
gateway_id: gw-1
gates:
  - id: main
    direction: in
    cameras:
      - id: cam-1
        source: videos/gate.mp4
    readers:
      - id: r1
        port: socket://127.0.0.1:4001
roster:
  path: people/roster.csv
gallery:
  path: gallery.npz
  key_file: keys/gallery.key
storage:
  database: var/gateway.sqlite
"""
CONFIG += BROKER


def write(tmp: Path, text: str = CONFIG) -> Path:
    path = tmp / "config.yaml"
    path.write_text(text)
    return path


def run(path: Path) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["config", "validate", str(path)])
    return res.exit_code, res.output


def test_missing_roster_and_video_are_errors_at_their_lines(tmp_path: Path) -> None:
    code, out = run(write(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'config.yaml'}:13: roster.path: roster {tmp_path / 'people/roster.csv'} does not exist" in out
    assert (
        f"config.yaml:8: gates[0].cameras[0].source: camera video {tmp_path / 'videos/gate.mp4'} does not exist" in out
    )
    assert "2 problem(s)" in out
    # the gallery and its key are warnings: the gateway would run on cards alone
    assert "warning: " in out and "config.yaml:15: gallery.path: gallery" in out and "cards alone" in out
    assert "config.yaml:16: gallery.key_file: gallery key" in out


def test_all_files_present_is_ok(tmp_path: Path) -> None:
    for rel in ("people/roster.csv", "videos/gate.mp4", "gallery.npz", "keys/gallery.key"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    code, out = run(write(tmp_path))
    assert code == 0, out
    assert "OK (site school-1" in out and "warning" not in out


def test_key_credential_replaces_the_key_file(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    (tmp_path / "people/roster.csv").write_text("x")
    text = CONFIG.replace("source: videos/gate.mp4", "source: rtsp://cam/stream").replace(
        "  key_file: keys/gallery.key", "  key_credential: gallery.key"
    )
    warnings: list[ConfigIssue] = []
    load_config(write(tmp_path, text), check_files=True, warnings=warnings)
    assert [w.path for w in warnings] == ["gallery.path"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_roster_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    roster = tmp_path / "people/roster.csv"
    roster.write_text("x")
    roster.chmod(0)
    with pytest.raises(ConfigError, match="not readable by this user"):
        load_config(write(tmp_path, CONFIG.replace("source: videos/gate.mp4", "source: '0'")), check_files=True)


def test_missing_tls_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    (tmp_path / "people/roster.csv").write_text("x")
    (tmp_path / "ca.crt").write_text("x")
    text = CONFIG.replace("source: videos/gate.mp4", "source: rtsp://cam/stream").replace(
        BROKER, "broker:\n  host: 127.0.0.1\n  tls:\n    ca: ca.crt\n    cert: gw.crt\n    key: gw.key\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), check_files=True)
    assert [(i.line, i.path) for i in exc.value.issues] == [(23, "broker.tls.cert"), (24, "broker.tls.key")]
    assert "TLS cert" in str(exc.value) and "edge provision" in str(exc.value)


def test_loading_without_the_check_does_not_touch_the_disk(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path))  # what the gateway, reloads and tools do: only the model is checked
    assert cfg.roster.path == str(tmp_path / "people/roster.csv")
