"""`edge export` and `edge report`: stored check-ins, and a school's day judged as the web app judges it, from the
command line. Thin: the work is in export.py and report.py."""

from __future__ import annotations

import sys
from datetime import date, datetime

import click

from edge.central.store.commands import open_existing_store


def _parse_date(_ctx: click.Context, _p: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD") from None


_STORE_OPTION = click.option(
    "--store",
    "--db",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="Collector store: sqlite:///PATH, postgresql://… or a SQLite file path.",
)


@click.command("export")
@_STORE_OPTION
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--date", "day", default=None, callback=_parse_date, help="Only this day (YYYY-MM-DD).")
@click.option(
    "--tz",
    default=None,
    help="Time zone in which --date is a calendar day; default: the school's when the store holds one, else UTC.",
)
@click.option(
    "--order",
    type=click.Choice(["time", "seq"]),
    default="time",
    show_default=True,
    help="seq: per gateway in decision order (for gateways whose clock was not synchronised).",
)
def export_cmd(store_url: str, fmt: str, day: date | None, tz: str | None, order: str) -> None:
    """Print stored check-ins, oldest first (CSV cells are spreadsheet-safe)."""
    from edge.central.attendance.export import select_checkins, write_export

    store = open_existing_store(store_url)
    if tz is None:
        tz = _only_school_zone(store_url) or "UTC"
    try:
        write_export(select_checkins(store, day, tz, "seq" if order == "seq" else "time"), sys.stdout, fmt)
    finally:
        store.close()


@click.command("report")
@_STORE_OPTION
@click.option("--school", default=None, help="The school (site_id); default: the only school in the store.")
@click.option("--date", "day", default=None, callback=_parse_date, help="The day (YYYY-MM-DD); default: today there.")
@click.option("--tz", default=None, help="Show times in this zone (default: the school's; the day stays the school's).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--at",
    "at_text",
    default=None,
    help="Judge as at this instant (ISO 8601 with its offset, e.g. 2026-11-24T07:30+07:00); default: now. "
    "Before a class's cut-off its students without an arrival are 'pending'.",
)
def report_cmd(
    store_url: str, school: str | None, day: date | None, tz: str | None, fmt: str, at_text: str | None
) -> None:
    """A school's day from the store, judged as the web app judges it: present / late / absent / excused /
    pending (before the cut-off) / no_school; students enrolled that day; times in the school's zone."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from edge.central.attendance.report import write_attendance
    from edge.central.school.state import load_school, school_ids, school_problem
    from edge.central.web.db import WebDb

    open_existing_store(store_url).close()
    db = WebDb(store_url)
    try:
        if school is None:
            ids = school_ids(db)
            if len(ids) != 1:
                raise click.UsageError(f"--school: the store holds {', '.join(ids) or 'no school'}")
            school = ids[0]
        state = load_school(db, school)
        if state is None:
            raise click.UsageError(school_problem(db, school) or f"no school {school!r}")
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
        now = datetime.now(UTC)
        if at_text is not None:
            try:
                now = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
            except ValueError:
                raise click.BadParameter("use ISO 8601, e.g. 2026-11-24T07:30+07:00", param_hint="--at") from None
            if now.tzinfo is None:
                raise click.BadParameter("give the offset, e.g. +07:00 or Z", param_hint="--at")
        the_day = day or now.astimezone(ZoneInfo(state.timezone)).date()
        write_attendance(db, state, the_day, now, tz, fmt)  # type: ignore[arg-type]
    finally:
        db.close()


def _only_school_zone(store_url: str) -> str | None:
    """The time zone of the store's school when it holds exactly one (None: none, several, or no school tables)."""
    from edge.central.web.db import WebDb

    db = WebDb(store_url)
    try:
        rows = db.query("SELECT timezone FROM schools")
    except Exception:  # a store from before the school tables: no school to take a zone from
        return None
    finally:
        db.close()
    return str(rows[0]["timezone"]) if len(rows) == 1 else None
