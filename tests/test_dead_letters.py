"""Dead letters, listed and replayed (#20): a real collector on the closed broker dead-letters the tap of a gateway
it does not know ("unknown gateway"); once the gateway is in the store's registry, `edge collector dead-letters
replay` stores that tap exactly once — a second replay stores nothing — and every attempt is audited. What cannot
be stored yet (not a check-in, a gateway still unknown) is refused with its reason and stays pending. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.central.collector.service import Collector
from edge.central.school.edits import register_gateway
from edge.central.store import open_store
from edge.central.web import audit
from edge.central.web.db import WebDb
from edge.cli import cli
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from tests.helpers import Watcher

SITE = "test-school"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    return url


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["collector", "dead-letters", *args])
    return res.exit_code, res.output


def tap(gateway: str, seq: int = 1) -> dict[str, Any]:
    return CheckIn(
        new_event_id(),
        SITE,
        gateway,
        "main-in",
        "in",
        rfc3339_ms(),
        seq,
        "card",
        "p1",
        "granted",
        card_uid="0F00A1B2C3",
    ).to_dict()


def count(url: str, event_id: str) -> int:
    db = WebDb(url)
    try:
        return len(db.query("SELECT 1 FROM checkins WHERE event_id = ?", (event_id,)))
    finally:
        db.close()


def test_an_unknown_gateways_tap_is_replayed_once_after_it_is_registered(
    broker: MosquittoBroker, watcher: Watcher, store_url: str
) -> None:
    gw = f"gw-{uuid.uuid4().hex[:6]}"
    broker.identity(gw, "gateway")  # the broker lets it publish; the collector's list predates it
    name = f"col-{gw}"
    store = open_store(store_url)
    collector = Collector(
        store,
        host=broker.host,
        port=broker.port,
        collector_id=name,
        group=name,
        tls=broker.identity(name, "collector"),
        known_gateways={f"{SITE}/some-other-gateway"},
    )
    collector.start()
    try:
        assert collector.wait_ready(10)
        event = tap(gw)
        watcher.publish(f"edge/v1/{SITE}/{gw}/checkin", json.dumps(event).encode())
        _t, receipt = watcher.wait_for(lambda t, _p: t == f"edge/v1/{SITE}/{gw}/receipt", 15, "the receipt")
        assert json.loads(receipt)["status"] == "rejected", "dead-lettered: the gateway deletes its copy"
    finally:
        collector.stop()
        store.close()

    code, out = run("list", "--store", store_url, "--site", SITE, "--pending", "--json")
    assert code == 0, out
    [row] = [json.loads(line) for line in out.splitlines() if json.loads(line)["gateway_id"] == gw]
    assert row["state"] == "pending" and row["event_id"] == event["event_id"]
    assert row["reason"].startswith("unknown gateway")
    code, out = run("show", "--store", store_url, str(row["id"]))
    assert code == 0 and f'"event_id": "{event["event_id"]}"' in out

    code, out = run("replay", "--store", store_url, str(row["id"]))
    assert code == 1 and "refused" in out and "not in the store's registry" in out, "still unknown: refused"
    assert count(store_url, event["event_id"]) == 0

    db = WebDb(store_url)
    try:
        with db.transaction() as tx:
            register_gateway(tx, SITE, gw)
    finally:
        db.close()
    code, out = run("replay", "--store", store_url, "--by", "it-admin", str(row["id"]))
    assert code == 0 and "stored" in out, out
    assert count(store_url, event["event_id"]) == 1
    code, out = run("replay", "--store", store_url, "--by", "it-admin", str(row["id"]))
    assert code == 0 and "already_stored" in out, out
    code, out = run("replay", "--store", store_url, "--all-pending", "--site", SITE)
    assert f"{row['id']:>6}" not in out, "a stored one is no longer pending"
    assert count(store_url, event["event_id"]) == 1, "replaying again stores nothing new"
    code, out = run("list", "--store", store_url, "--site", SITE, "--json")
    [after] = [json.loads(line) for line in out.splitlines() if json.loads(line)["id"] == row["id"]]
    assert after["state"] == "stored"

    db = WebDb(store_url)
    try:
        trail = [r["detail"] for r in audit.recent(db, action="dead_letter_replay") if r["detail"]["gateway"] == gw]
    finally:
        db.close()
    assert [t["outcome"] for t in reversed(trail)] == ["refused", "stored", "already_stored"]


def test_what_cannot_be_a_check_in_is_refused_with_its_reason(store_url: str) -> None:
    store = open_store(store_url)
    try:
        store.reject(f"edge/v1/{SITE}/gw-x/checkin", "payload is not JSON", b"{not json")
        other = {**tap("gw-y"), "site_id": "other-school"}
        store.reject("edge/v1/other-school/gw-y/checkin", "unknown gateway", json.dumps(other).encode())
    finally:
        store.close()
    code, out = run("list", "--store", store_url, "--site", SITE, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["gateway_id"] for r in rows] == ["gw-x"], "--site: that school's only"
    code, out = run("replay", "--store", store_url, "--all-pending")
    assert code == 1
    assert "payload is not JSON" in out and "other-school/gw-y is not in the store's registry" in out
    code, out = run("replay", "--store", store_url, "999999")
    assert code == 1 and "not_found" in out
    code, out = run("replay", "--store", store_url)
    assert code == 2 and "--all-pending" in out
