"""Logging set-up for the CLI: one line per record, key=value where it helps."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO", *, stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("PIL").setLevel(logging.WARNING)
