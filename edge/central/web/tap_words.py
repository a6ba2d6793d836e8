"""One tap in the office's words for the Today page's recent list and its live feed: the direction, the method and
the gate's configured name in the page's language ("Vào · Thẻ · cổng chính"), not the codes "in · card · main-in"."""

from __future__ import annotations

from collections.abc import Mapping

from edge.central import catalogs
from edge.config.central import GateName


def _word(lang: str, key: str, code: str) -> str:
    words = catalogs.text(lang, key)
    return code if words == key else words


def gate_name(lang: str, gate: str | None, names: Mapping[str, GateName]) -> str:
    """The gate's name in `lang` from the school's configuration; a gate without one by its id."""
    if not gate:
        return ""
    name = names.get(gate)
    return gate if name is None else str(getattr(name, lang, None) or name.vi)


def tap_meta(
    lang: str, direction: str | None, method: str | None, gate: str | None, names: Mapping[str, GateName]
) -> str:
    """The tap's direction, method and gate, each in words when known."""
    parts = [
        _word(lang, f"today.dir.{direction}", direction or "") if direction else "",
        _word(lang, f"method.{method}", method) if method else "",
        gate_name(lang, gate, names),
    ]
    return " · ".join(p for p in parts if p)
