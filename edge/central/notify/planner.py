"""Which notices a stored check-in (or a passed cut-off) calls for. Pure: the store calls `jobs_for_checkin` inside
the transaction that stores the check-in, and inserts the jobs with "ignore if the key exists" — so the unique key
(student, school day, kind, guardian) is what makes a notice exactly-once, whatever redeliveries and duplicates
the at-least-once path brings.

- arrived: a granted `in` on a school day → "arrived" (or "arrived late" after the cut-off, by the one attendance
  rule) to each guardian who opted into arrivals; guardians who opted only into absences get the late arrival too,
  as the follow-up of the absence notice they were sent. The first stored arrival of the day wins the key.
- left (opt-in): a granted `out` at or after the class's dismissal.
- absent: at the cut-off (plus a grace for check-ins still on their way), each student on the roster with no
  granted `in` that day.
- never for denied / unknown decisions, never on a day that is not a school day, never about a student not on
  the school's roster; each guardian only ever hears about their own child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from edge.central.attendance.rule import is_after_dismissal, is_late
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.messages import Notice


@dataclass(frozen=True)
class JobSpec:
    """One notice to create; `key` is the unique key and the idempotency key every delivery carries."""

    key: str
    site: str
    person_id: str
    day: date
    kind: str
    guardian_id: str
    channel: str
    language: str
    template: str
    time: str
    text: str
    subject: str
    event_id: str | None
    phone: str | None
    email: str | None
    fields: dict[str, str] | None = None
    """The message's values (Messages.compose), stored with the job for template channels (Zalo ZNS)."""

    def notice(self) -> Notice:
        return Notice(
            key=self.key,
            site=self.site,
            guardian_id=self.guardian_id,
            person_id=self.person_id,
            kind=self.kind,
            template=self.template,
            day=self.day,
            time=self.time,
            language=self.language,
            text=self.text,
            subject=self.subject,
            phone=self.phone,
            email=self.email,
            fields=self.fields,
        )


def job_key(site: str, person_id: str, day: date, kind: str, guardian_id: str) -> str:
    return f"{site}/{person_id}/{day.isoformat()}/{kind}/{guardian_id}"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return t if t.tzinfo is not None else None
    return None


def jobs_for_checkin(directory: SchoolDirectory, checkin: Mapping[str, Any]) -> list[JobSpec]:
    """The notices one stored check-in calls for (none for most: repeats hit the unique key in the store).
    `checkin` is the event as stored (fields of checkin.v1: site_id, person_id, decision, direction, gate,
    occurred_at, event_id)."""
    if checkin.get("decision") != "granted" or checkin.get("site_id") != directory.id:
        return []
    person = directory.students.get(str(checkin.get("person_id")))
    guardians = directory.guardians.get(person.person_id, []) if person is not None else []
    at = _parse_time(checkin.get("occurred_at"))
    if person is None or not guardians or at is None:
        return []
    cal = directory.calendar
    day = cal.local_day(at)
    if not cal.is_school_day(day) or not person.enrolled_on(day):
        return []
    local = cal.local(at)
    direction = checkin.get("direction")
    cutoff = f"{cal.times_for(person.class_name).cutoff:%H:%M}"
    if direction == "in":
        kind = "arrived"
        template = "arrived_late" if is_late(cal, person.class_name, at) else "arrived"
        wanted = [g for g in guardians if "arrived" in g.kinds or (template == "arrived_late" and "absent" in g.kinds)]
    elif direction == "out" and is_after_dismissal(cal, person.class_name, at):
        kind, template = "left", "left"
        wanted = [g for g in guardians if "left" in g.kinds]
    else:
        return []
    out = []
    for g in wanted:
        text, subject, fields = directory.messages.compose(
            template,
            g.language,
            name=person.name,
            class_name=person.class_name,
            time=f"{local:%H:%M}",
            gate=checkin.get("gate"),
            cutoff=cutoff,
        )
        out.append(
            JobSpec(
                job_key(directory.id, person.person_id, day, kind, g.guardian_id),
                directory.id,
                person.person_id,
                day,
                kind,
                g.guardian_id,
                g.channel,
                g.language,
                template,
                f"{local:%H:%M}",
                text,
                subject,
                str(checkin.get("event_id")) if checkin.get("event_id") else None,
                g.phone,
                g.email,
                fields,
            )
        )
    return out


def absence_jobs(
    directory: SchoolDirectory, day: date, now: datetime, arrived: Iterable[str], excused: Iterable[str] = ()
) -> list[JobSpec]:
    """Absence notices due at `now` on `day`: students enrolled that day, of classes whose cut-off has passed,
    with no granted `in` (`arrived`: the person ids with one) and not excused by the school (`excused`).
    Repeated passes create nothing new (unique key)."""
    cal = directory.calendar
    if not cal.is_school_day(day):
        return []
    skip = set(arrived) | set(excused)
    out = []
    for person in directory.students.values():
        if person.person_id in skip or not person.enrolled_on(day):
            continue
        cutoff_at = cal.cutoff_at(day, person.class_name)
        if now < cutoff_at:
            continue
        cutoff = f"{cutoff_at:%H:%M}"
        for g in directory.guardians.get(person.person_id, []):
            if "absent" not in g.kinds:
                continue
            text, subject, fields = directory.messages.compose(
                "absent", g.language, name=person.name, class_name=person.class_name, time=cutoff, gate=None,
                cutoff=cutoff,
            )  # fmt: skip
            out.append(
                JobSpec(
                    job_key(directory.id, person.person_id, day, "absent", g.guardian_id),
                    directory.id,
                    person.person_id,
                    day,
                    "absent",
                    g.guardian_id,
                    g.channel,
                    g.language,
                    "absent",
                    cutoff,
                    text,
                    subject,
                    None,
                    g.phone,
                    g.email,
                    fields,
                )
            )
    return out
