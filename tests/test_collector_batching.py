"""The batching collector: batches bounded by count and time; several collectors in one shared group on one
PostgreSQL each store a share, every event once; a collector whose batch fails to commit has acknowledged
nothing of it, and its events are delivered again and stored once."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge.central.collector.service import BatchSettings, Collector, _Msg
from edge.central.store import CheckinStore, OnStored, Outcome, Reject, open_store
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from tests.collector_support import TOPIC, event
from tests.helpers import Watcher, wait_until


def test_batches_are_bounded_by_count_and_by_time(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "c.sqlite"))
    c = Collector(store, host="127.0.0.1", port=1, batch=BatchSettings(max_events=100, max_wait_ms=20))
    for i in range(250):
        c._queue.put(_Msg(i, 1, TOPIC, b"{}"))
    assert [len(c._next_batch()) for _ in range(3)] == [100, 100, 50]
    c._queue.put(_Msg(1, 1, TOPIC, b"{}"))
    assert len(c._next_batch()) == 1  # closed by its deadline, not by a full count
    assert c._next_batch() == []
    # a batch waits for what arrives while it is open: with a long deadline, one message and then 99 more from
    # another thread make ONE full batch (whenever they land within the minute)
    waiting = Collector(store, host="127.0.0.1", port=1, batch=BatchSettings(max_events=100, max_wait_ms=60_000))
    waiting._queue.put(_Msg(0, 1, TOPIC, b"{}"))

    def feed() -> None:
        for i in range(1, 100):
            waiting._queue.put(_Msg(i, 1, TOPIC, b"{}"))

    feeder = threading.Thread(target=feed, name="test-feeder")
    feeder.start()
    assert [m.mid for m in waiting._next_batch()] == list(range(100))
    feeder.join()
    store.close()


def test_two_collectors_on_postgresql_store_each_event_once(
    broker: MosquittoBroker, watcher: Watcher, postgres: PostgresServer
) -> None:
    url = postgres.fresh_database()
    collectors = [
        Collector(
            open_store(url),
            host="127.0.0.1",
            port=broker.port,
            collector_id=f"pg-pair-{i}",
            tls=broker.identity(f"pg-pair-{i}", "collector"),
            group="pgpair",
        )
        for i in (1, 2)
    ]
    for c in collectors:
        c.start()
    try:
        assert all(c.wait_ready(10) for c in collectors)
        events = [event(seq) for seq in range(1, 301)]
        fast = watcher.publisher_for(TOPIC)  # no wait per message: the collectors see a stream
        for e in events:
            fast.publish(TOPIC, json.dumps(e).encode(), qos=1)
        for e in events[:20]:  # retries: same event_ids
            watcher.publish(TOPIC, json.dumps(e).encode())
        wait_until(lambda: sum(c.stats.stored + c.stats.duplicates for c in collectors) == 320, 30, "all committed")
        assert all(c.stats.stored > 0 for c in collectors), "each collector stored a share"
        assert sum(c.stats.stored for c in collectors) == 300
        assert sum(c.stats.duplicates for c in collectors) == 20
        rows = list(collectors[0].store.checkins(order="seq"))
        assert [r["seq"] for r in rows] == list(range(1, 301))
    finally:
        for c in collectors:
            c.stop()
            c.store.close()


class FailingOnce(CheckinStore):
    """The real store, except that the first batch fails before its commit (a disk or a server gone)."""

    def __init__(self, inner: CheckinStore) -> None:
        self.inner = inner
        self.engine = inner.engine
        self.url = inner.url
        self.failed = False

    def store_batch(
        self, checkins: Sequence[dict[str, Any]], rejects: Sequence[Reject] = (), on_stored: OnStored | None = None
    ) -> list[Outcome]:
        if not self.failed:
            self.failed = True
            raise OSError("disk I/O error")
        return self.inner.store_batch(checkins, rejects, on_stored)

    def count(self, table: Any = "checkins") -> int:
        return self.inner.count(table)

    def checkins(self, since: Any = None, until: Any = None, order: Any = "time") -> Any:
        return self.inner.checkins(since, until, order)

    def rejects(self) -> list[dict[str, Any]]:
        return self.inner.rejects()

    def delete_before(self, cutoff: str, site_id: str | None = None) -> int:
        return self.inner.delete_before(cutoff, site_id)

    def backup(self, dest: Path) -> None:
        self.inner.backup(dest)

    def migrate(self) -> list[str]:
        return self.inner.migrate()

    def schema_version(self) -> int:
        return self.inner.schema_version()

    def close(self) -> None:
        self.inner.close()


def test_a_failed_batch_acknowledges_nothing_and_is_stored_once_later(
    broker: MosquittoBroker, watcher: Watcher, postgres: PostgresServer
) -> None:
    url = postgres.fresh_database()
    failing = FailingOnce(open_store(url))
    first = Collector(
        failing,
        host="127.0.0.1",
        port=broker.port,
        collector_id="crashy",
        tls=broker.identity("crashy", "collector"),
        group="crashy",
    )
    first.start()
    assert first.wait_ready(10)
    events = [event(seq) for seq in range(1, 51)]
    for e in events:
        watcher.publish(TOPIC, json.dumps(e).encode())
    wait_until(first.fatal.is_set, 15, "the collector to give up on its database")
    first.stop()
    assert failing.count() == 0 and first.stats.receipts == 0

    # the same collector comes back (same id: its session holds every unacknowledged message)
    second = Collector(
        open_store(url),
        host="127.0.0.1",
        port=broker.port,
        collector_id="crashy",
        tls=broker.identity("crashy", "collector"),
        group="crashy",
    )
    second.start()
    try:
        assert second.wait_ready(10)
        wait_until(lambda: second.store.count() == 50, 30, "every event of the failed batch stored")
        assert sorted(r["seq"] for r in second.store.checkins()) == list(range(1, 51))
    finally:
        second.stop()
        second.store.close()
        failing.close()


def test_collector_process_killed_mid_stream_loses_nothing(
    broker: MosquittoBroker, watcher: Watcher, postgres: PostgresServer, tmp_path: Path
) -> None:
    """kill -9 of `edge collector run` while batches are in flight; the same collector restarted gets every
    unacknowledged message again (its session), and each event is stored once."""
    import os
    import signal
    import subprocess
    import sys

    url = postgres.fresh_database()
    store = open_store(url)
    cmd = [sys.executable, "-m", "edge", "--log-level", "WARNING", "collector", "run"]
    cmd += [*broker.collector_args("killed-collector"), "--store", url, "--group", "killed"]

    def spawn() -> subprocess.Popen[bytes]:
        log = (tmp_path / "collector.log").open("ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        log.close()
        watcher.wait_for(
            lambda t, p: t == "edge/v1/collectors/killed-collector/status" and p == b"online", 30, "collector online"
        )
        return proc

    proc = spawn()
    # with --pki the collector accepts the PKI's gateways only: publish as one of them, on its site
    topic = f"edge/v1/{broker.site}/gw-1/checkin"
    events = [event(seq, site_id=broker.site) for seq in range(1, 3001)]
    fast = watcher.publisher_for(topic)
    try:
        for e in events:
            fast.publish(topic, json.dumps(e).encode(), qos=1)
        wait_until(lambda: store.count() > 0, 30, "the first batches stored")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stored_at_kill = store.count()
        proc = spawn()
        wait_until(lambda: store.count() == 3000, 60, "every event stored after the restart")
        rows = list(store.checkins(order="seq"))
        assert [r["seq"] for r in rows] == list(range(1, 3001))
        print(f"killed with {stored_at_kill}/3000 stored; all 3000 stored once after the restart")
    finally:
        proc.terminate()
        proc.wait(10)
        store.close()
