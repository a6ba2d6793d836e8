"""Reports: attendance over a date range × class (one status per student per school day, THE rule's), the
monthly class summary, and downloads as CSV, XLSX and Ed-Fi JSON — as a page and under /api/v1/reports/.

Who may see what: admin and office every class of their school, a teacher only their own classes (403 for
another's, on the page, the downloads and the API alike), a guard nothing here. Handlers are thin: they choose the
students (edge/central/web/routes/common.py), read excuses and check-ins through web-core's indexed per-school
queries (edge/central/web/school_day.py) and hand everything to edge/central/attendance/summary.py; the files
come from edge/central/attendance/downloads.py.

Every download and every API read of a report is audited (who, which school, range, classes, format, from
where): a whole school's year leaving as a file is exactly what an audit log is for. A paged read is audited
once, at its first page.

The files speak the reader's language: `lang=vi|en` if given, else the page's language (the user's switch) on the
page's links, Vietnamese on the API; gate names are the school's (central.yaml `gates`).
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from edge.central.attendance.downloads import Download, csv_download, edfi_download, xlsx_download
from edge.central.attendance.labels import Words, language
from edge.central.attendance.summary import RangeError, RangeReport, attendance_range, check_range
from edge.central.notify.directory import SchoolDirectory
from edge.central.web import school_day as sd
from edge.central.web.accounts import User
from edge.central.web.context import WebContext
from edge.central.web.deps import CtxDep, UserDep, audit, can_see_class, school_for, templates
from edge.central.web.deps import language as page_language
from edge.central.web.i18n import translate
from edge.central.web.routes.common import CLASS, DAY, MONTH, SITE, directory, today, visible_classes
from edge.central.web.visibility import POLICY

router = APIRouter()

GRID_MAX_DAYS = 31
GRID_MAX_CELLS = 15_000
"""The page draws the student × day grid up to a month and ~15,000 cells (a few classes); a whole school's month
shows the summary only (a 2,000-row grid is no use on a screen, and megabytes on a phone): downloads have all."""
API_PAGE_MAX = 5000
READERS = tuple(role for role, r in POLICY.items() if r.students != "none")

ClassQ = Annotated[str | None, Query(alias="class", pattern=CLASS)]
FromQ = Annotated[str | None, Query(alias="from", pattern=DAY)]
ToQ = Annotated[str | None, Query(alias="to", pattern=DAY)]
MonthQ = Annotated[str | None, Query(pattern=MONTH)]
LangQ = Annotated[str | None, Query(pattern=r"^(vi|en)$")]
SiteP = Annotated[str, Path(pattern=SITE)]


@dataclass
class ReportQuery:
    """A validated report request: the school, its directory, the range and the classes the user may see."""

    ctx: WebContext
    user: User
    site_id: str
    d: SchoolDirectory
    start: date
    end: date
    classes: list[str]


def _parse(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        said = f"{what} {text[:20]!r} is not a date (YYYY-MM-DD)"
        raise RangeError(said, "reports.err.not_date", value=text[:20]) from None


def _range(month: str | None, start: str | None, end: str | None, current: date) -> tuple[date, date]:
    """from/to if given; else the month (YYYY-MM); else this month up to today."""
    if start or end:
        lo = _parse(start, "from") if start else current.replace(day=1)
        hi = _parse(end, "to") if end else lo
        return lo, hi
    if month:
        try:
            first = date.fromisoformat(month + "-01")
        except ValueError:
            raise RangeError(
                f"month {month[:20]!r} is not a month (YYYY-MM)", "reports.err.not_month", value=month[:20]
            ) from None
        last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
        return first, last
    return current.replace(day=1), current


def resolve(
    ctx: WebContext,
    user: User,
    site_id: str,
    class_name: str | None,
    month: str | None,
    start: str | None,
    end: str | None,
) -> ReportQuery:
    """The request checked in the order that leaks least: school (404/403), role (403), class (404 unknown,
    403 not yours), then the range (RangeError → 422)."""
    school_for(ctx, user, site_id)
    if user.role not in READERS:
        raise HTTPException(403, "forbidden")
    d = directory(ctx, site_id)
    if class_name:
        if not any(p.class_name == class_name for p in d.students.values()):
            raise HTTPException(404, "unknown class")
        if not can_see_class(user, site_id, class_name):
            raise HTTPException(403, "forbidden")
        classes = [class_name]
    else:
        classes = visible_classes(user, d)
    current, _ = today(ctx, d)
    lo, hi = _range(month, start, end, current)
    check_range(lo, hi)
    return ReportQuery(ctx, user, site_id, d, lo, hi, classes)


def build(r: ReportQuery) -> RangeReport:
    """The range report through THE rule, excuses from web-core's table, check-ins by its per-school query."""
    excused = sd.excuses(r.ctx.db, r.site_id, r.start.isoformat(), r.end.isoformat())
    pairs = {(pid, date.fromisoformat(day)): str(row["reason"]) for (pid, day), row in excused.items()}
    return attendance_range(
        None,
        r.d.calendar,
        list(r.d.students.values()),
        r.start,
        r.end,
        classes=r.classes,
        excused=pairs,
        now=r.ctx.clock(),
        fetch=lambda lo, hi: sd.checkins_between(r.ctx.db, r.site_id, lo, hi),
    )


