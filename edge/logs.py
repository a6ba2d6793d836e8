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


def masked_uid(uid: str | None) -> str:
    """A card UID as logs may show it: its last 4 hex digits ('…B2C3'), enough to tell cards apart when reading a
    log, not enough to clone one (a 125 kHz EM4100 card's UID is its whole credential, and logs are read and kept
    by more people than the roster). '-' for no card."""
    if not uid:
        return "-"
    return "…" + uid[-4:] if len(uid) > 4 else "…"
