"""`edge collector dead-letters list|show|replay`: the collector's dead letters, from the command line. Thin: the
work is in dead_letters.py (the web app's Gates page calls the same functions)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

STORE = click.option(
    "--store",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="The centre's store (as the collector): sqlite:///PATH or postgresql://…",
)


def _db(store_url: str) -> Any:
    from edge.central.store import open_store
    from edge.central.web.db import WebDb

    open_store(store_url).close()  # pending migrations
    return WebDb(store_url)


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


@click.group("dead-letters")
def dead_letters() -> None:
    """Check-ins the collector refused (the `rejected` table): list, show, replay."""


@dead_letters.command("list")
@STORE
@click.option("--site", default=None, help="Only this school's.")
@click.option("--pending", is_flag=True, help="Only those whose event is not stored.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="JSON lines.")
def list_cmd(store_url: str, site: str | None, pending: bool, limit: int, as_json: bool) -> None:
    """The newest dead letters first: id, when, gateway, state (pending / stored), reason."""
    from edge.central.collector.dead_letters import list_dead_letters

    db = _db(store_url)
    try:
        rows = list_dead_letters(db, site_id=site, pending_only=pending, limit=limit)
    finally:
        db.close()
    for dl in rows:
        if as_json:
            click.echo(json.dumps(dl.as_dict(), ensure_ascii=False))
        else:
            where = f"{dl.site_id or '?'}/{dl.gateway_id or '?'}"
            state = "pending" if dl.pending else "stored"
            click.echo(f"{dl.id:>6}  {_when(dl.received_at)}  {where:28} {state:8} {dl.reason[:100]}")


@dead_letters.command("show")
@STORE
@click.argument("dead_letter_id", type=int)
def show_cmd(store_url: str, dead_letter_id: int) -> None:
    """One dead letter with its payload."""
    from edge.central.collector.dead_letters import get_dead_letter, show

    db = _db(store_url)
    try:
        dl = get_dead_letter(db, dead_letter_id)
    finally:
        db.close()
    if dl is None:
        click.echo(f"error: no dead letter {dead_letter_id}", err=True)
        sys.exit(2)
    click.echo(show(dl))


@dead_letters.command("replay")
@STORE
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-pending", is_flag=True, help="Every pending dead letter (of --site).")
@click.option("--site", default=None, help="With --all-pending: only this school's.")
@click.option(
    "--notify-config",
    default=None,
    envvar="EDGE_CENTRAL_CONFIG",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="central.yaml: queue the parents' notices of a replayed check-in, as the collector does.",
)
@click.option("--by", default=None, help="Who replays (audit log); default: this login name.")
def replay_cmd(
    store_url: str,
    ids: tuple[int, ...],
    all_pending: bool,
    site: str | None,
    notify_config: Path | None,
    by: str | None,
) -> None:
    """Validate each dead letter again against the current registry of gateways and store its check-in once.
    Exit 1 when one is still refused."""
    from edge.central.collector.dead_letters import list_dead_letters, replay
    from edge.central.store import open_store

    if all_pending == bool(ids):
        raise click.UsageError("give dead letter ids, or --all-pending")
    db = _db(store_url)
    hook, schools = None, None
    if notify_config is not None:
        from edge.cli import _notify_hook

        hook, schools = _notify_hook(notify_config, store_url)  # the same hook as the collector's
    store = open_store(store_url)
    try:
        if all_pending:
            ids = tuple(dl.id for dl in reversed(list_dead_letters(db, site_id=site, pending_only=True, limit=100_000)))
        results = replay(store, db, ids, by=by or f"cli:{getpass.getuser()}", ip="cli", on_stored=hook)
    finally:
        store.close()
        db.close()
        if schools is not None:
            schools.stop()
            schools.db.close()
    for r in results:
        click.echo(f"{r.id:>6}  {r.outcome:14} {r.detail}")
    sys.exit(1 if any(r.outcome in ("refused", "not_found") for r in results) else 0)
