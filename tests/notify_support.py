"""Shared by the notification tests: school s1 with its roster, guardians and one webhook channel (central.yaml),
and check-ins at a local time of its school day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from edge.central.notify.directory import SchoolDirectory
from edge.config.central import CentralConfig, parse_central_text

SECRET = "s3cret-s3cret-s3cret"


ROSTER = "person_id,name,class,card_uid\nminh_anh,Minh Anh,6A,\nbao,Bảo Ngọc,7B,\nkhoa,Khoa,7B,\n"


GUARDIANS = (
    "person_id,name,phone,email,channel,language,kinds\n"
    "minh_anh,Bình,0912 345 678,,app,vi,arrived;absent;left\n"
    "minh_anh,Jane,,jane@example.com,app,en,arrived\n"
    "bao,Lan,,,app,vi,absent\n"
)


DAY = date(2026, 11, 24)  # a Tuesday in term


def central_text(tmp: Path, url: str = "http://127.0.0.1:9/", *, timeout_s: float = 5, lease_s: float = 30) -> str:
    """central.yaml of school s1 (roster and guardians written beside it) with one webhook channel at `url`."""
    (tmp / "roster.csv").write_text(ROSTER)
    (tmp / "guardians.csv").write_text(GUARDIANS)
    text = f"""
schools:
  - id: s1
    name: Trường A
    timezone: Asia/Ho_Chi_Minh
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      terms: [{{name: T1, start: 2026-09-05, end: 2027-01-16}}]
      cutoff: "07:15"
      dismissal: "16:30"
    gates: {{main-in: {{vi: cổng chính, en: main gate}}}}
    channels:
      - {{name: app, type: webhook, url: "{url}", secret: {SECRET}, timeout_s: {timeout_s},
         rate_per_s: 1000, burst: 1000}}
notify: {{max_attempts: 3, backoff_initial_s: 0.05, backoff_max_s: 0.2, poll_s: 0.05, lease_s: {lease_s},
          absence_grace_s: 60}}
"""
    return text


def central(tmp: Path, url: str = "http://127.0.0.1:9/") -> CentralConfig:
    return parse_central_text(central_text(tmp, url), env={}, base_dir=tmp)


def local(d: SchoolDirectory, hhmm: str, day: date = DAY) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return d.calendar.at(day, datetime(2000, 1, 1, h, m).time())


def checkin(d: SchoolDirectory, hhmm: str, person: str = "minh_anh", **kw: Any) -> dict[str, Any]:
    base = {
        "schema_version": 1,
        "event_id": f"e-{person}-{hhmm}",
        "site_id": "s1",
        "gateway_id": "gw-1",
        "seq": 1,
        "method": "card",
        "gate": "main-in",
        "direction": "in",
        "decision": "granted",
        "person_id": person,
        "occurred_at": local(d, hhmm, kw.pop("day", DAY)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    base.update(kw)
    return base
