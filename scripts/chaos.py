#!/usr/bin/env python3
"""The chaos run (see edge/devtools/chaos.py and the README): prints the audit as a table and as JSON.

.venv/bin/python scripts/chaos.py                      # 10,000 taps at 25/s with every fault
.venv/bin/python scripts/chaos.py --taps 500 --rate 50 --workdir /tmp/chaos
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click


@click.command()
@click.option("--taps", type=click.IntRange(10, 10_000_000), default=10_000, show_default=True)
@click.option("--rate", type=click.FloatRange(1, 1000), default=25.0, show_default=True, help="Taps per second.")
@click.option("--no-faults", is_flag=True, help="A baseline run without faults.")
@click.option("--broker-down-s", type=float, default=5.0, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Keep files here.")
@click.option(
    "--store",
    "store",
    default="sqlite",
    show_default=True,
    help="The collector's store: sqlite (a file in the workdir), postgresql (a private server) or a URL.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def main(
    taps: int,
    rate: float,
    no_faults: bool,
    broker_down_s: float,
    workdir: Path | None,
    store: str,
    json_path: Path | None,
) -> None:
    from rich.console import Console
    from rich.table import Table

    from edge.devtools.chaos import ChaosRun, ChaosSettings

    work = workdir or Path(tempfile.mkdtemp(prefix="edge-chaos-"))
    pg = None
    url: str | None = None
    if store == "postgresql":
        from edge.devtools.postgres import PostgresServer

        pg = PostgresServer(fsync=True).start()
        url = pg.fresh_database()
    elif store != "sqlite":
        url = store
    settings = ChaosSettings(
        work, taps=taps, rate=rate, faults=not no_faults, broker_down_s=broker_down_s, store_url=url
    )
    try:
        report = ChaosRun(settings).run()
    finally:
        if pg is not None:
            pg.stop()
    table = Table(title=f"chaos run ({work})")
    table.add_column("")
    table.add_column("")
    for key in (
        "taps_sent",
        "tapping_s",
        "checkins_stored",
        "unread",
        "lost",
        "duplicated",
        "seq_gaps",
        "max_outbox_depth",
        "drain_after_broker_s",
        "health_depth_after_broker",
        "end_wait_s",
    ):
        table.add_row(key.replace("_", " "), str(report[key]))
    lat = report["latency_ms_no_fault"]
    table.add_row("tap -> stored p50 / p95 ms (no fault)", f"{lat['p50']} / {lat['p95']} (n={lat['n']})")
    for f in report["faults"]:
        table.add_row(f"fault at {f['at_s']} s", f"{f['name']} ({f['lasted_s']} s)")
    Console(stderr=True).print(table)
    text = json.dumps(report, indent=2)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)
    sys.exit(0 if report["lost"] == 0 and report["duplicated"] == 0 else 1)


if __name__ == "__main__":
    main()
