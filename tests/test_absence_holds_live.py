"""Never a false absence notice (#20), with the real processes: the closed Mosquitto, a collector recording its
witness in the store, a gateway with a card reader (RDM6300 simulator) behind a TCP link that can be cut, the
notifier and a webhook receiver standing for the parents' app. The cut-off is the next whole minute (the calendar
counts in minutes), so each test waits for it.

- healthy gates: the absence notice goes out as before, nothing held;
- the gateway stopped before the cut-off: nothing sent, the batch held (gateway stopped); it comes back, a late tap
  flows, the office releases: only the truly absent child's parent is told, once;
- the collector down before the cut-off: held (collector down);
- the whole school cut from the broker before the cut-off (its taps queued in the gateway's outbox): nothing sent,
  held; the network returns, the queued tap flows, release: only the truly absent, once (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from edge.central.collector.service import Collector
from edge.central.collector.witness import GateWitness
from edge.central.gates import holds
from edge.central.notify.absence import AbsenceGuard
from edge.central.notify.directory import load_directories
from edge.central.notify.hook import NotifyHook, arrivals, connect
from edge.central.notify.receivers import HttpReceiver
from edge.central.notify.worker import Notifier
from edge.central.school.edits import register_gateway
from edge.central.store import CheckinStore, open_store
from edge.central.web.db import WebDb
from edge.config import load_config
from edge.config.central import load_central_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import gateway_config, wait_until
from tests.uplink_support import Uplink

SITE = "test-school"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "webhook-secret-0123456789"
ROSTER = (
    "person_id,name,class,card_uid\n"
    "an,Nguyễn Văn An,6A,0F00000001\nbinh,Trần Thị Bình,6A,0F00000002\nchi,Lê Minh Chi,6A,0F00000003\n"
)
GUARDIANS = (
    "person_id,name,phone,email,channel,language,kinds\n"
    "an,Mẹ An,,,app,vi,absent\nbinh,Mẹ Bình,,,app,vi,absent\nchi,Mẹ Chi,,,app,vi,absent\n"
)
CARDS = {"an": "0F00000001", "binh": "0F00000002", "chi": "0F00000003"}


def next_cutoff(lead_s: float = 20.0) -> datetime:
    """The first whole minute at least `lead_s` from now, in the school's zone."""
    t = (datetime.now(TZ) + timedelta(seconds=lead_s + 60)).replace(second=0, microsecond=0)
    if t.hour == 0 and t.minute == 0:
        pytest.skip("the cut-off would fall on midnight (another school day)")
    return t


