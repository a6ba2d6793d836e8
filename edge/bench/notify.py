"""`edge bench notify`: a morning peak through the store and the notifier to local channel receivers.

N students arrive within M minutes (a steady stream plus bursts of `--burst` check-ins in one second); each
check-in is stored the collector's way (a batch with the notify hook in its transaction) and each student has two
guardians: webhook in Vietnamese, and SMS gateway in Vietnamese without diacritics (`--second email`: email in
English over SMTP with STARTTLS), all real local servers. `--outage-at S --outage-s D` takes the second channel's
server down during the peak (SMTP stopped, the SMS gateway answering 503).
Measured: check-in stored → notice accepted by the channel's server (the job's created_at, written in the storing
transaction, to the receiver's clock on arrival), p50/p95/max per channel; notices delivered, lost, duplicated,
counted at the receivers. A script that prints figures; nothing is asserted.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from edge.bench.stats import summary

SECRET = "bench-webhook-secret-0123"


def _arrival_offsets(students: int, seconds: float, burst: int, seed: int) -> list[float]:
    """Offsets (s) of each arrival: a fifth in bursts of `burst` within one second, the rest spread uniformly."""
    rng = random.Random(seed)
    in_bursts = min(students, (students // 5) // burst * burst)
    offsets = [rng.uniform(0, seconds) for _ in range(students - in_bursts)]
    for _ in range(in_bursts // burst):
        start = rng.uniform(0, max(0.0, seconds - 1))
        offsets += [start + rng.uniform(0, 1) for _ in range(burst)]
    return sorted(offsets)


def run_bench(
    students: int,
    minutes: float,
    burst: int,
    store_url: str | None,
    seed: int,
    second: str = "sms",
    outage: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """`second`: the second guardian's channel, sms (vi, without diacritics) or email (en, SMTP + STARTTLS);
    `outage` (start_s, length_s): that channel's server is down (SMTP stopped / the SMS gateway answers 503)."""
    from edge.central.notify.directory import load_directories
    from edge.central.notify.hook import NotifyHook, connect
    from edge.central.notify.receivers import HttpReceiver, SmtpReceiver
    from edge.central.notify.worker import Notifier
    from edge.central.store import open_store
    from edge.config.central import load_central_config

    with tempfile.TemporaryDirectory(prefix="edge-bench-notify-") as tmp_name:
        tmp = Path(tmp_name)
        app = HttpReceiver(secret=SECRET, dedupe=True)
        down = threading.Event()
        sms: HttpReceiver | SmtpReceiver
        if second == "email":
            sms = SmtpReceiver(tmp / "smtp")
            channel: dict[str, Any] = {"name": "email", "type": "email", "host": "127.0.0.1", "port": sms.port,
                                       "cafile": str(sms.cafile), "sender": "diemdanh@school.example"}  # fmt: skip
        else:
            sms = HttpReceiver(key_field="ref")
            sms.responder = lambda _b, _h: (503, {}) if down.is_set() else None
            channel = {"name": "sms", "type": "sms_http", "url": sms.url, "ascii": True}
        channel.update({"rate_per_s": 200, "burst": 200})
        stop_outage = threading.Event()

        def outage_run(start_s: float, length_s: float) -> None:
            if stop_outage.wait(start_s):
                return
            down.set()
            if isinstance(sms, SmtpReceiver):
                sms.stop()
            stop_outage.wait(length_s)
            if isinstance(sms, SmtpReceiver):
                sms.start()
            down.clear()

        outage_thread = threading.Thread(target=outage_run, args=outage or (0, 0), name="bench-outage")
        try:
            (tmp / "roster.csv").write_text(
                "person_id,name,class,card_uid\n" + "".join(f"p{i:05d},Học Sinh {i},6A,\n" for i in range(students))
            )
            rows = ["person_id,name,phone,email,channel,language,kinds"]
            for i in range(students):
                rows.append(f"p{i:05d},Phụ huynh A,,,app,vi,arrived")
                if second == "email":
                    rows.append(f"p{i:05d},Parent B,,parent{i}@example.com,email,en,arrived")
                else:
                    rows.append(f"p{i:05d},Phụ huynh B,09{12000000 + i:08d},,sms,vi,arrived")
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
                    "channels": [
                        {"name": "app", "type": "webhook", "url": app.url, "secret": SECRET, "rate_per_s": 200,
                         "burst": 200},
                        channel,
                    ],
                }],
                "notify": {"poll_s": 0.1, "batch": 50},
            }  # fmt: skip
            (tmp / "central.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
            cfg = load_central_config(tmp / "central.yaml")
            directories = load_directories(cfg)
            url = store_url or f"sqlite:///{tmp}/central.sqlite"
            store = open_store(url)
            hook = NotifyHook(directories)
            notifier = Notifier(cfg.notify, directories, lambda: connect(url))
            notifier.start()
            offsets = _arrival_offsets(students, minutes * 60, burst, seed)
            started = time.monotonic()
            if outage is not None:
                outage_thread.start()
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
                stored_s = time.monotonic() - started
                app.wait_for(students, 120)
                sms.wait_for(students, 120 + (sum(outage) if outage else 0))
                drained_s = time.monotonic() - started
            finally:
                stop_outage.set()
                if outage_thread.is_alive():
                    outage_thread.join(30)
                notifier.stop()
            conn, _dialect = connect(url)
            created = {r[0]: float(r[1]) for r in conn.execute("SELECT key, created_at FROM notify_jobs").fetchall()}
            conn.close()
            store.close()
            name2 = channel["name"]
            latency: dict[str, list[float]] = {"app": [], name2: []}
            for name, receiver in (("app", app), (name2, sms)):
                seen: set[str] = set()
                for r in receiver.received:
                    if r.key in created and r.key not in seen:
                        seen.add(r.key)
                        latency[name].append((r.at_wall - created[r.key]) * 1000)
            sample2 = sms.received[0].body["text"] if sms.received else None
            return {
                "students": students,
                "guardians": 2 * students,
                "minutes": minutes,
                "burst": burst,
                "store": url.split("://", 1)[0],
                "checkins_stored_in_s": round(stored_s, 1),
                "all_notices_in_s": round(drained_s, 1),
                "outage": {"channel": name2, "start_s": outage[0], "length_s": outage[1]} if outage else None,
                "delivered": {"app": app.distinct, name2: sms.distinct},
                "lost": {"app": students - app.distinct, name2: students - sms.distinct},
                "duplicated": {"app": app.duplicates, name2: sms.duplicates},
                "stored_to_accepted_ms": {k: summary(v) for k, v in latency.items()},
                "notifier": dict(notifier.counters),
                "sample": {"app": app.received[0].body["text"] if app.received else None, name2: sample2},
            }
        finally:
            app.close()
            sms.close()


def run_and_print(
    students: int,
    minutes: float,
    burst: int,
    store_url: str | None,
    seed: int,
    second: str,
    outage_at: float | None,
    outage_s: float,
    json_path: Path | None,
) -> None:
    """`edge bench notify` (its options: edge/bench/commands.py): run it, figures on stderr, JSON on stdout."""
    outage = (outage_at, outage_s) if outage_at is not None else None
    result = run_bench(students, minutes, burst, store_url, seed, second, outage)
    lat = result["stored_to_accepted_ms"]
    click.echo(
        f"{students} students in {minutes:g} min (bursts of {burst}), 2 guardians each, store {result['store']}:",
        err=True,
    )
    for ch in ("app", "email" if second == "email" else "sms"):
        s = lat[ch]
        click.echo(
            f"  {ch:<4} delivered {result['delivered'][ch]:>6}  lost {result['lost'][ch]}  duplicated "
            f"{result['duplicated'][ch]}  stored→accepted p50 {s['p50']} ms  p95 {s['p95']} ms  max {s['max']} ms",
            err=True,
        )
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)
