"""A gateway's alarm in the office's words. Alarms reach the centre as English lines ("door_held_open at gate main-in:
30 s", "outbox_over_cap: 120 check-ins / 64 KiB waiting …") in the gateway's health report, or as a device event's
name; the line starts with a stable alarm name (edge/gateway/service.py, devices.py, distribution.py). The name is
said from the catalogs (gates.alarm_name.<name>) with its gate; what follows the name is the gateway's measurement,
kept as it came for whoever repairs the gate. An alarm whose name this centre does not know is shown as it came."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge.central import catalogs

_LINE = re.compile(r"^(?P<name>[a-z][a-z_]{1,63})(?: at gate (?P<gate>\S+))?(?:: (?P<detail>.*))?$", re.S)
_EVENT = re.compile(r"^(?P<name>[a-z][a-z_]{1,63}) \((?P<gate>[^)]*)\)$")


@dataclass(frozen=True)
class AlarmWords:
    words: str
    """What is wrong, in the language (or the whole line when the name is not known)."""
    detail: str
    """The gateway's measurement after the name, as it sent it ("" when none)."""


def alarm_words(lang: str, line: str) -> AlarmWords:
    m = _EVENT.match(line) or _LINE.match(line)
    if m is None:
        return AlarmWords(line, "")
    name = m.group("name")
    key = f"gates.alarm_name.{name}"
    words = catalogs.text(lang, key)
    if words == key:
        return AlarmWords(line, "")
    gate = m.group("gate")
    if gate:
        words = catalogs.text(lang, "gates.alarm_at", alarm=words, gate=gate)
    detail = m.groupdict().get("detail") or ""
    return AlarmWords(words, detail)
