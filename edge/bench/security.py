"""`edge bench security`: what the closed chain costs (#6), measured side by side in one run.

Card tap -> stored: an RDM6300 frame written to the gateway's reader socket, until the collector's receipt for
that event (published after its commit) reaches a server-role subscriber. Two identical stacks run at once, one
plaintext (insecure_plaintext) and one closed (TLS, client certificates, the ACL), each with its own Mosquitto,
in-process collector (SQLite) and gateway; taps alternate between them so load on the machine hits both alike.
Also: the per-call cost of signing and verifying a command, and of a TLS handshake.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import yaml

from edge.config import load_config
from edge.contract.signing import sign_command, verify_command
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from edge.security.pki import Pki, load_private_key
from edge.transport.subscriber import Subscriber
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator

SITE = "bench-school"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


class _Stack:
    def __init__(self, work: Path, secure: bool, taps: int, stack: contextlib.ExitStack) -> None:
        from edge.central.collector.service import Collector
        from edge.central.store import open_store

        work.mkdir(parents=True)
        self.broker = stack.enter_context(MosquittoBroker(work / "broker", site=SITE, insecure_plaintext=not secure))
        self.reader = stack.enter_context(Rdm6300Simulator())
        roster = work / "roster.csv"
        roster.write_text(
            "person_id,name,class,card_uid\n" + "".join(f"p{i},P {i},1A,{self.card(i)}\n" for i in range(taps))
        )
        cfg = {
            "site_id": SITE,
            "gateway_id": "gw-bench",
            "gates": [
                {"id": "in", "direction": "in", "mode": "card", "readers": [{"id": "r", "port": self.reader.url}]}
            ],
            "broker": self.broker.client_config("gw-bench"),
            "storage": {"database": str(work / "gw.sqlite")},
            "roster": {"path": str(roster)},
            "gallery": {"path": str(work / "none.npz")},
            "metrics": {"enabled": False},
            "log_level": "WARNING",
        }
        (work / "config.yaml").write_text(yaml.safe_dump(cfg))
        self.store = open_store(f"sqlite:///{work / 'central.sqlite'}")
        self.collector = Collector(
            self.store,
            host="127.0.0.1",
            port=self.broker.port,
            collector_id="bench-col",
            tls=self.broker.identity("bench-col", "collector"),
        )
        self.collector.start()
        if not self.collector.wait_ready(15):
            raise RuntimeError("collector did not subscribe")
        stack.callback(self.collector.stop)
        self.watch = Subscriber(
            self.broker.port,
            f"edge/v1/{SITE}/gw-bench/receipt",
            client_id="bench-watch",
            tls=self.broker.identity("bench-watch", "server"),
        )
        stack.callback(self.watch.close)
        self.gateway = Gateway(load_config(work / "config.yaml"))
        self.gateway.start()
        stack.callback(self.gateway.stop)
        if not self.reader.client_connected.wait(15):
            raise RuntimeError("gateway did not open the reader")

    @staticmethod
    def card(i: int) -> str:
        return f"{0x1000000000 + i:010X}"

    def tap_and_wait(self, i: int, timeout: float = 10.0) -> float:
        t0 = time.monotonic()
        self.reader.tap(self.card(i), repeats=1)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            msg = self.watch.messages.get(timeout=timeout)
            if json.loads(msg.payload).get("seq") == i + 1:
                return (msg.at_monotonic - t0) * 1000
        raise RuntimeError(f"no receipt for tap {i}")


def _signing_costs(work: Path, n: int) -> dict[str, float]:
    pki = Pki(work / "sign-pki")
    pki.init(SITE)
    op = pki.issue("op", "operator")
    key, pem = load_private_key(op.key_path), op.cert_path.read_text()
    now = dt.datetime.now(dt.UTC)
    t = time.perf_counter()
    reqs = [
        sign_command(site=SITE, gateway="g", command="open_gate", request={"request_id": str(i)}, key=key, cert_pem=pem)
        for i in range(n)
    ]
    sign_ms = (time.perf_counter() - t) * 1000 / n
    t = time.perf_counter()
    for r in reqs:
        verify_command(
            site=SITE, gateway="g", command="open_gate", request=r, ca_cert=pki.ca_cert, now=now, max_skew_s=60
        )
    verify_ms = (time.perf_counter() - t) * 1000 / n
    return {"sign_ms": round(sign_ms, 3), "verify_ms": round(verify_ms, 3)}


def run(taps: int, gap_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-security-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        stacks = {
            "plaintext": _Stack(work / "plain", False, taps, stack),
            "tls": _Stack(work / "tls", True, taps, stack),
        }
        lat: dict[str, list[float]] = {k: [] for k in stacks}
        for i in range(taps):
            for name, s in stacks.items():  # alternate: the same moment's load on both
                lat[name].append(s.tap_and_wait(i))
            time.sleep(gap_s)
        rows = {
            name: {
                "taps": len(v),
                "p50_ms": round(statistics.median(v), 1),
                "p95_ms": round(_pct(v, 0.95), 1),
                "max_ms": round(max(v), 1),
            }
            for name, v in lat.items()
        }
        rows["tls_over_plaintext_p50"] = {"ratio": round(rows["tls"]["p50_ms"] / rows["plaintext"]["p50_ms"], 2)}
        return {"tap_to_stored": rows, "command_signature": _signing_costs(work, 500)}


def run_and_print(taps: int, gap_s: float, json_path: Path | None) -> None:
    """`edge bench security` (its options: edge/bench/commands.py): run it, figures on stderr, JSON on stdout."""
    data = run(taps, gap_s)
    t = data["tap_to_stored"]
    click.echo("tap -> stored     p50 ms   p95 ms   max ms", err=True)
    for name in ("plaintext", "tls"):
        r = t[name]
        click.echo(f"{name:15} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f}", err=True)
    sig = data["command_signature"]
    click.echo(f"command: sign {sig['sign_ms']} ms, verify {sig['verify_ms']} ms (incl. certificate chain)", err=True)
    text = json.dumps(data, indent=2)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)
