"""The "gates down" e-mail to a school's office (central.yaml `notify.holds.office_email`): queued as a notice like
any other — through the school's email channel, with its retries, dead letters and `edge notify status` — so the
alarm is not lost when the mail server hiccups, and its unique key (school, day, "gates_down", the minute it
went down) keeps it once. Both languages in one mail: the office may read either."""

from __future__ import annotations

from datetime import datetime

from edge.central.gates.judge import Reason
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.planner import JobSpec, job_key
from edge.central.web import i18n
from edge.central.web.gate_alarm import reason_text

KIND = "gates_down"
OFFICE = "office"
"""The notice's person_id: not a student (no student's page lists it)."""


def email_channel(d: SchoolDirectory) -> str | None:
    return next((c.name for c in d.school.channels if c.type == "email"), None)


def gates_down_job(d: SchoolDirectory, reasons: list[Reason], now: datetime, address: str) -> JobSpec | None:
    """The e-mail to the office, or None when the school has no email channel to send it through."""
    channel = email_channel(d)
    if channel is None:
        return None
    tz = d.calendar.tz
    local = now.astimezone(tz)
    vi, en = i18n.translator("vi"), i18n.translator("en")
    name = d.school.name
    text = (
        f"{vi('gates.alarm.down', school=name)} {'; '.join(reason_text(vi, r, tz) for r in reasons)}. "
        f"{vi('gates.alarm.down_note')}\n\n"
        f"{en('gates.alarm.down', school=name)} {'; '.join(reason_text(en, r, tz) for r in reasons)}. "
        f"{en('gates.alarm.down_note')}"
    )
    subject = f"{vi('gates.alarm.subject', school=name)} / {en('gates.alarm.subject', school=name)}"
    guardian = f"{OFFICE}@{local:%H:%M}"
    day = local.date()
    return JobSpec(
        job_key(d.id, OFFICE, day, KIND, guardian), d.id, OFFICE, day, KIND, guardian, channel, "vi", KIND,
        f"{local:%H:%M}", text, subject, None, None, address,
    )  # fmt: skip
