"""The channels' secrets are the notifier's alone (README "Deploy a school": they go in notifier.env, which only the
notifier's unit reads). Found by #20's acceptance test: central.yaml with `secret: ${EDGE_WEBHOOK_SECRET}` made
`edge school import`, `edge provision … --central` (and the collector and web units, which load the same file)
refuse to run without the notifier's secret. They send nothing, so they take it as unset; the notifier, which
sends, still refuses to start without it, naming the variable and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.config.central import load_central_config
from edge.config.loader import ConfigError
from edge.devtools.mosquitto import MosquittoBroker

CENTRAL = """
schools:
  - id: test-school
    name: Trường Thử
    timezone: Asia/Ho_Chi_Minh
    roster: roster.csv
    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-01-15}], cutoff: "07:45"}
    channels:
      - {name: app, type: webhook, url: "${EDGE_APP_URL:-https://app.example/hook}",
         secret: "${EDGE_WEBHOOK_SECRET}"}
      - {name: email, type: email, host: smtp.example, sender: "T <t@example>", username: u,
         password: "${EDGE_SMTP_PASSWORD}"}
"""


@pytest.fixture
def central(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("EDGE_WEBHOOK_SECRET", "EDGE_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "roster.csv").write_text("person_id,name,class,card_uid\nan,Nguyễn Văn An,6A,0F00000001\n")
    path = tmp_path / "central.yaml"
    path.write_text(CENTRAL, encoding="utf-8")
    path.chmod(0o640)
    return path


def test_a_process_that_sends_needs_the_secrets_one_that_does_not_starts_without(central: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_central_config(central)
    assert "EDGE_WEBHOOK_SECRET is not set" in str(err.value) and "EDGE_SMTP_PASSWORD is not set" in str(err.value)
    cfg = load_central_config(central, sends=False)
    assert [c.name for c in cfg.school("test-school").channels] == ["app", "email"]
    assert cfg.school("test-school").channel("app").url == "https://app.example/hook"  # type: ignore[union-attr]
    given = load_central_config(central, env={"EDGE_WEBHOOK_SECRET": "s" * 20}, sends=False)
    assert given.school("test-school").channel("app").secret == "s" * 20  # type: ignore[union-attr]


def test_import_and_provision_run_without_the_notifiers_secrets(
    central: Path, broker: MosquittoBroker, tmp_path: Path
) -> None:
    assert broker.pki is not None
    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    run = CliRunner().invoke(cli, ["school", "import", "--store", url, str(central)])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(cli, ["provision", "collector", "collector-1", "--site", broker.site, "--server",
                                   "127.0.0.1:8883", "--pki", str(broker.pki.dir), "--store", url, "--central",
                                   str(central), "--out", str(tmp_path / "bundle")])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (tmp_path / "bundle" / "central.yaml").read_text(encoding="utf-8") == CENTRAL
    # the notifier sends: without its secret it refuses to start, and says which variable, where
    run = CliRunner().invoke(cli, ["notify", "run", "-c", str(central), "--store", url, "--metrics", "off"])
    assert run.exit_code == 2
    assert "environment variable EDGE_WEBHOOK_SECRET is not set" in run.output
