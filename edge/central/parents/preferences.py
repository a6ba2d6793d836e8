"""A guardian's notification preferences (channel and language), written to the store's guardians rows with the
school's version bumped in the same transaction, so the notifier and every other process follow at once."""

from __future__ import annotations

from edge.central.school.edits import bump_version
from edge.central.web import audit
from edge.central.web.db import WebDb
from edge.central.web.i18n import LANGUAGES
from edge.config.central import SchoolConfig


class PreferenceRefused(ValueError):
    pass


def channels_for(school: SchoolConfig) -> list[str]:
    return [c.name for c in school.channels]


def set_preferences(
    db: WebDb, school: SchoolConfig, guardian_ids: tuple[str, ...], channel: str, language: str, ip: str | None
) -> int:
    """Every guardians row of the parent (`guardian_ids`) gets the channel and language; one version bump."""
    if channel not in channels_for(school):
        raise PreferenceRefused(f"channel {channel!r} is not one of this school's")
    if language not in LANGUAGES:
        raise PreferenceRefused(f"language {language!r}: one of {', '.join(LANGUAGES)}")
    with db.transaction() as tx:
        n = 0
        for gid in guardian_ids:
            n += tx.execute(
                "UPDATE guardians SET channel = ?, language = ? WHERE site_id = ? AND guardian_id = ?",
                (channel, language, school.id, gid),
            )
        bump_version(tx, school.id)
        detail = {"guardian_ids": list(guardian_ids), "channel": channel, "language": language}
        audit.record(tx, f"guardian:{guardian_ids[0]}", "parent_preferences", detail, ip, school.id)
    return n
