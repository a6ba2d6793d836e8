"""Shared by the gateway tests (end to end, receipts, broker outage, the gateway process, PN532, attacks): a
one-gate gateway config with a card reader and/or a video camera, and its roster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.devtools.mosquitto import MosquittoBroker
from tests.helpers import gateway_config

ROSTER = """person_id,name,class,card_uid
obama,Barack Obama,12A,
biden,Joe Biden,12A,0F00D4E5F6
rose,Rose Leslie,11C,62E3086CED
kit,Kit Harington,11C,
"""


def gateway_cfg(
    tmp: Path, port: MosquittoBroker | int, reader_url: str | None, video: Path | None, **extra: Any
) -> Path:
    gate: dict[str, Any] = {"id": "main-in", "direction": "in", "mode": "card_or_face"}
    if video:
        gate["cameras"] = [{"id": "cam-1", "source": str(video), "realtime": False}]
    if reader_url:
        gate["readers"] = [{"id": "reader-1", "port": reader_url}]
    return gateway_config(tmp, port, "gw-e2e", gate, ROSTER, **extra)
