"""`edge school …`: a school's state in the store — import it from files (the migration from central.yaml +
roster.csv + guardians.csv), export it back, show it, and keep the registry of gateways.

    edge school import central.yaml --store URL [--school ID] [--pki DIR]
    edge school export --store URL --school ID OUT_DIR
    edge school show --store URL [--school ID] [--json]
    edge school gateway add|revoke|list --store URL --school ID [GATEWAY_ID]
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from edge.central.web.db import WebDb

STORE = click.option(
    "--store",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="The centre's store: sqlite:///PATH or postgresql://… (EDGE_STORE_URL).",
)


def _db(store_url: str, *, migrate: bool) -> WebDb:
    from edge.central.store import open_store, sqlite_path

    sqlite = not store_url.startswith(("postgresql://", "postgres://"))
    if not migrate and sqlite and not Path(sqlite_path(store_url)).is_file():
        raise click.BadParameter(f"no database at {sqlite_path(store_url)}", param_hint="--store")
    open_store(store_url, auto_migrate=migrate).close()
    return WebDb(store_url)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group("school")
def school() -> None:
    """The schools' state in the store (students, guardians, calendar, gateways): import, export, show."""


@school.command("import")
@click.argument("central", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@STORE
@click.option("--school", "only", default=None, help="Only this school of the file.")
@click.option(
    "--central",
    "central_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The centre's central.yaml, for the guardians' channel names when the file has none (an export).",
)
@click.option(
    "--pki",
    "pki_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Site PKI: register its gateways (role gateway, not revoked) in the school's registry.",
)
@click.option(
    "--today",
    default=None,
    help="The import's date YYYY-MM-DD (default: today in the school's zone): new students are enrolled from it "
    "(or from the go-live date once it has passed), missing ones leave the day before.",
)
def import_cmd(
    central: Path, store_url: str, only: str | None, central_path: Path | None, pki_dir: Path | None, today: str | None
) -> None:
    """Import CENTRAL's schools (name, zone, calendar, gate names, roster CSV, guardians CSV) into the store, one
    transaction per school; every problem of every file listed and nothing written when there is any. Running it
    again with the same files changes nothing."""
    from edge.central.school.files import SchoolFilesError, import_central
    from edge.config.central import load_central_config
    from edge.config.loader import ConfigError

    try:
        cfg = load_central_config(central, sends=False)  # the channels' secrets are the notifier's (notifier.env)
        channels_from = load_central_config(central_path, sends=False) if central_path is not None else None
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        _fail("the configuration has problems: nothing imported")
        return
    gateways: dict[str, list[str]] = {}
    if pki_dir is not None:
        from edge.security.pki import Pki

        for ident in Pki(pki_dir).identities():
            if ident.role == "gateway" and not ident.revoked:
                gateways.setdefault(ident.site, []).append(ident.name)
    db = _db(store_url, migrate=True)
    try:
        results = []
        for s in cfg.schools:
            if only is not None and s.id != only:
                continue
            day = date.fromisoformat(today) if today else datetime.now(ZoneInfo(s.timezone)).date()
            results += import_central(db, cfg, today=day, only=s.id, channels_from=channels_from, gateways=gateways)
        if not results:
            _fail(f"school {only!r} is not in {central}")
    except SchoolFilesError as exc:
        for p in exc.problems:
            click.echo(p, err=True)
        _fail("nothing imported")
        return
    except ValueError as exc:
        _fail(str(exc))
        return
    finally:
        db.close()
    for r in results:
        if not r.changed:
            click.echo(f"{r.site_id}: unchanged (version {r.version})")
            continue
        click.echo(
            f"{r.site_id}: imported, version {r.version}: {r.students} students ({len(r.added)} new, "
            f"{len(r.left)} left), {r.guardians} guardians"
            + (f", gateways registered: {', '.join(r.gateways)}" if r.gateways else "")
        )


@school.command("export")
@STORE
@click.option("--school", "site_id", required=True, help="The school (site_id).")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def export_cmd(store_url: str, site_id: str, out_dir: Path) -> None:
    """Write the school's state as OUT_DIR/school.yaml + roster.csv + guardians.csv (`edge school import` reads
    them back)."""
    from edge.central.school.files import export_school

    db = _db(store_url, migrate=False)
    try:
        paths = export_school(db, site_id, out_dir)
    except KeyError:
        _fail(f"the store does not hold school {site_id!r}")
        return
    finally:
        db.close()
    for p in paths:
        click.echo(str(p))


@school.command("show")
@STORE
@click.option("--school", "site_id", default=None, help="One school (default: every school in the store).")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def show_cmd(store_url: str, site_id: str | None, as_json: bool) -> None:
    """What the store holds: each school's version, go-live, students enrolled today, guardians, gateways."""
    from edge.central.school.state import load_school, school_ids, school_problem

    db = _db(store_url, migrate=False)
    try:
        ids = [site_id] if site_id else school_ids(db)
        out: list[dict[str, Any]] = []
        for sid in ids:
            state = load_school(db, sid)
            if state is None:
                out.append({"site_id": sid, "problem": school_problem(db, sid)})
                continue
            today = datetime.now(ZoneInfo(state.timezone)).date()
            out.append(
                {
                    "site_id": sid,
                    "name": state.name,
                    "timezone": state.timezone,
                    "version": state.version,
                    "go_live": None if state.go_live is None else state.go_live.isoformat(),
                    "students_enrolled_today": len(state.enrolled(today)),
                    "students_ever": len(state.students),
                    "classes": state.classes(),
                    "guardians": len(state.guardians),
                    "gateways": state.active_gateways(),
                    "problem": school_problem(db, sid),
                }
            )
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for s in out:
        if "name" not in s:
            click.echo(f"{s['site_id']}: {s['problem']}")
            continue
        click.echo(
            f"{s['site_id']} ({s['name']}, {s['timezone']}): version {s['version']}, go-live {s['go_live'] or '-'}, "
            f"{s['students_enrolled_today']} students today in {len(s['classes'])} classes, "
            f"{s['guardians']} guardians, gateways: {', '.join(s['gateways']) or 'none'}"
        )


@school.group("gateway")
def gateway() -> None:
    """The school's registry of gateways: the collector accepts check-ins from the active ones (live)."""


@gateway.command("add")
@STORE
@click.option("--school", "site_id", required=True)
@click.option("--name", default=None, help="Where it is, e.g. 'cổng chính'.")
@click.argument("gateway_id")
def gateway_add(store_url: str, site_id: str, name: str | None, gateway_id: str) -> None:
    """Register GATEWAY_ID (or take back its revocation)."""
    from edge.central.school import edits
    from edge.central.school.state import load_school

    db = _db(store_url, migrate=True)
    try:
        if load_school(db, site_id) is None:
            _fail(f"the store does not hold school {site_id!r}: `edge school import` it first")
        with db.transaction() as tx:
            edits.register_gateway(tx, site_id, gateway_id, name)
    finally:
        db.close()
    click.echo(f"{site_id}/{gateway_id}: registered")


@gateway.command("revoke")
@STORE
@click.option("--school", "site_id", required=True)
@click.argument("gateway_id")
def gateway_revoke(store_url: str, site_id: str, gateway_id: str) -> None:
    """Revoke GATEWAY_ID: its check-ins are dead-lettered from the collector's next reload on."""
    from edge.central.school import edits

    db = _db(store_url, migrate=False)
    try:
        with db.transaction() as tx:
            done = edits.revoke_gateway(tx, site_id, gateway_id)
    finally:
        db.close()
    if not done:
        _fail(f"{site_id}/{gateway_id} is not an active gateway")
    click.echo(f"{site_id}/{gateway_id}: revoked")


@gateway.command("list")
@STORE
@click.option("--school", "site_id", required=True)
def gateway_list(store_url: str, site_id: str) -> None:
    from edge.central.school.state import load_gateways

    db = _db(store_url, migrate=False)
    try:
        rows = load_gateways(db, site_id)
    finally:
        db.close()
    for g in rows:
        click.echo(f"{g.gateway_id}\t{'revoked' if g.revoked_at is not None else 'active'}\t{g.name or ''}")
