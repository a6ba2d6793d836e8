"""Putting central.yaml's schools into a store (their row and roster), as a centre holds them before its notifier
may start (edge/central/notify/preflight.py refuses a store without the school)."""

from __future__ import annotations

from datetime import date

from edge.central.school import edits
from edge.central.web.db import WebDb
from edge.config.central import CentralConfig
from edge.roster import read_roster_csv


def seed_school(url: str, cfg: CentralConfig, *, enrolled_from: date = date(2020, 1, 1)) -> None:
    db = WebDb(url, pool_size=1)
    try:
        with db.transaction() as tx:
            for school in cfg.schools:
                edits.upsert_school(tx, school.id, name=school.name, timezone=school.timezone)
                people = read_roster_csv(school.roster) if school.roster is not None else []
                edits.replace_students(tx, school.id, people, today=enrolled_from)
    finally:
        db.close()
