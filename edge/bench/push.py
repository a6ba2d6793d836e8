"""`edge bench push`: card tap -> push message accepted by the push service, at a morning peak.

N students arrive within M minutes (a steady stream plus bursts of `--burst` check-ins in one second, as in
`edge bench notify`); each check-in is stored the collector's way (a batch with the notify hook in its
transaction); each student has two guardians on the Web Push channel with `--devices` subscribed devices each.
The push service is the local one of the tests (edge/central/notify/push_service.py): it verifies every VAPID
token and decrypts every message with the device's keys before answering 201, so the figure includes the whole
RFC 8291 / RFC 8292 path on both ends. Measured: check-in stored (the job's created_at, written in the storing
transaction) -> message accepted at the push service, per device, p50/p95/max; deliveries, losses and repeats
counted at the push service. A script that prints figures; nothing is asserted.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from edge.bench.notify import _arrival_offsets
from edge.bench.stats import summary


def run_bench(
    students: int, minutes: float, burst: int, devices: int, store_url: str | None, seed: int
) -> dict[str, Any]:
    from edge.central.notify import push_subscriptions as subs
    from edge.central.notify.channels.webpush import load_vapid_key, public_key_b64, write_vapid_key
    from edge.central.notify.directory import load_directories
    from edge.central.notify.hook import NotifyHook, connect
    from edge.central.notify.push_service import LocalPushService
    from edge.central.notify.worker import Notifier
    from edge.central.store import open_store
    from edge.config.central import load_central_config

    with tempfile.TemporaryDirectory(prefix="edge-bench-push-") as tmp_name:
        tmp = Path(tmp_name)
        write_vapid_key(tmp / "vapid.pem")
        service = LocalPushService(public_key_b64(load_vapid_key(tmp / "vapid.pem")))
        try:
            (tmp / "roster.csv").write_text(
                "person_id,name,class,card_uid\n" + "".join(f"p{i:05d},Học Sinh {i},6A,\n" for i in range(students))
            )
            rows = ["person_id,name,phone,email,channel,language,kinds"]
            for i in range(students):
                rows += [f"p{i:05d},Phụ huynh A,,,push,vi,arrived", f"p{i:05d},Parent B,,,push,en,arrived"]
            (tmp / "guardians.csv").write_text("\n".join(rows) + "\n")
            today = datetime.now(UTC).date()
            config = {
                "schools": [{
                    "id": "bench", "name": "Trường", "timezone": "Asia/Ho_Chi_Minh",
                    "roster": "roster.csv", "guardians": "guardians.csv",
                    "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "cutoff": "24:00",
                                 "terms": [{"name": "T", "start": str(today - timedelta(days=1)),
                                            "end": str(today + timedelta(days=1))}]},
                    "gates": {"main-in": {"vi": "cổng chính", "en": "main gate"}},
                    "channels": [{"name": "push", "type": "webpush", "vapid_key_file": "vapid.pem",
                                  "subject": "mailto:it@school.example", "rate_per_s": 500, "burst": 500}],
                }],
                "notify": {"poll_s": 0.1, "batch": 50},
            }  # fmt: skip
            (tmp / "central.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
            cfg = load_central_config(tmp / "central.yaml")
            directories = load_directories(cfg)
            url = store_url or f"sqlite:///{tmp}/central.sqlite"
            store = open_store(url)
            conn, dialect = connect(url)
            started_setup = time.monotonic()
            for i in range(students):
                for g in (1, 2):
                    for d in range(devices):
                        b = service.subscribe(f"p{i:05d}-g{g}-d{d}")
                        subs.add(conn, dialect, site="bench", guardian_id=f"p{i:05d}-g{g}", endpoint=b.endpoint,
                                 p256dh=b.p256dh, auth=b.auth)  # fmt: skip
            setup_s = time.monotonic() - started_setup
            hook = NotifyHook(directories)
            notifier = Notifier(cfg.notify, directories, lambda: connect(url))
            notifier.start()
            offsets = _arrival_offsets(students, minutes * 60, burst, seed)
            expected = students * 2 * devices
            started = time.monotonic()
            i = 0
            try:
                while i < len(offsets):  # the collector's batching: what arrived by now, in one transaction
                    now = time.monotonic() - started
                    if offsets[i] > now:
                        time.sleep(min(0.005, offsets[i] - now))
                        continue
                    batch = []
                    while i < len(offsets) and offsets[i] <= now:
                        batch.append({
                            "schema_version": 1, "event_id": f"e{i}", "site_id": "bench", "gateway_id": "gw",
                            "gate": "main-in", "direction": "in", "seq": i, "method": "card",
                            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                            "person_id": f"p{i:05d}", "decision": "granted",
                        })  # fmt: skip
                        i += 1
                    store.store_batch(batch, on_stored=hook)
                service.wait_for(expected, 300)
                drained_s = time.monotonic() - started
            finally:
                notifier.stop()
            created = {r[0]: float(r[1]) for r in conn.execute("SELECT key, created_at FROM notify_jobs").fetchall()}
            conn.close()
            store.close()
            latency: list[float] = []
            seen: set[str] = set()
            for r in service.received:
                key = str(r.body.get("idempotency_key"))
                if r.key not in seen and key in created:
                    seen.add(r.key)
                    latency.append((r.at_wall - created[key]) * 1000)
            return {
                "students": students,
                "guardians": 2 * students,
                "devices": expected,
                "minutes": minutes,
                "burst": burst,
                "store": url.split("://", 1)[0],
                "subscriptions_stored_in_s": round(setup_s, 1),
                "all_pushes_in_s": round(drained_s, 1),
                "delivered": service.distinct,
                "lost": expected - service.distinct,
                "repeated": service.duplicates,
                "refused_by_push_service": len(service.refused),
                "stored_to_accepted_ms": summary(latency),
                "notifier": dict(notifier.counters),
            }
        finally:
            service.close()


def run_and_print(
    students: int, minutes: float, burst: int, devices: int, store_url: str | None, seed: int, json_path: Path | None
) -> None:
    """`edge bench push` (its options: edge/bench/commands.py): run it, figures on stderr, JSON on stdout."""
    result = run_bench(students, minutes, burst, devices, store_url, seed)
    s = result["stored_to_accepted_ms"]
    click.echo(
        f"{students} students in {minutes:g} min (bursts of {burst}), 2 guardians x {devices} device(s), store "
        f"{result['store']}: delivered {result['delivered']}/{result['devices']}, lost {result['lost']}, repeated "
        f"{result['repeated']}; tap→push accepted p50 {s['p50']} ms  p95 {s['p95']} ms  max {s['max']} ms",
        err=True,
    )
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)
