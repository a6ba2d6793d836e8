"""Unknown cards: taps of a card no student holds (check-ins denied with no person), for the office and the guard.

Why masked: a 125 kHz (EM4100) card's UID is its whole credential — whoever reads it can clone the card — and a
guard (visibility.py: no card UIDs) needs only to recognise "the same card again" and when and where it was
tapped: the last 6 hex digits (••••A1B2C3) do that. Read from the store's check-ins with the indexed
(site, time) range query, newest first, capped.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.central.web.db import WebDb
from edge.config.central import GateName

LIMIT = 500
SHOWN_HEX = 6
MASK = "••••"


def mask_uid(uid: str | None) -> str:
    """'0F00A1B2C3' → '••••A1B2C3': only the last 6 hex digits (4 of a shorter UID); '' for none."""
    if not uid:
        return ""
    text = uid.strip().upper()
    keep = SHOWN_HEX if len(text) > SHOWN_HEX + 2 else 4
    return MASK + text[-keep:]


@dataclass(frozen=True)
class UnknownTap:
    occurred_at: str
    gate: str
    """The gate's name in the page's language (the configured name, else its id)."""
    gateway_id: str
    direction: str | None
    card: str
    """Masked UID."""


def unknown_taps(
    db: WebDb, site_id: str, lo: str, hi: str, gate_names: dict[str, GateName], lang: str, limit: int = LIMIT
) -> list[UnknownTap]:
    """Denied card check-ins of no known person with lo <= occurred_at < hi (RFC 3339 UTC), newest first."""
    rows = db.query(
        "SELECT occurred_at, gate, gateway_id, direction, card_uid FROM checkins WHERE site_id = ? "
        "AND occurred_at >= ? AND occurred_at < ? AND decision = 'denied' AND person_id IS NULL "
        "AND card_uid IS NOT NULL ORDER BY occurred_at DESC LIMIT ?",
        (site_id, lo, hi, limit),
    )
    out = []
    for r in rows:
        gate = str(r["gate"] or "")
        name = gate_names.get(gate)
        out.append(
            UnknownTap(
                str(r["occurred_at"]),
                (name.vi if lang == "vi" else name.en) if name is not None else gate,
                str(r["gateway_id"] or ""),
                r["direction"],
                mask_uid(r["card_uid"]),
            )
        )
    return out