def _query(r: ReportQuery, class_name: str | None) -> str:
    q = {"from": r.start.isoformat(), "to": r.end.isoformat()}
    if class_name:
        q["class"] = class_name
    return urlencode(q)


@router.get("/s/{site_id}/reports", include_in_schema=False)
def reports_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    class_name: ClassQ = None,
    month: MonthQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> Response:
    school = school_for(ctx, user, site_id)
    request.state.tz = school.timezone
    error = None
    report = None
    try:
        r = resolve(ctx, user, site_id, class_name, month, start, end)
        report = build(r)
        lo, hi = r.start, r.end
    except RangeError as exc:
        error = translate(page_language(request), exc.key, **exc.fields) if exc.key else str(exc)
        lo = hi = today(ctx, directory(ctx, site_id))[0]
    d = directory(ctx, site_id)
    grid = (
        report is not None
        and len(report.days) <= GRID_MAX_DAYS
        and len(report.days) * len(report.students) <= GRID_MAX_CELLS
    )
    context: dict[str, Any] = {
        "school": school,
        "classes": visible_classes(user, d),
        "class_name": class_name or "",
        "start": lo,
        "end": hi,
        "month": lo.strftime("%Y-%m"),
        "report": report,
        "summaries": report.summaries() if report is not None else [],
        "grid": grid,
        "error": error,
        "edfi": school.edfi_school_id is not None,
        "query": urlencode(
            {k: v for k, v in {"from": lo.isoformat(), "to": hi.isoformat(), "class": class_name or ""}.items() if v}
        ),
    }
    return templates.TemplateResponse(request, "reports.html", context, 422 if error else 200)


def _audit_export(r: ReportQuery, request: Request, what: str, **extra: Any) -> None:
    detail = {"what": what, "from": r.start.isoformat(), "to": r.end.isoformat(), "classes": r.classes, **extra}
    audit(r.ctx, r.user, "report_export", detail, request, r.site_id)


EDFI_MISSING = "this school has no Ed-Fi schoolId yet: set edfi_school_id in central.yaml"


def words_for(ctx: WebContext, site_id: str, lang: str | None) -> Words:
    """The file's words: the language, and the school's gate names in it."""
    chosen = language(lang)
    school = ctx.school(site_id)
    gates = {} if school is None else {g: getattr(n, chosen) for g, n in school.gates.items()}
    return Words(chosen, gates)


def _download(r: ReportQuery, fmt: str, layout: Literal["days", "summary"], lang: str | None) -> Download:
    """The file (422 before any work for an Ed-Fi file of a school without its Ed-Fi number)."""
    words = words_for(r.ctx, r.site_id, lang)
    school = r.ctx.school(r.site_id)
    edfi_id = None if school is None else school.edfi_school_id
    if fmt == "json" and edfi_id is None:
        raise HTTPException(422, EDFI_MISSING)
    report = build(r)
    if fmt == "csv":
        return csv_download(report, r.site_id, layout, words)
    if fmt == "xlsx":
        return xlsx_download(report, r.site_id, words)
    assert edfi_id is not None
    return edfi_download(report, r.site_id, edfi_id, r.d.calendar, words=words)


def _stream(dl: Download) -> StreamingResponse:
    return StreamingResponse(
        iter(dl.chunks),
        media_type=dl.media_type,
        headers={"Content-Disposition": f'attachment; filename="{dl.filename}"'},
    )


