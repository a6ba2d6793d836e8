"""End to end: card taps at a gateway (RDM6300 simulator) → MQTT → collector (store + notify hook) → notifier →
a notice at each real receiver (webhook server checking the signature, SMTP with STARTTLS, SMS gateway, the MQTT
broker), in each guardian's language, once; nothing about denied cards or anyone else's child."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from edge.central.collector.service import Collector
from edge.central.notify import jobs as q
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, arrivals, connect
from edge.central.notify.receivers import HttpReceiver, SmtpReceiver
from edge.central.notify.worker import Notifier
from edge.central.store import open_store
from edge.config import load_config
from edge.config.central import load_central_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import Watcher, gateway_config, wait_until

SECRET = "webhook-secret-0123456789"
ROSTER = "person_id,name,class,card_uid\nminh_anh,Nguyễn Minh Anh,6A,0F00A1B2C3\nbao,Trần Bảo,7B,0F00D4E5F6\n"
GUARDIANS = (
    "person_id,name,phone,email,channel,language,kinds\n"
    "minh_anh,Bình,0912 345 678,,app,vi,arrived;absent\n"
    "minh_anh,Jane,,jane@example.com,email,en,arrived\n"
    "minh_anh,Lan,0987 654 321,,sms,vi,arrived\n"
    "minh_anh,Tom,,,push,en,arrived\n"
    "bao,Hoa,0912 000 111,,sms,vi,arrived\n"
)


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, SmtpReceiver, HttpReceiver]]:
    app, smtp, sms = HttpReceiver(secret=SECRET, dedupe=True), SmtpReceiver(), HttpReceiver(key_field="ref")
    yield app, smtp, sms
    app.close()
    smtp.close()
    sms.close()


def central_yaml(tmp: Path, broker: MosquittoBroker, app: HttpReceiver, smtp: SmtpReceiver, sms: HttpReceiver) -> Path:
    (tmp / "guardians.csv").write_text(GUARDIANS)
    today = datetime.now(UTC).date()
    term = {"name": "T", "start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=2))}
    files = broker.identity("notifier", "server")  # the closed broker: a client certificate for the notifier
    assert files is not None
    push = {"name": "push", "type": "mqtt", "host": "127.0.0.1", "port": broker.port}
    push.update({"ca": str(files.ca), "cert": str(files.cert), "key": str(files.key)})
    data = {
        "schools": [
            {
                "id": "test-school",
                "name": "Trường Thử",
                "timezone": "Asia/Ho_Chi_Minh",
                "roster": "roster.csv",
                "guardians": "guardians.csv",
                "calendar": {
                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "terms": [term],
                    "cutoff": "24:00",  # whenever the test runs, an arrival is on time
                },
                "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
                "channels": [
                    {"name": "app", "type": "webhook", "url": app.url, "secret": "${WEBHOOK_SECRET}"},
                    {"name": "email", "type": "email", "host": "127.0.0.1", "port": smtp.port,
                     "cafile": str(smtp.cafile), "sender": "Trường Thử <diemdanh@school.example>"},
                    {"name": "sms", "type": "sms_http", "url": sms.url, "ascii": True},
                    push,
                ],
            }
        ],
        "notify": {"poll_s": 0.1, "backoff_initial_s": 0.2, "backoff_max_s": 1},
    }  # fmt: skip
    path = tmp / "central.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def test_card_taps_to_parents(
    broker: MosquittoBroker,
    watcher: Watcher,
    tmp_path: Path,
    receivers: tuple[HttpReceiver, SmtpReceiver, HttpReceiver],
) -> None:
    app, smtp, sms = receivers
    sim = Rdm6300Simulator().start()
    gate = {"id": "main-in", "direction": "in", "mode": "card", "readers": [{"id": "reader-1", "port": sim.url}]}
    gw_cfg = load_config(gateway_config(tmp_path, broker, "gw-1", gate, ROSTER))
    cfg = load_central_config(central_yaml(tmp_path, broker, app, smtp, sms), env={"WEBHOOK_SECRET": SECRET})
    directories = load_directories(cfg)
    url = f"sqlite:///{tmp_path}/central.sqlite"
    store = open_store(url)
    collector = Collector(
        store, host="127.0.0.1", port=broker.port, collector_id="col-notify", group="col-notify",
        tls=broker.identity("col-notify", "collector"), on_stored=NotifyHook(directories),
    )  # fmt: skip
    notifier = Notifier(cfg.notify, directories, lambda: connect(url), arrivals)
    gw = Gateway(gw_cfg)
    collector.start()
    assert collector.wait_ready(10)
    notifier.start()
    try:
        gw.start()
        wait_until(sim.client_connected.is_set, 10, "reader open")
        sim.tap("0F00A1B2C3")  # Minh Anh: granted
        sim.tap("DEADBEEF00")  # not on the roster: denied, nobody is told
        wait_until(lambda: store.count() == 2, 20, "two check-ins stored")
        sim.tap("0F00D4E5F6")  # Bảo: granted
        wait_until(lambda: store.count() == 3, 20, "three check-ins stored")
        assert app.wait_for(1, 30) and smtp.wait_for(1, 30) and sms.wait_for(2, 30)
        topic, payload = watcher.wait_for(lambda t, _p: "/notify/" in t, 30, "the MQTT notice")
        wait_until(lambda: notifier.counters["sent"] == 5, 30, "five notices sent")
    finally:
        gw.stop()
        sim.stop()
        notifier.stop()
        collector.stop()
    rows = {r["person_id"]: r for r in store.checkins()}
    arrived = datetime.fromisoformat(rows["minh_anh"]["occurred_at"].replace("Z", "+00:00"))
    hhmm = f"{arrived.astimezone(directories['test-school'].calendar.tz):%H:%M}"
    arrived_bao = datetime.fromisoformat(rows["bao"]["occurred_at"].replace("Z", "+00:00"))
    hhmm_bao = f"{arrived_bao.astimezone(directories['test-school'].calendar.tz):%H:%M}"

    assert [r.body["text"] for r in app.received] == [f"Nguyễn Minh Anh (6A) đã đến trường lúc {hhmm} (cổng chính)."]
    assert app.rejected_signatures == 0 and app.received[0].body["guardian_id"] == "minh_anh-g1"
    mail = smtp.received[0].body
    assert mail["to"] == ["jane@example.com"] and mail["tls"] is True and mail["language"] == "en"
    assert mail["text"] == f"Nguyễn Minh Anh (6A) arrived at school at {hhmm} (main gate)."
    texts = sorted((r.body["to"], r.body["text"]) for r in sms.received)
    assert texts == [
        ("+84912000111", f"Tran Bao (7B) da den truong luc {hhmm_bao} (cong chinh)."),
        ("+84987654321", f"Nguyen Minh Anh (6A) da den truong luc {hhmm} (cong chinh)."),
    ]
    assert topic == "edge/v1/test-school/notify/minh_anh-g4"
    assert json.loads(payload)["text"] == f"Nguyễn Minh Anh (6A) arrived at school at {hhmm} (main gate)."
    # exactly once everywhere; the denied card told nobody anything
    assert app.duplicates == smtp.duplicates == sms.duplicates == 0
    conn, dialect = connect(url)
    try:
        counts = {(c, s): n for _k, c, s, n in q.status(conn, dialect).counts}
    finally:
        conn.close()
    assert counts == {("app", "sent"): 1, ("email", "sent"): 1, ("sms", "sent"): 2, ("push", "sent"): 1}
    store.close()


def test_collector_refuses_a_school_the_store_does_not_hold(tmp_path: Path) -> None:
    """`edge collector run --notify-config` queues notices for the schools the store holds (#20): a school named in
    central.yaml but never imported stops the start with what to do, before anything is collected; and a broken
    guardians file is refused at the import, with every problem listed."""
    from click.testing import CliRunner

    from edge.cli import cli

    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "guardians.csv").write_text(GUARDIANS + "ghost,X,,,app,vi,\n")
    (tmp_path / "central.yaml").write_text(
        "schools:\n  - id: s\n    name: S\n    roster: roster.csv\n    guardians: guardians.csv\n"
        "    calendar: {terms: [{name: T, start: 2026-09-05, end: 2027-01-16}]}\n"
        "    channels: [{name: app, type: webhook, url: 'http://127.0.0.1:9/', secret: 0123456789abcdef}]\n"
    )
    from edge.central.collector.commands import collector_run

    # a lab broker without TLS, where the collector has the switch for it (the TLS work adds it)
    lab = ["--insecure-plaintext"] if "insecure_plaintext" in {p.name for p in collector_run.params} else []
    result = CliRunner().invoke(
        cli,
        ["collector", "run", "--store", f"sqlite:///{tmp_path}/c.sqlite", "--metrics", "off", *lab,
         "--notify-config", str(tmp_path / "central.yaml")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "the store does not hold school 's'" in result.output and "edge school import" in result.output
    imported = CliRunner().invoke(
        cli, ["school", "import", str(tmp_path / "central.yaml"), "--store", f"sqlite:///{tmp_path}/c.sqlite"]
    )
    assert imported.exit_code == 2
    assert "line 7: person_id 'ghost' is not in the roster" in imported.output
    assert "channel 'email' is not one of this school's channels ['app']" in imported.output
