"""The demo school: its roster, guardians, calendar and channels, written as the files a real centre reads.

Why the cut-offs are computed from the moment the demo starts: the attendance rule works on real time, to the
minute (edge/central/attendance/rule.py), and a demo may not wait for 07:45 to come round. So the demo
compresses the morning: class 7B's cut-off is the minute that has just passed (its absence notices are held — the
gates were not up before it — until the office releases them, and the latecomer who taps later is late), class
6A's is a quarter of an hour away (everyone who arrives during the demo is on time). Every process — the
collector's notice planner, the notifier, the web app, the report — reads the same central.yaml, so they all agree
on who is late, exactly as in production.

The school's clock: the demo picks the fixed-offset zone (Etc/GMT±N) in which it is now seven o'clock in the
morning, so the times shown read like a school morning whatever hour the demo is run at; the zone is printed.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from edge.roster import Person, read_roster_csv
from edge.security.private_files import touch_private

SITE = "demo-school"
SCHOOL_NAME = "Trường THCS Demo"
ON_TIME_CLASS, EARLY_CLASS = "6A", "7B"
WEBHOOK_SECRET = "demo-webhook-secret-0123456789"
"""The demo's own throwaway secret for the webhook signature (a real school sets ${EDGE_WEBHOOK_SECRET})."""


@dataclass(frozen=True)
class GuardianSpec:
    person_id: str
    guardian_id: str
    name: str
    channel: str
    """'email' (the demo's SMTP server) or 'app' (the demo's webhook receiver)."""
    language: str


GUARDIANS = (
    GuardianSpec("lin_manuel_miranda", "g-lin", "Luz Miranda", "email", "vi"),
    GuardianSpec("barack_obama", "g-obama", "Michelle Obama", "app", "en"),
    GuardianSpec("joe_biden", "g-biden", "Jill Biden", "email", "en"),
    GuardianSpec("alex_lacamoire", "g-alex", "Nguyễn Thị Hoa", "app", "vi"),
    GuardianSpec("rose_leslie", "g-rose-1", "Trần Văn Nam", "email", "vi"),
    GuardianSpec("rose_leslie", "g-rose-2", "Candy Leslie", "app", "en"),
    GuardianSpec("kit_harington", "g-kit", "Lê Thị Mai", "app", "vi"),
)


def morning_zone(now: datetime) -> str:
    """The Etc/GMT zone in which `now` is between 07:00 and 07:59 (Etc/GMT-7 is UTC+7: the sign is POSIX's)."""
    offset = (7 - now.astimezone(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@dataclass(frozen=True)
class DemoSchool:
    folder: Path
    zone: str
    day: date
    early_cutoff: str
    """7B's cut-off 'HH:MM' (the minute that has just passed)."""
    cutoff: str
    """Everyone else's cut-off 'HH:MM' (after the demo's arrivals)."""
    roster: Path
    guardians: Path
    central: Path
    people: tuple[Person, ...]

    @property
    def names(self) -> dict[str, str]:
        return {p.person_id: p.name for p in self.people}

    def guardian(self, guardian_id: str) -> GuardianSpec:
        return next(g for g in GUARDIANS if g.guardian_id == guardian_id)


def write_school(
    folder: Path, data: Path, *, smtp_port: int, smtp_cafile: Path, webhook_url: str, now: datetime | None = None
) -> DemoSchool:
    """Write roster.csv, guardians.csv and central.yaml for the demo school into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    zone = morning_zone(moment)
    local = moment.astimezone(ZoneInfo(zone))
    early = (local - timedelta(minutes=1)).strftime("%H:%M")
    later = (local + timedelta(minutes=15)).strftime("%H:%M")
    roster, guardians, central = folder / "roster.csv", folder / "guardians.csv", folder / "central.yaml"
    for f in (roster, guardians, central):  # card UIDs, parents' addresses, the webhook secret: 0600 from the start
        touch_private(f)
    shutil.copyfile(data / "roster.csv", roster)
    people = tuple(read_roster_csv(roster))
    with guardians.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["person_id", "name", "phone", "email", "channel", "language", "kinds", "guardian_id"])
        for g in GUARDIANS:
            email = f"{g.guardian_id}@parents.example" if g.channel == "email" else ""
            w.writerow([g.person_id, g.name, "", email, g.channel, g.language, "arrived;absent", g.guardian_id])
    central.write_text(
        "# Written by `edge demo` for its throwaway school: cut-offs computed from the moment it started.\n"
        + yaml.safe_dump(
            _central(zone, local.date(), early, later, smtp_port, smtp_cafile, webhook_url),
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return DemoSchool(folder, zone, local.date(), early, later, roster, guardians, central, people)


def _central(
    zone: str, day: date, early: str, later: str, smtp_port: int, smtp_cafile: Path, webhook_url: str
) -> dict[str, Any]:
    return {
        "schools": [
            {
                "id": SITE,
                "name": SCHOOL_NAME,
                "timezone": zone,
                "roster": "roster.csv",
                "guardians": "guardians.csv",
                "calendar": {
                    # every day of the week: the demo must play whatever day it is run on
                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "terms": [
                        {
                            "name": "Học kỳ demo",
                            "start": (day - timedelta(days=30)).isoformat(),
                            "end": (day + timedelta(days=150)).isoformat(),
                        }
                    ],
                    "cutoff": later,
                    "dismissal": "16:30",
                    "classes": {EARLY_CLASS: {"cutoff": early}},
                },
                "gates": {
                    "main-in": {"vi": "cổng chính", "en": "main gate"},
                    "side-in": {"vi": "cổng phụ", "en": "side gate"},
                },
                "channels": [
                    {"name": "app", "type": "webhook", "url": webhook_url, "secret": WEBHOOK_SECRET},
                    {
                        "name": "email",
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": smtp_port,
                        "starttls": True,
                        "cafile": str(smtp_cafile),
                        "sender": f"{SCHOOL_NAME} <diemdanh@school.example>",
                    },
                ],
            }
        ],
        # the absence notice goes at the cut-off itself: the demo's check-ins are all stored before it
        "notify": {"absence_grace_s": 0, "backoff_initial_s": 1, "backoff_max_s": 5, "poll_s": 0.2},
    }