Fmt = Annotated[str, Path(pattern=r"^(csv|xlsx|json)$")]
LayoutQ = Annotated[Literal["days", "summary"], Query()]


@router.get("/s/{site_id}/reports/download.{fmt}", include_in_schema=False)
def download_page(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    fmt: Fmt,
    class_name: ClassQ = None,
    month: MonthQ = None,
    start: FromQ = None,
    end: ToQ = None,
    layout: LayoutQ = "days",
    lang: LangQ = None,
) -> Response:
    try:
        r = resolve(ctx, user, site_id, class_name, month, start, end)
        dl = _download(r, fmt, layout, lang or page_language(request))
        _audit_export(r, request, "download", format=fmt, layout=layout)
        return _stream(dl)
    except RangeError as exc:
        raise HTTPException(422, str(exc)) from None


# ------------------------------------------------------------------------------------------------------ JSON API


def _api_resolve(
    ctx: WebContext,
    user: User,
    site_id: str,
    class_name: str | None,
    month: str | None,
    start: str | None,
    end: str | None,
) -> ReportQuery:
    try:
        return resolve(ctx, user, site_id, class_name, month, start, end)
    except RangeError as exc:
        raise HTTPException(422, str(exc)) from None


def _head(r: ReportQuery, report: RangeReport) -> dict[str, Any]:
    return {
        "school": r.site_id,
        "from": r.start.isoformat(),
        "to": r.end.isoformat(),
        "timezone": report.timezone,
        "classes": list(report.classes),
        "school_days": [d.isoformat() for d in report.days],
    }


@router.get("/api/v1/reports/{site_id}/summary", tags=["reports"])
def api_summary(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    class_name: ClassQ = None,
    month: MonthQ = None,
    start: FromQ = None,
    end: ToQ = None,
) -> JSONResponse:
    """Per student over the range: school days, present (on time), late, absent, excused, early departures and
    the attendance rate; `month=YYYY-MM` or `from`/`to` (YYYY-MM-DD, school's calendar days)."""
    r = _api_resolve(ctx, user, site_id, class_name, month, start, end)
    report = build(r)
    _audit_export(r, request, "api_summary")
    return JSONResponse({**_head(r, report), "students": [s.as_row() for s in report.summaries()]})


@router.get("/api/v1/reports/{site_id}/days", tags=["reports"])
def api_days(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    class_name: ClassQ = None,
    month: MonthQ = None,
    start: FromQ = None,
    end: ToQ = None,
    limit: Annotated[int, Query(ge=1, le=API_PAGE_MAX)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """One row per student per school day (status, first in / last out in the school's time zone, method, gate),
    by day then class then name; paginated with `limit`/`offset`, `next_offset` null on the last page."""
    r = _api_resolve(ctx, user, site_id, class_name, month, start, end)
    report = build(r)
    if offset == 0:
        _audit_export(r, request, "api_days")
    total = len(report.days) * len(report.students)
    rows: list[dict[str, Any]] = []
    for i, row in enumerate(report.day_rows()):
        if i < offset:
            continue
        if len(rows) == limit:
            break
        rows.append({k: _json(v) for k, v in row.items()})
    nxt = offset + len(rows)
    return JSONResponse(
        {
            **_head(r, report),
            "total": total,
            "offset": offset,
            "next_offset": nxt if nxt < total else None,
            "rows": rows,
        }
    )


def _json(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


@router.get("/api/v1/reports/{site_id}/download.{fmt}", tags=["reports"])
def api_download(
    request: Request,
    user: UserDep,
    ctx: CtxDep,
    site_id: SiteP,
    fmt: Fmt,
    class_name: ClassQ = None,
    month: MonthQ = None,
    start: FromQ = None,
    end: ToQ = None,
    layout: LayoutQ = "days",
    lang: LangQ = None,
) -> Response:
    """The same files as the Reports page: csv (layout days|summary), xlsx (both sheets), json (Ed-Fi
    StudentSchoolAttendanceEvent records; 422 until the school has its `edfi_school_id`). Headers, status words and
    dates in Vietnamese, or English with `lang=en`."""
    r = _api_resolve(ctx, user, site_id, class_name, month, start, end)
    dl = _download(r, fmt, layout, lang)
    _audit_export(r, request, "api_download", format=fmt, layout=layout)
    return _stream(dl)
