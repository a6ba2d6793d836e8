"""`edge demo`: a school morning end to end on the bundled data. Thin: the work is in runner.py."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The demo's data folder (kept). Default: ~/.local/state/edge/demo, emptied at each run.",
)
@click.option("--serve", is_flag=True, help="Keep the centre and the web app running at the end, until Ctrl-C.")
def demo_cmd(workdir: Path | None, serve: bool) -> None:
    """A school morning end to end on the bundled data: closed broker, gateway (video, card readers, gate
    controller), collector, notifier, web app, parents' e-mail and webhook receivers."""
    from edge.demo.runner import default_workdir, run_demo

    sys.exit(run_demo(workdir or default_workdir(), serve=serve))
