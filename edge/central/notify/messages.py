"""What a parent reads: the built-in messages in Vietnamese and English, a school's overrides, and the notice a
channel sends. Times are shown in the school's time zone, to the minute; nothing about anyone else's child and
never an image: a notice holds the child's name and class, a time, a gate name, the school's name.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from edge.config.central import TEMPLATE_KEYS, SchoolConfig

BUILT_IN: dict[str, dict[str, str]] = {
    "en": {
        "arrived": "{name} ({class_name}) arrived at school at {time} ({gate}).",
        "arrived_late": "{name} ({class_name}) arrived late at school at {time} ({gate}).",
        "absent": "{name} ({class_name}) has not arrived at school by {time}.",
        "left": "{name} ({class_name}) left school at {time} ({gate}).",
    },
    "vi": {
        "arrived": "{name} ({class_name}) đã đến trường lúc {time} ({gate}).",
        "arrived_late": "{name} ({class_name}) đã đến trường muộn lúc {time} ({gate}).",
        "absent": "{name} ({class_name}) chưa đến trường tính đến {time}.",
        "left": "{name} ({class_name}) đã rời trường lúc {time} ({gate}).",
    },
}
SUBJECTS: dict[str, dict[str, str]] = {
    "en": {"arrived": "{name} arrived", "arrived_late": "{name} arrived late", "absent": "{name} has not arrived",
           "left": "{name} left school"},
    "vi": {"arrived": "{name} đã đến trường", "arrived_late": "{name} đến trường muộn",
           "absent": "{name} chưa đến trường", "left": "{name} đã rời trường"},
}  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """One message to one guardian, ready for a channel. `key` is its idempotency key (stable across retries,
    crashes and restarts: it is the job's unique key)."""

    key: str
    site: str
    guardian_id: str
    person_id: str
    kind: str
    """arrived | left | absent."""
    template: str
    """The message used: arrived, arrived_late, absent, left."""
    day: date
    time: str
    """'HH:MM', school time: the arrival/leaving, or the cut-off for an absence."""
    language: str
    text: str
    subject: str
    phone: str | None = None
    email: str | None = None
    fields: dict[str, str] | None = None
    """The values the text was made from (name, class_name, time, gate, school, cutoff), for a channel that
    sends a provider's template with parameters (Zalo ZNS) instead of the text."""

    def html(self) -> str:
        return f"<!doctype html><html><body><p>{html.escape(self.text)}</p></body></html>"

    def payload(self) -> dict[str, Any]:
        """The JSON body of the webhook and MQTT channels (contacts left out: the app knows its guardians)."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["idempotency_key"] = data.pop("key")
        del data["phone"], data["email"], data["fields"]
        return data

    def payload_bytes(self) -> bytes:
        return json.dumps(self.payload(), ensure_ascii=False, sort_keys=True).encode()


class Messages:
    """A school's templates: its overrides over the built-in ones (checked when the config was loaded)."""

    def __init__(self, school: SchoolConfig) -> None:
        self.school = school
        self.templates: dict[str, dict[str, str]] = {}
        for lang in ("vi", "en"):
            overrides = getattr(school.templates, lang)
            self.templates[lang] = {key: getattr(overrides, key) or BUILT_IN[lang][key] for key in TEMPLATE_KEYS}

    def gate_name(self, gate: str | None, language: str) -> str:
        if gate is None:
            return ""
        named = self.school.gates.get(gate)
        return getattr(named, language) if named is not None else gate

    def render(
        self, template: str, language: str, *, name: str, class_name: str, time: str, gate: str | None, cutoff: str
    ) -> tuple[str, str]:
        """(text, subject) of a message."""
        text, subject, _ = self.compose(
            template, language, name=name, class_name=class_name, time=time, gate=gate, cutoff=cutoff
        )
        return text, subject

    def compose(
        self, template: str, language: str, *, name: str, class_name: str, time: str, gate: str | None, cutoff: str
    ) -> tuple[str, str, dict[str, str]]:
        """(text, subject, fields) of a message: the fields are what a template channel sends as parameters."""
        fields = {
            "name": name,
            "class_name": class_name,
            "time": time,
            "gate": self.gate_name(gate, language),
            "school": self.school.name,
            "cutoff": cutoff,
        }
        text = self.templates[language][template].format(**fields)
        return text, SUBJECTS[language][template].format(**fields), fields
