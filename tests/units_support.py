"""Shared by the systemd unit tests: a unit file parsed into its sections and keys."""

from __future__ import annotations

import re


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit as {section: {key: [values]}} (keys may repeat: DeviceAllow=, LoadCredential=)."""
    out: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = out.setdefault(m.group(1), {})
            continue
        assert section is not None, f"key outside a section: {line}"
        key, _, value = line.partition("=")
        section.setdefault(key, []).append(value)
    return out
