"""Shared by the live feed tests: an SSE client reading a stream in a thread, its messages parsed."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx


def _events(lines: Iterator[str], out: queue.Queue[Any]) -> None:
    event: dict[str, str] = {}
    try:
        for line in lines:
            if line == "":
                if event:
                    out.put(event)
                event = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                event[key] = value.lstrip(" ")
    except httpx.HTTPError:
        pass
    out.put(None)


class Stream:
    """An SSE client in a thread: parsed messages in .messages."""

    def __init__(self, client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()
        self._cm = client.stream("GET", path, headers=headers or {}, timeout=httpx.Timeout(10, read=30))
        self.response = self._cm.__enter__()
        self.thread = threading.Thread(
            target=_events, args=(self.response.iter_lines(), self.messages), name="test-sse", daemon=True
        )
        self.thread.start()

    def next_checkin(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            assert msg is not None, "stream ended"
            if msg.get("event") == "checkin":
                return {"id": msg["id"], **json.loads(msg["data"])}

    def close(self) -> None:
        self.response.close()
        self._cm.__exit__(None, None, None)
