"""Retention: check-ins of minors are personal data, kept for the school's retention period and then deleted
(`edge db retention --keep-days N`, run daily from cron or a systemd timer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.contract.checkin import rfc3339_ms


def cutoff_for(keep_days: int, now: datetime | None = None) -> str:
    """Check-ins that occurred before this instant (RFC 3339 UTC) are past a `keep_days` retention."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    return rfc3339_ms((now or datetime.now(UTC)) - timedelta(days=keep_days))


def cutoff_epoch(cutoff: str) -> float:
    return datetime.fromisoformat(cutoff.replace("Z", "+00:00")).timestamp()
