"""The JSON API (/api/v1): the pages' data for school information systems, with the pages' role rules.
Authenticated by a session cookie or `Authorization: Bearer <token>` (`edge server token create USER`)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from edge.central.web import api_models as m
from edge.central.web import school_day as sd
from edge.central.web.accounts import Role, User
from edge.central.web.deps import (
    CtxDep,
    UserDep,
    audit,
    can_see_class,
    can_see_school,
    csrf_protect,
    current_user,
    may_see_card_uid,
    school_for,
    templates,
)
from edge.central.web.routes.common import (
    CLASS,
    DAY,
    MONTH,
    PERSON,
    SITE,
    class_students,
    directory,
    parse_day,
    parse_month,
    student,
    today,
)
from edge.central.web.routes.gates import GATEWAY, OPENERS, VIEWERS, gateway_rows, open_gate
from edge.central.web.routes.students import face_status
from edge.central.web.visibility import POLICY, can_count_class, sees_every_student

router = APIRouter(prefix="/api/v1", tags=["v1"])
public = APIRouter()
READERS: tuple[Role, ...] = tuple(role for role, r in POLICY.items() if r.students != "none")
"""Who may read anything that names a student (visibility.py)."""
MAX_LIMIT = 1000


def _readers(user: User) -> None:
    if user.role not in READERS:
        raise HTTPException(403, "forbidden")


def _student_day(row: sd.StudentDay, tz: Any) -> m.StudentDayOut:
    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def local(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(tz).isoformat(timespec="seconds")

    return m.StudentDayOut(
        person_id=row.person.person_id,
        name=row.person.name,
        class_name=row.person.class_name,
        day=row.attendance.day.isoformat(),
        status=row.status,
        first_in=iso(row.first_in),
        last_out=iso(row.last_out),
        local_first_in=local(row.first_in),
        local_last_out=local(row.last_out),
        method=row.method,
        excuse_reason=row.excuse["reason"] if row.excuse else None,
        notices=[
            m.Notice(
                kind=n["kind"],
                guardian_id=n["guardian_id"],
                channel=n["channel"],
                status=n["status"],
                attempts=int(n["attempts"]),
                sent_at=n["sent_at"],
            )
            for n in row.notices
        ],
    )


@router.get("/schools", response_model=list[m.School])
def schools(user: UserDep, ctx: CtxDep) -> list[m.School]:
    return [m.School(id=s.id, name=s.name, timezone=s.timezone) for s in ctx.schools if can_see_school(user, s.id)]


@router.get("/schools/{site_id}/classes", response_model=m.ClassesDay)
def classes(
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    day: Annotated[str | None, Query(pattern=DAY)] = None,
) -> m.ClassesDay:
    """Counts per class (those the user may count: a guard every class, as on Today) on a day (default: today,
    school time)."""
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    current, now = today(ctx, d)
    the_day = parse_day(day, current)
    mine = {p.class_name for p in d.students.values() if can_count_class(user, site_id, p.class_name)}
    by_class = sd.school_day(
        ctx.db, d.calendar, site_id, [p for p in d.students.values() if p.class_name in mine], the_day, now
    )
    verdict = d.calendar.check(the_day)
    return m.ClassesDay(
        site_id=site_id,
        day=the_day.isoformat(),
        school_day=verdict.school_day,
        reason=verdict.reason,
        classes=[
            m.ClassCounts(class_name=s.class_name, students=s.students, **s.counts) for s in sd.summarise(by_class)
        ],
    )


@router.get("/schools/{site_id}/classes/{class_name}/days/{day}", response_model=m.ClassDay)
def class_day(
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    class_name: Annotated[str, Path(pattern=CLASS)],
    day: Annotated[str, Path(pattern=DAY)],
) -> m.ClassDay:
    _readers(user)
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    students = class_students(ctx, user, d, class_name)
    current, now = today(ctx, d)
    the_day = parse_day(day, current)
    rows = sd.class_day(ctx.db, d.calendar, site_id, students, the_day, now)
    return m.ClassDay(
        site_id=site_id,
        class_name=class_name,
        day=the_day.isoformat(),
        school_day=d.calendar.is_school_day(the_day),
        students=[_student_day(r, d.calendar.tz) for r in rows],
    )


@router.get("/schools/{site_id}/students/{person_id}", response_model=m.Student)
def student_info(
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    person_id: Annotated[str, Path(pattern=PERSON)],
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
) -> m.Student:
    _readers(user)
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    person = student(user, d, person_id)
    current, now = today(ctx, d)
    the_month = parse_month(month, current)
    days = sd.student_month(ctx.db, d.calendar, site_id, person, the_month, now)
    face = face_status(ctx, site_id, person.person_id)
    return m.Student(
        site_id=site_id,
        person_id=person.person_id,
        name=person.name,
        class_name=person.class_name,
        card_uid=person.card_uid if may_see_card_uid(user) else None,  # the card's whole credential
        face_enrolled=face.enrolled if face is not None else None,
        guardians=[
            m.GuardianOut(guardian_id=g.guardian_id, name=g.name, channel=g.channel, language=g.language)
            for g in d.guardians.get(person.person_id, [])
        ],
        month=the_month.strftime("%Y-%m"),
        days=[_student_day(r, d.calendar.tz) for r in days],
    )


def _cursor(occurred_at: str, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{occurred_at}|{event_id}".encode()).decode().rstrip("=")


def _uncursor(text: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        occurred_at, event_id = raw.split("|", 1)
        datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPException(422, "bad cursor") from None
    return occurred_at, event_id


def _instant(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"{what}: not an RFC 3339 time") from None
    if t.tzinfo is None:
        raise HTTPException(422, f"{what}: needs a time zone (Z or +07:00)")
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get("/schools/{site_id}/checkins", response_model=m.CheckinPage)
def checkins(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    since: Annotated[str | None, Query(max_length=40, description="RFC 3339, inclusive")] = None,
    until: Annotated[str | None, Query(max_length=40, description="RFC 3339, exclusive")] = None,
    class_name: Annotated[str | None, Query(alias="class", pattern=CLASS)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> m.CheckinPage:
    """Stored check-ins of the school, oldest first, a page at a time (keyset pagination: stable while new
    check-ins arrive). A teacher sees only their classes' students."""
    _readers(user)
    school_for(ctx, user, site_id)
    d = directory(ctx, site_id)
    if class_name is not None:
        class_students(ctx, user, d, class_name)  # 404 / 403
    lo = _instant(since, "since") or "0000"
    hi = _instant(until, "until") or "9999"
    if cursor is None:  # a bulk read is audited once, at its first page (who, what range and class, from where)
        detail = {"since": since, "until": until, "class": class_name, "limit": limit}
        audit(ctx, user, "api_checkins", detail, request, site_id)
    sql = (
        f"SELECT {sd.CHECKIN_FIELDS}, similarity, distance FROM checkins"
        " WHERE site_id = ? AND occurred_at >= ? AND occurred_at < ?"
    )
    params: list[Any] = [site_id, lo, hi]
    people: list[str] | None = None
    if class_name is not None:
        people = [p.person_id for p in d.students.values() if p.class_name == class_name]
    elif not sees_every_student(user, site_id):
        people = [p.person_id for p in d.students.values() if can_see_class(user, site_id, p.class_name)]
    if people is not None:
        if not people:
            return m.CheckinPage(items=[], next_cursor=None)
        sql += f" AND person_id IN ({', '.join('?' for _ in people)})"
        params += people
    if cursor is not None:
        at, eid = _uncursor(cursor)
        sql += " AND (occurred_at > ? OR (occurred_at = ? AND event_id > ?))"
        params += [at, at, eid]
    rows = ctx.db.query(sql + " ORDER BY occurred_at, event_id LIMIT ?", [*params, limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        m.Checkin(
            event_id=r["event_id"],
            person_id=r["person_id"],
            class_name=d.students[r["person_id"]].class_name if r["person_id"] in d.students else None,
            occurred_at=r["occurred_at"],
            direction=r["direction"],
            decision=r["decision"],
            method=r["method"],
            gate=r["gate"],
            gateway_id=r["gateway_id"],
            similarity=r["similarity"],
            distance=r["distance"],
        )
        for r in rows
    ]
    last = rows[-1] if rows else None
    return m.CheckinPage(
        items=items, next_cursor=_cursor(last["occurred_at"], last["event_id"]) if more and last else None
    )


@router.get("/schools/{site_id}/gates", response_model=list[m.Gateway])
def gates(user: UserDep, ctx: CtxDep, site_id: Annotated[str, Path(pattern=SITE)]) -> list[dict[str, Any]]:
    if user.role not in VIEWERS:
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    return gateway_rows(ctx, site_id)


@router.post(
    "/schools/{site_id}/gates/{gateway_id}/open",
    response_model=m.CommandResult,
    dependencies=[Depends(csrf_protect)],
)
def open_gate_api(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: Annotated[str, Path(pattern=SITE)],
    gateway_id: Annotated[str, Path(pattern=GATEWAY)],
    body: m.OpenGate | None = None,
) -> dict[str, Any]:
    """Open a gate (guard, admin): a command signed with the server's key; the gateway's result is returned."""
    if user.role not in OPENERS:
        raise HTTPException(403, "forbidden")
    school_for(ctx, user, site_id)
    return open_gate(ctx, user, request, site_id, gateway_id, body.gate if body else None)


@public.get("/api/docs", include_in_schema=False, dependencies=[Depends(current_user)])  # not public: the map
def api_docs(request: Request) -> Response:
    """The API's reference as a plain page made from the OpenAPI document (Swagger UI would load its script from
    a CDN, which the app never does); the document itself is /api/openapi.json."""
    doc = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "description": op.get("description", ""),
            "parameters": [
                {
                    "name": p["name"],
                    "where": p["in"],
                    "required": p.get("required", False),
                    "description": p.get("description", ""),
                }
                for p in op.get("parameters", [])
            ],
        }
        for path, item in doc["paths"].items()
        for method, op in item.items()
    ]
    return templates.TemplateResponse(
        request, "api_docs.html", {"operations": operations, "title": doc["info"]["title"]}
    )
