"""`edge db migrate|backup|retention`: operations on the centre's store. Thin: the work is in the adapters
(sqlite.py, postgres.py) and retention.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def open_existing_store(url: str) -> Any:
    """A store to read: a SQLite file must exist (a typo must not create an empty database)."""
    from edge.central.store import open_store, sqlite_path

    if not url.startswith(("postgresql://", "postgres://")) and not Path(sqlite_path(url)).is_file():
        raise click.BadParameter(f"no database at {sqlite_path(url)}", param_hint="--store")
    return open_store(url, auto_migrate=False)


@click.group("db")
def db_group() -> None:
    """Operations on the collector's store: migrate, backup, retention."""


@db_group.command("migrate")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
def db_migrate(store_url: str) -> None:
    """Apply the pending numbered schema migrations (each once, in its own transaction)."""
    from edge.central.store import open_store

    store = open_store(store_url, auto_migrate=False)
    try:
        before = store.schema_version()
        applied = store.migrate()
        click.echo(f"schema version {before} -> {store.schema_version()}; applied: {', '.join(applied) or 'none'}")
    finally:
        store.close()


@db_group.command("backup")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(store_url: str, dest: Path) -> None:
    """A consistent copy while collectors keep writing: SQLite's online backup API; pg_dump -Fc for PostgreSQL."""
    store = open_existing_store(store_url)
    try:
        store.backup(dest)
    finally:
        store.close()
    click.echo(f"backup written to {dest} (mode 0600)")


@db_group.command("retention")
@click.option("--store", "store_url", required=True, envvar="EDGE_STORE_URL", help="sqlite:///PATH or postgresql://…")
@click.option("--keep-days", required=True, type=click.IntRange(min=1), help="Keep check-ins of the last N days.")
@click.option("--site", default=None, help="Only this school's check-ins (its own retention period).")
def db_retention(store_url: str, keep_days: int, site: str | None) -> None:
    """Delete check-ins older than the retention period: attendance of minors is not kept for ever."""
    from edge.central.store.retention import cutoff_for

    cutoff = cutoff_for(keep_days)
    store = open_existing_store(store_url)
    try:
        n = store.delete_before(cutoff, site)
    finally:
        store.close()
    click.echo(f"deleted {n} check-in(s) that occurred before {cutoff}" + (f" at {site}" if site else ""))
