"""CLI groups of the parents' notifications (#9): `edge calendar check DATE`, `edge notify run|status|retry`."""

from __future__ import annotations

import sys
from collections.abc import Callable
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
@click.option(
    "--store",
    "store_url",
    default=None,
    envvar="EDGE_STORE_URL",
    help="Read the calendar the processes run on, from the store (default with EDGE_STORE_URL); without it: "
    "the calendar in -c FILE (before `edge school import`).",
)
def calendar_check(
    day: str, config_path: Path, school_id: str | None, class_name: str | None, store_url: str | None
) -> None:
    """Is DATE (YYYY-MM-DD) a school day, and why. Exit 0 if it is, 1 if not, 2 on a bad config or date."""
    from edge.central.attendance.calendar import SchoolCalendar
    from edge.config.central import CentralConfig

    if store_url is not None:
        _calendar_from_store(day, store_url, school_id, class_name)

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


def _calendar_from_store(day: str, store_url: str, school_id: str | None, class_name: str | None) -> None:
    from edge.central.school.state import load_school, school_ids, school_problem
    from edge.central.web.db import WebDb

    try:
        d = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        click.echo(f"DATE must be YYYY-MM-DD, got {day!r}", err=True)
        sys.exit(2)
    db = WebDb(store_url)
    try:
        ids = school_ids(db)
        sid = school_id or (ids[0] if ids else "")
        state = load_school(db, sid)
        if state is None:
            click.echo(school_problem(db, sid) or f"no school {sid!r} in the store", err=True)
            sys.exit(2)
    finally:
        db.close()
    cal = state.directory(None).calendar
    verdict = cal.check(d)
    what = "a school day" if verdict.school_day else "not a school day"
    click.echo(f"{d.isoformat()} ({d:%a}) is {what} at {sid}: {verdict.reason}")
    if class_name is not None:
        t = cal.times_for(class_name)
        click.echo(f"class {class_name}: cut-off {t.cutoff:%H:%M}, dismissal {t.dismissal:%H:%M} ({t.source})")
    sys.exit(0 if verdict.school_day else 1)


STORE = click.option(
    "--store",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="The central store: sqlite:///PATH or postgresql://USER@HOST/DB (as for edge collector run).",
)


@click.group("notify")
def notify() -> None:
    """Parents' notifications: the notifier, its queue, dead letters."""


@notify.command("run")
@CONFIG
@STORE
@click.option(
    "--metrics",
    "metrics_addr",
    default="127.0.0.1:9110",
    show_default=True,
    envvar="EDGE_METRICS",
    help="Serve Prometheus metrics (edge_notify_*) on HOST:PORT; 'off' to disable.",
)
@click.pass_context
def notify_run(ctx: click.Context, config_path: Path, store_url: str, metrics_addr: str) -> None:
    """Send queued notices and queue absence notices at each cut-off, until SIGTERM / SIGINT.

    Exit 2 on a bad config or a store that does not hold the schools (missing — it never creates one —, not
    migrated, no school row or no students: every problem listed), 3 if the store fails."""
    import signal

    from edge.central.notify.hook import arrivals, connect
    from edge.central.notify.preflight import store_problems
    from edge.central.notify.worker import Notifier
    from edge.central.school.live import LiveSchools
    from edge.central.web.db import WebDb
    from edge.config.central import CentralConfig
    from edge.logs import setup_logging

    cfg = _load(config_path)
    assert isinstance(cfg, CentralConfig)
    setup_logging((ctx.obj or {}).get("log_level") or "INFO")
    problems = store_problems(store_url, [school.id for school in cfg.schools])  # migrates a store that is behind
    if problems:  # never notify from a store that does not hold the school: every child would be "absent"
        for problem in problems:
            click.echo(problem, err=True)
        click.echo(f"refusing to start: the store {store_url} does not hold the school(s) to notify for", err=True)
        sys.exit(2)
    # students, guardians, calendar and cut-offs: the store's, followed live (an office edit is in force
    # within a second, no restart); channels and templates: central.yaml's
    directories = LiveSchools(WebDb(store_url), cfg)
    missing = [p for s in cfg.schools if s.id not in directories for p in directories.problems.get(s.id, [])]
    if missing:
        for problem in missing:
            click.echo(problem, err=True)
        click.echo("refusing to start: the store does not hold the schools of central.yaml", err=True)
        sys.exit(2)
    directories.start(name="notifier-schools")
    if not store_url.startswith(("postgresql://", "postgres://")):
        import fcntl

        from edge.central.store import sqlite_path

        # One notifier per SQLite store (no SKIP LOCKED there): a second one is refused, not silently racing.
        lock = open(f"{sqlite_path(store_url)}.notify.lock", "a")  # noqa: SIM115 (held until the process ends)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo(f"another `edge notify run` is running on {store_url} (SQLite: one notifier)", err=True)
            sys.exit(2)
    from edge.ops.heartbeat import Heartbeats
    from edge.ops.server_metrics import NotifierMetrics, parse_listen, serve_registry
    from edge.ops.supervision import Supervision

    try:
        parse_listen(metrics_addr)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--metrics") from None
    metrics = NotifierMetrics(_job_counts(store_url))
    # systemd Type=notify: READY=1 once the threads run, WATCHDOG=1 only while each channel loop goes round
    heartbeats = Heartbeats(max_age_s=Supervision.heartbeat_max_age_s(default=90.0))
    sup = Supervision.from_env(heartbeats)
    try:
        notifier = Notifier(
            cfg.notify, directories, lambda: connect(store_url), arrivals, heartbeats=heartbeats,
            observe=metrics.observe,
        )  # fmt: skip
    except ValueError as exc:  # a channel's key file missing or unsafe (VapidKeyError)
        click.echo(f"refusing to start: {exc}", err=True)
        sys.exit(2)

    if (guard := notifier.absence) is not None:
        from edge.ops.server_metrics import gates_metrics

        gates_metrics(metrics.registry, lambda: dict(guard.gates_down), lambda: notifier.counters["absence_held"])

    def stop(_signum: int, _frame: object) -> None:
        notifier.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = serve_registry(metrics.registry, metrics_addr, "notifier")
    notifier.start()
    sup.ready(f"notifying on {len(notifier.channels)} channel(s)")
    while not notifier.stop_event.wait(0.5):
        pass
    sup.stopping()
    notifier.stop()
    directories.stop()
    if server is not None:
        server.stop()
    sys.exit(3 if notifier.errors else 0)


