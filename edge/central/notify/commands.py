"""CLI groups of the parents' notifications (#9): `edge calendar check DATE`, `edge notify run|status|retry`."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from edge.config.loader import ConfigError

CONFIG = click.option(
    "-c",
    "--config",
    "config_path",
    default="central.yaml",
    show_default=True,
    envvar="EDGE_CENTRAL_CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The centre's config (see central.yaml).",
)


def _load(config_path: Path) -> object:
    from edge.config.central import load_central_config

    try:
        return load_central_config(config_path)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        click.echo(f"{config_path}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(2)


@click.group("calendar")
def calendar() -> None:
    """The school calendar: school days, cut-off and dismissal times."""


@calendar.command("check")
@click.argument("day", metavar="DATE")
@CONFIG
@click.option("--school", "school_id", default=None, help="School id (default: the only / first school).")
@click.option("--class", "class_name", default=None, help="Also show this class's cut-off and dismissal.")
def calendar_check(day: str, config_path: Path, school_id: str | None, class_name: str | None) -> None:
    """Is DATE (YYYY-MM-DD) a school day, and why. Exit 0 if it is, 1 if not, 2 on a bad config or date."""
    from edge.central.attendance.calendar import SchoolCalendar
    from edge.config.central import CentralConfig

    try:
        d = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        click.echo(f"DATE must be YYYY-MM-DD, got {day!r}", err=True)
        sys.exit(2)
    cfg = _load(config_path)
    assert isinstance(cfg, CentralConfig)
    try:
        school = cfg.school(school_id) if school_id else cfg.schools[0]
    except KeyError:
        click.echo(f"no school {school_id!r} in {config_path}; known: {[s.id for s in cfg.schools]}", err=True)
        sys.exit(2)
    cal = SchoolCalendar.of(school)
    verdict = cal.check(d)
    what = "a school day" if verdict.school_day else "not a school day"
    click.echo(f"{d.isoformat()} ({d:%a}) is {what} at {school.id}: {verdict.reason}")
    if class_name is not None:
        t = cal.times_for(class_name)
        click.echo(f"class {class_name}: cut-off {t.cutoff:%H:%M}, dismissal {t.dismissal:%H:%M} ({t.source})")
    sys.exit(0 if verdict.school_day else 1)


def _today() -> date:
    return datetime.now().date()