class Centre:
    def __init__(self, tmp: Path, broker: MosquittoBroker, url: str) -> None:
        self.tmp, self.broker, self.url = tmp, broker, url
        (tmp / "roster.csv").write_text(ROSTER)
        (tmp / "guardians.csv").write_text(GUARDIANS)
        self.receiver = HttpReceiver(secret=SECRET, dedupe=True)
        self.store: CheckinStore = open_store(url)
        self.db = WebDb(url, pool_size=2)
        with self.db.transaction() as tx:
            register_gateway(tx, SITE, "gw-1")
        self.uplink = Uplink(broker.port)  # the school's link to the broker
        self.sim = Rdm6300Simulator().start()
        gate = {
            "id": "main-in",
            "direction": "in",
            "mode": "card",
            "readers": [{"id": "reader-1", "port": self.sim.url}],
        }
        (tmp / "gw").mkdir()
        self.gw_cfg = load_config(
            gateway_config(
                tmp / "gw", broker, "gw-1", gate, ROSTER, broker={"port": self.uplink.port, "keepalive_s": 5}
            )
        )
        self.gateway: Gateway | None = None
        self.collector: Collector | None = None
        self.hook: NotifyHook | None = None
        self.notifier: Notifier | None = None
        self.cutoff = datetime.max.replace(tzinfo=TZ)

    def school_config(self) -> None:
        """central.yaml with the cut-off at the next whole minute that leaves the gates a full window
        (`holds.window_s`, 8 s) of health before it, counted from now: the processes are up."""
        self.cutoff = next_cutoff(lead_s=8 + 6)
        today = self.cutoff.date()
        data = {
            "schools": [{
                "id": SITE, "name": "Trường Thử", "timezone": "Asia/Ho_Chi_Minh",
                "roster": "roster.csv", "guardians": "guardians.csv",
                "calendar": {
                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "terms": [{"name": "T", "start": str(today - timedelta(days=2)),
                               "end": str(today + timedelta(days=2))}],
                    "cutoff": f"{self.cutoff:%H:%M}",
                },
                "channels": [{"name": "app", "type": "webhook", "url": self.receiver.url, "secret": SECRET}],
            }],
            "notify": {
                "poll_s": 0.1, "absence_grace_s": 1,
                "holds": {"window_s": 8, "max_gap_s": 2, "stale_s": 4, "stuck_outbox_s": 2},
            },
        }  # fmt: skip
        (self.tmp / "central.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        cfg = load_central_config(self.tmp / "central.yaml")
        directories = load_directories(cfg)
        self.hook = NotifyHook(directories)
        self.notifier = Notifier(cfg.notify, directories, lambda: connect(self.url), arrivals)

    # processes ---------------------------------------------------------------------------------------------
    def start_collector(self) -> None:
        self.collector = Collector(
            self.store, host="127.0.0.1", port=self.broker.port, collector_id="col-holds", group="col-holds",
            tls=self.broker.identity("col-holds", "collector"), on_stored=self._stored,
            witness=GateWitness(self.url, "col-holds", "edge/v1", beat_s=0.5),
        )  # fmt: skip
        self.collector.start()
        assert self.collector.wait_ready(20)

    def _stored(self, tx: Any, stored: list[dict[str, Any]]) -> None:
        """The notify hook, as the collector runs it (set once the school's config is written)."""
        if self.hook is not None:
            self.hook(tx, stored)

    def stop_collector(self) -> None:
        assert self.collector is not None
        self.collector.stop()
        self.collector = None

    def start_gateway(self) -> None:
        self.gateway = Gateway(self.gw_cfg)
        self.gateway.start()
        wait_until(self.sim.client_connected.is_set, 20, "the reader open")
        wait_until(lambda: self.link("status") == "online" and self.link("health_at") is not None, 20, "gw-1 seen")

    def stop_gateway(self) -> None:
        assert self.gateway is not None
        self.gateway.stop()
        self.gateway = None
        self.sim.client_connected.clear()

    def start(self) -> None:
        self.start_collector()
        self.start_gateway()
        self.school_config()
        assert self.notifier is not None
        self.notifier.start()

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        if self.gateway is not None:
            self.stop_gateway()
        if self.collector is not None:
            self.stop_collector()
        self.sim.stop()
        self.uplink.close()
        self.receiver.close()
        self.db.close()
        self.store.close()

    @property
    def guard(self) -> AbsenceGuard:
        assert self.notifier is not None and self.notifier.absence is not None
        return self.notifier.absence

    # the school day -------------------------------------------------------------------------------------------
    def link(self, column: str) -> Any:
        row = self.db.one(f"SELECT {column} FROM gateway_links WHERE site_id = ? AND gateway_id = ?", (SITE, "gw-1"))
        return row[column] if row else None

    def tap(self, person: str) -> None:
        self.sim.tap(CARDS[person])

    def stored(self, person: str) -> bool:
        return any(r["person_id"] == person for r in self.store.checkins())

    def wait_cutoff(self) -> None:
        """Until the notifier's pass after cut-off + grace has run (its counters move, or a batch is held)."""
        wait_until(lambda: datetime.now(TZ) >= self.cutoff + timedelta(seconds=1), 120, "the cut-off + grace")

    def batch(self) -> holds.HeldBatch | None:
        with self.db.transaction() as tx:
            found = holds.batches(tx, SITE)
        return found[0] if found else None

    def absent_jobs(self) -> list[str]:
        return [r["person_id"] for r in self.db.query("SELECT person_id FROM notify_jobs WHERE kind = 'absent'")]

    def absence_notices(self) -> list[str]:
        return sorted(r.body["person_id"] for r in self.receiver.received if r.body["kind"] == "absent")

    def release(self) -> None:
        b = self.batch()
        assert b is not None
        with self.db.transaction() as tx:
            assert holds.decide(tx, SITE, b.id, "release", "office")
        wait_until(lambda: (x := self.batch()) is not None and x.status == "released", 30, "the batch released")


@pytest.fixture
def centre(broker: MosquittoBroker, tmp_path: Path) -> Iterator[Centre]:
    c = Centre(tmp_path, broker, f"sqlite:///{tmp_path}/centre.sqlite")
    yield c
    c.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_centre(request: pytest.FixtureRequest, broker: MosquittoBroker, tmp_path: Path) -> Iterator[Centre]:
    url = f"sqlite:///{tmp_path}/centre.sqlite"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").fresh_database()
    c = Centre(tmp_path, broker, url)
    yield c
    c.close()


def test_healthy_gates_send_the_absence_notice_as_before(centre: Centre) -> None:
    c = centre
    c.start()
    c.tap("an")
    wait_until(lambda: c.stored("an"), 20, "An's tap stored")
    c.wait_cutoff()
    assert c.receiver.wait_for(2, 30), c.receiver.received
    assert c.absence_notices() == ["binh", "chi"]
    assert c.batch() is None and c.guard.gates_down[SITE] is False


def test_gateway_stopped_before_the_cutoff_holds_then_release_tells_only_the_absent(centre: Centre) -> None:
    c = centre
    c.start()
    c.tap("an")
    wait_until(lambda: c.stored("an"), 20, "An's tap stored")
    c.stop_gateway()  # its retained status says 'stopped'; Bình's tap at the gate now would be lost
    wait_until(lambda: c.link("status") == "stopped", 20, "gw-1 stopped, witnessed")
    c.wait_cutoff()
    wait_until(lambda: c.batch() is not None, 30, "the batch held")
    b = c.batch()
    assert b is not None and b.status == "held" and b.students == 2
    assert ("gateway_down", "gw-1", "stopped") in [(r.code, r.gateway, r.status) for r in b.reasons]
    assert c.absent_jobs() == [] and c.absence_notices() == []
    wait_until(
        lambda: c.guard.gates_down.get(SITE) is True,
        20,
        "the gates-down alarm",
    )
    assert c.notifier is not None and c.notifier.counters["absence_held"] == 2
    # the gateway comes back; Bình arrives late and taps
    c.start_gateway()
    c.tap("binh")
    wait_until(lambda: c.stored("binh"), 20, "Bình's tap stored")
    c.release()
    assert c.receiver.wait_for(1, 30)
    b = c.batch()
    assert b is not None and (b.queued, b.arrived_since) == (1, 1)
    assert c.absent_jobs() == ["chi"]
    wait_until(lambda: c.absence_notices() == ["chi"], 30, "Chi's parent told")
    assert c.receiver.duplicates == 0


def test_collector_down_before_the_cutoff_holds(centre: Centre) -> None:
    c = centre
    c.start()
    c.tap("an")
    wait_until(lambda: c.stored("an"), 20, "An's tap stored")
    c.stop_collector()
    c.wait_cutoff()
    wait_until(lambda: c.batch() is not None, 30, "the batch held")
    b = c.batch()
    assert b is not None and "collector_down" in [r.code for r in b.reasons]
    assert c.absent_jobs() == [] and c.absence_notices() == []


def test_network_cut_of_the_whole_school_sends_nothing_false(any_centre: Centre) -> None:
    c = any_centre
    c.start()
    c.tap("an")
    wait_until(lambda: c.stored("an"), 20, "An's tap stored")
    c.uplink.cut()  # the school's network is down: the broker publishes gw-1's last will
    wait_until(lambda: c.link("status") == "offline", 20, "gw-1 offline, witnessed")
    c.tap("binh")  # recorded at the gate, queued in its outbox
    assert c.gateway is not None
    wait_until(lambda: c.gateway is not None and c.gateway.outbox.depth() == 1, 20, "Bình's tap in the outbox")
    c.wait_cutoff()
    wait_until(lambda: c.batch() is not None, 30, "the batch held")
    b = c.batch()
    assert b is not None and b.status == "held" and b.students == 2
    assert ("gateway_down", "offline") in [(r.code, r.status) for r in b.reasons]
    assert c.absent_jobs() == [] and c.absence_notices() == []
    occurred = time.time()
    c.uplink.restore()  # the network returns: the outbox flows
    wait_until(lambda: c.stored("binh"), 60, "Bình's queued tap stored")
    row = next(r for r in c.store.checkins() if r["person_id"] == "binh")
    tapped = datetime.fromisoformat(row["occurred_at"].replace("Z", "+00:00"))
    assert tapped < c.cutoff and tapped.timestamp() < occurred  # before the cut-off: on time, not absent
    c.release()
    wait_until(lambda: c.absence_notices() == ["chi"], 30, "Chi's parent told")
    assert c.absent_jobs() == ["chi"] and c.receiver.duplicates == 0
    assert datetime.now(UTC) > c.cutoff
