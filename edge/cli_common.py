"""What several packages' `commands.py` share: printing a config's problems, stopping a service on a signal.

A leaf module (click and the standard library only): `edge/cli.py` imports every half's commands to register them,
so a helper kept there would make `edge.gateway.commands` import the centre's commands through it (an import cycle,
and a gateway → centre edge in the import graph)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the loader imports numpy and jsonschema: only the commands that load a config pay for them
    from edge.config.loader import ConfigError

log = logging.getLogger(__name__)


def echo_issues(exc: ConfigError) -> None:
    """Every problem of an invalid config on stderr, one a line (with its YAML path and line)."""
    for issue in exc.issues:
        click.echo(str(issue), err=True)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd) and SIGINT (Ctrl-C) set `stop`: the service's loop then shuts down in order."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
