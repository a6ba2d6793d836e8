"""`edge bench state`: an office edit → in force at the collector, the notifier and a running gateway (#20).

Each round is ONE office edit, one transaction of the store: a new student with a card (the gateways' roster), a
guardian switching channel (the notifier), a new gateway registered (the collector). From its commit, the bench
times when each follower has it in force:
- collector: its GatewayRegistry lists the new gateway (a check-in from it would be stored, not dead-lettered);
- notifier: its LiveSchools directory sends that guardian's notices on the new channel;
- gateway: a real Gateway (in this process, over a real Mosquitto with TLS and the site PKI) has installed the
  roster the distributor built, signed and published, and would grant the new card.
Followers run as in production: StateWatcher (LISTEN/NOTIFY + poll on PostgreSQL, poll on SQLite), the
distributor, the gateway's distribution client. A script that prints figures (p50/p95 per follower); nothing is
asserted. The target (#20) is 10 s p95 for each.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from edge.bench.stats import summary

SITE = "bench-school"
CHANNELS = ("app", "app2")


def _central(work: Path) -> Path:
    text = f"""
schools:
  - id: {SITE}
    name: Trường Bench
    timezone: Asia/Ho_Chi_Minh
    channels:
      - {{name: app, type: webhook, url: "http://127.0.0.1:9/a", secret: bench-secret-0123456789}}
      - {{name: app2, type: webhook, url: "http://127.0.0.1:9/b", secret: bench-secret-0123456789}}
