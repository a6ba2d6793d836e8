"""Helpers the page and API routes share: path parameter patterns, the school's day, visibility filters."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import HTTPException

from edge.central.attendance.collation import sorted_classes
from edge.central.notify.directory import SchoolDirectory
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import can_see_class
from edge.roster import Person

SITE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CLASS = r"^[^\x00-\x1f/<>\\]{1,32}$"
PERSON = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
DAY = r"^\d{4}-\d{2}-\d{2}$"
MONTH = r"^\d{4}-\d{2}$"


def directory(ctx: WebContext, site_id: str) -> SchoolDirectory:
    d = ctx.directories.get(site_id)
    if d is None:
        raise HTTPException(404, "unknown school")
    return d


def parse_day(text: str | None, default: date) -> date:
    if text is None or text == "":
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, "error.bad_date") from None


def parse_month(text: str | None, default: date) -> date:
    if text is None or text == "":
        return default.replace(day=1)
    try:
        return date.fromisoformat(text + "-01")
    except ValueError:
        raise HTTPException(422, "error.bad_month") from None


def today(ctx: WebContext, d: SchoolDirectory) -> tuple[date, datetime]:
    now = ctx.clock()
    return d.calendar.local_day(now), now


def classes_of(d: SchoolDirectory) -> list[str]:
    return sorted_classes(p.class_name for p in d.students.values())


def class_students(ctx: WebContext, user: User, d: SchoolDirectory, class_name: str) -> list[Person]:
    """The class's students; 404 for a class the school does not have, 403 for one the user may not see (the
    order matters little: a teacher probing names learns only that a class exists)."""
    students = [p for p in d.students.values() if p.class_name == class_name]
    if not students:
        raise HTTPException(404, "unknown class")
    if not can_see_class(user, d.id, class_name):
        raise HTTPException(403, "forbidden")
    return students


def student(user: User, d: SchoolDirectory, person_id: str) -> Person:
    person = d.students.get(person_id)
    if person is None:
        raise HTTPException(404, "unknown student")
    if not can_see_class(user, d.id, person.class_name):
        raise HTTPException(403, "forbidden")
    return person


def visible_classes(user: User, d: SchoolDirectory) -> list[str]:
    return [c for c in classes_of(d) if can_see_class(user, d.id, c)]