def _job_counts(store_url: str) -> Callable[[], list[tuple[str, str, str, int]]]:
    """The queue read at scrape time on a connection of its own (closed after each scrape)."""

    def counts() -> list[tuple[str, str, str, int]]:
        from edge.central.notify import jobs as q
        from edge.central.notify.hook import connect

        conn, dialect = connect(store_url)
        try:
            return [(str(k), str(c), str(s), int(n)) for k, c, s, n in q.status(conn, dialect, errors=0).counts]
        finally:
            conn.close()

    return counts


@notify.command("status")
@STORE
@click.option("--errors", default=10, show_default=True, help="How many of the last errors to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def notify_status(store_url: str, errors: int, as_json: bool) -> None:
    """Notices queued, sending, sent and dead by kind and channel, and the last errors."""
    import json

    from edge.central.notify import jobs as q
    from edge.central.notify.hook import connect

    conn, dialect = connect(store_url)
    try:
        st = q.status(conn, dialect, errors=errors)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps({
            "counts": [{"kind": k, "channel": c, "status": s, "count": n} for k, c, s, n in st.counts],
            "last_errors": [{"key": k, "channel": c, "status": s, "error": e} for k, c, s, e in st.last_errors],
            "failed_attempts": [{"kind": k, "channel": c, "count": n} for (k, c), n in sorted(st.failed.items())],
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return
    table: dict[tuple[str, str], dict[str, int]] = {}
    for kind, channel, status, n in st.counts:
        table.setdefault((kind, channel), {})[status] = n
    click.echo(f"{'kind':<10} {'channel':<14} {'queued':>7} {'sending':>8} {'sent':>7} {'dead':>6} {'failed':>7}")
    for (kind, channel), by in sorted(table.items()):
        click.echo(
            f"{kind:<10} {channel:<14} {by.get('queued', 0):>7} {by.get('sending', 0):>8} {by.get('sent', 0):>7}"
            f" {by.get('dead', 0):>6} {st.failed.get((kind, channel), 0):>7}"
        )
    click.echo("(failed: attempts that failed and were retried, by kind and channel)")
    if st.last_errors:
        click.echo("last errors:")
        for key, channel, status, error in st.last_errors:
            click.echo(f"  [{status}] {channel} {key}: {error}")


@notify.command("retry")
@STORE
@click.option("--key", default=None, help="Only this notice (its key, as `status` prints it); default: every dead one.")
def notify_retry(store_url: str, key: str | None) -> None:
    """Put dead notices back in the queue (after fixing a number, a channel's credentials, …)."""
    from edge.central.notify import jobs as q
    from edge.central.notify.hook import connect

    conn, dialect = connect(store_url)
    try:
        n = q.retry(conn, dialect, key=key)
    finally:
        conn.close()
    click.echo(f"{n} notice(s) queued again")


@notify.command("notices")
@STORE
@click.argument("site")
@click.argument("person_id")
@click.option("--date", "day", default=None, help="Only this school day (YYYY-MM-DD).")
def notify_notices(store_url: str, site: str, person_id: str, day: str | None) -> None:
    """A student's notices (what the school's web app shows), as JSON lines."""
    import json

    from edge.central.notify import jobs as q
    from edge.central.notify.hook import connect

    conn, dialect = connect(store_url)
    try:
        rows = q.notices_of(conn, dialect, site, person_id, date.fromisoformat(day) if day else None)
    finally:
        conn.close()
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False))


@notify.command("holds")
@STORE
@click.option("--site", "site_id", default=None, help="Only this school (default: every school in the store).")
@click.option("--all", "show_all", is_flag=True, help="Also the batches already released or dropped.")
def notify_holds(store_url: str, site_id: str | None, show_all: bool) -> None:
    """Absence batches held because the gates were not healthy (what the web app's Held notices page shows)."""
    from zoneinfo import ZoneInfo

    from edge.central.gates import holds
    from edge.central.gates.judge import describe
    from edge.central.school.state import school_ids
    from edge.central.web.db import WebDb

    db = WebDb(store_url, pool_size=1)
    try:
        with db.transaction() as tx:
            for site in [site_id] if site_id else school_ids(tx):
                row = tx.query("SELECT timezone FROM schools WHERE site_id = ?", (site,))
                tz = ZoneInfo(row[0]["timezone"] if row else "UTC")
                for b in holds.batches(tx, site, status=None if show_all else holds.OPEN):
                    reasons = "; ".join(describe(r, tz) for r in b.reasons)
                    click.echo(f"#{b.id} {site} {b.day} cut-off {b.cutoff} [{b.status}] {b.students} student(s), "
                               f"{b.notices} notice(s): {reasons}")  # fmt: skip
                    for n in holds.notices(tx, b.id):
                        click.echo(f"    {n.class_name:<6} {n.name} -> {n.guardian_id} ({n.channel})")
    finally:
        db.close()


def _decide(store_url: str, hold_id: int, action: str, by: str) -> None:
    from edge.central.gates import holds
    from edge.central.web import audit
    from edge.central.web.db import WebDb

    db = WebDb(store_url, pool_size=1)
    try:
        with db.transaction() as tx:
            row = tx.query("SELECT site_id FROM absence_holds WHERE id = ?", (hold_id,))
            if not row:
                click.echo(f"no held batch #{hold_id}", err=True)
                sys.exit(1)
            site = str(row[0]["site_id"])
            b = holds.batch(tx, site, hold_id)
            assert b is not None
            if not holds.decide(tx, site, hold_id, action, by):
                click.echo(f"batch #{hold_id} is already {b.status}", err=True)
                sys.exit(1)
            detail = {"hold": hold_id, "day": b.day.isoformat(), "cutoff": b.cutoff, "notices": b.notices, "via": "cli"}
            audit.record(tx, by, f"absence_hold_{action}", detail, None, site)
    finally:
        db.close()
    what = "the notifier queues who is still absent within seconds" if action == "release" else "nothing will be sent"
    click.echo(f"batch #{hold_id} {'released' if action == 'release' else 'dropped'} by {by}: {what}")


BY = click.option("--by", required=True, help="Who decides (recorded in the audit log), e.g. the office's account.")


@notify.command("release")
@STORE
@click.argument("hold_id", type=int)
@BY
def notify_release(store_url: str, hold_id: int, by: str) -> None:
    """Release a held batch: each student is judged again (who has arrived since gets nothing), each notice once."""
    _decide(store_url, hold_id, "release", by)


@notify.command("drop")
@STORE
@click.argument("hold_id", type=int)
@BY
def notify_drop(store_url: str, hold_id: int, by: str) -> None:
    """Drop a held batch: none of its absence notices is ever sent."""
    _decide(store_url, hold_id, "drop", by)


@notify.command("vapid-keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing key: every device must subscribe again.")
def notify_vapid_keygen(path: Path, force: bool) -> None:
    """Write a new VAPID key for the Web Push channel to PATH (PEM, mode 0600) and print its public key.

    central.yaml names the file (vapid_key_file: ${EDGE_VAPID_KEY_FILE}); the public key is the
    applicationServerKey the parents' app subscribes with. Exit 1 if PATH exists (without --force)."""
    from edge.central.notify.channels.webpush import public_key_b64, write_vapid_key

    try:
        key = write_vapid_key(path, overwrite=force)
    except FileExistsError:
        click.echo(f"{path} exists; a new key would void every device's subscription (--force to replace)", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"cannot write {path}: {exc.strerror}", err=True)
        sys.exit(2)
    click.echo(f"VAPID key written to {path} (mode 0600)")
    click.echo(f"public key (applicationServerKey): {public_key_b64(key)}")