"""
    path = work / "central.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _seed(url: str, students: int) -> None:
    from edge.central.guardians import Guardian
    from edge.central.school import edits
    from edge.central.web.db import WebDb
    from edge.config.central import CalendarConfig, Term
    from edge.roster import Person

    today = datetime.now(UTC).date()
    db = WebDb(url)
    try:
        with db.transaction() as tx:
            edits.upsert_school(tx, SITE, name="Trường Bench", timezone="Asia/Ho_Chi_Minh")
            edits.set_calendar(
                tx, SITE, CalendarConfig(terms=[Term(name="T", start=date(today.year - 1, 9, 1), end=today)])
            )
            people = [Person(f"s{i:04d}", f"Học sinh {i}", f"{6 + i % 4}A", f"{0x0F00000000 + i:010X}") for i in
                      range(students)]  # fmt: skip
            edits.replace_students(tx, SITE, people, today=today)
            edits.replace_guardians(
                tx,
                SITE,
                [Guardian("g-s0000", "s0000", "Phụ huynh", None, None, "app", "vi", frozenset({"arrived"}))],
            )
            edits.register_gateway(tx, SITE, "gw-bench")
    finally:
        db.close()


def _gateway_cfg(work: Path, broker: Any, reader_port: int) -> Path:
    from edge.security.sealed import new_key_file

    new_key_file(work / "keys" / "gallery.key")
    (work / "roster.csv").write_text("person_id,name,class,card_uid\n", encoding="utf-8")
    data = {
        "site_id": SITE,
        "gateway_id": "gw-bench",
        "gates": [{"id": "main-in", "direction": "in", "mode": "card",
                   "readers": [{"id": "r1", "port": f"socket://127.0.0.1:{reader_port}"}]}],
        "broker": broker.client_config("gw-bench"),
        "storage": {"database": str(work / "gateway.sqlite")},
        "roster": {"path": str(work / "roster.csv")},
        "gallery": {"path": str(work / "gallery.npz"), "key_file": str(work / "keys" / "gallery.key")},
        "clock_check": "assume_synced",
        "metrics": {"enabled": False},
    }  # fmt: skip
    path = work / "gateway.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_bench(store_url: str, rounds: int, students: int, poll_s: float, work: Path) -> dict[str, Any]:
    from edge.central.collector.registry import GatewayRegistry
    from edge.central.distribution.centre import CentreStore
    from edge.central.distribution.distributor import Distributor, Published, Target
    from edge.central.school import edits
    from edge.central.school.live import LiveSchools
    from edge.central.store import open_store
    from edge.central.web.db import WebDb
    from edge.config.central import load_central_config
    from edge.config.loader import load_config
    from edge.devtools.mosquitto import MosquittoBroker, free_port
    from edge.gateway.service import Gateway
    from edge.roster import Person

    open_store(store_url).close()
    _seed(store_url, students)
    cfg = load_central_config(_central(work))
    lat: dict[str, list[float]] = {"collector": [], "notifier": [], "gateway": []}
    missed = dict.fromkeys(lat, 0)
    """Edits not in force within 60 s."""
    with MosquittoBroker(work / "broker", site=SITE) as broker:
        assert broker.pki is not None
        server_tls = broker.identity("bench-server", "server")
        assert server_tls is not None
        registry = GatewayRegistry(store_url, poll_s=poll_s).start()
        notifier = LiveSchools(WebDb(store_url), cfg, poll_s=poll_s).start(name="bench-notifier")
        server = LiveSchools(WebDb(store_url), cfg, poll_s=poll_s).start(name="bench-server")
        target = Target("127.0.0.1", broker.port, server_tls, "bench-server")
        dist = Distributor(server, CentreStore(work / "centre", b""), target)
        published: list[Published] = []
        dist.on_published = published.append
        dist.start()
        gw = Gateway(load_config(_gateway_cfg(work, broker, free_port())), drain_timeout_s=0.5)
        gw.start()
        assert gw.distribution is not None
        db = WebDb(store_url)

        def installed() -> int:
            # what the gateway has in force (read from its distribution client, not its roster database, which
            # only the gateway's own threads may use)
            assert gw.distribution is not None
            i = gw.distribution.installed.get("roster")
            return -1 if i is None else i.version

        try:
            deadline = time.monotonic() + 60
            while not published and time.monotonic() < deadline:
                time.sleep(0.05)  # the first roster, published when the distributor starts
            if published:
                gw.distribution.wait_installed("roster", published[-1].version, 60)
            for i in range(rounds):
                pid, gateway, channel = f"new{i:03d}", f"gw-new-{i:03d}", CHANNELS[(i + 1) % 2]
                state = server.state(SITE)
                assert state is not None
                people = [*state.students, Person(pid, f"Học sinh mới {i}", "6A", f"{0xABC0000000 + i:010X}")]
                before = len(published)
                with db.transaction() as tx:
                    edits.replace_students(tx, SITE, people, today=datetime.now(UTC).date(), full=False)
                    edits.set_guardian_channel(tx, SITE, "g-s0000", channel)
                    edits.register_gateway(tx, SITE, gateway)
                t0 = time.monotonic()
                pending = dict.fromkeys(lat)
                limit = t0 + 60
                while any(v is None for v in pending.values()) and time.monotonic() < limit:
                    now = time.monotonic()
                    known = registry.known() or set()
                    if pending["collector"] is None and f"{SITE}/{gateway}" in known:
                        pending["collector"] = now
                    d = notifier.get(SITE)
                    if pending["notifier"] is None and d is not None and d.guardians["s0000"][0].channel == channel:
                        pending["notifier"] = now
                    mine = [p for p in published[before:] if p.kind == "roster"]
                    if pending["gateway"] is None and mine and installed() >= mine[0].version:
                        pending["gateway"] = now
                    time.sleep(0.005)
                for k, at in pending.items():
                    if at is None:
                        missed[k] += 1
                    else:
                        lat[k].append((at - t0) * 1000)
        finally:
            db.close()
            gw.stop()
            dist.stop()
            for s in (server, notifier):
                s.stop()
                s.db.close()
            registry.stop()
    return {
        "store": store_url.split("://", maxsplit=1)[0],
        "rounds": rounds,
        "students": students,
        "poll_s": poll_s,
        "edit_to_in_force_ms": {k: summary(v) for k, v in lat.items()},
        "not_in_force_within_60s": missed,
    }


def run_and_print(
    store_url: str | None, postgres: bool, rounds: int, students: int, poll_s: float, json_path: Path | None
) -> None:
    """`edge bench state` (its options: edge/bench/commands.py): run it, figures on stderr, JSON on stdout."""
    with tempfile.TemporaryDirectory(prefix="edge-bench-state-") as tmp:
        work = Path(tmp)
        pg = None
        if postgres:
            from edge.devtools.postgres import PostgresServer

            pg = PostgresServer().start()
            store_url = pg.fresh_database()
        try:
            result = run_bench(store_url or f"sqlite:///{work / 'centre.sqlite'}", rounds, students, poll_s, work)
        finally:
            if pg is not None:
                pg.stop()
    click.echo(
        f"store {result['store']}, {students} students, {rounds} edits, poll {poll_s:g} s: edit → in force", err=True
    )
    for k, s in result["edit_to_in_force_ms"].items():
        missed = result["not_in_force_within_60s"][k]
        click.echo(f"  {k:<9} p50 {s['p50']} ms  p95 {s['p95']} ms  max {s['max']} ms  missed {missed}", err=True)
    text = json.dumps(result, indent=2)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)
