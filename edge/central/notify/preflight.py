"""Before the notifier starts: does the store it was given hold the schools it is to notify for?

A notifier pointed at the wrong store is the worst failure the product can have: it sees no arrivals and, at the
cut-off, tells every parent their child has not arrived (it happened: a unit file named `central.sqlite` while
the collector wrote `collector.sqlite`, and SQLite quietly created an empty file). So `edge notify run` refuses to
start, exit 2, with what is missing, when:
- the SQLite file does not exist (the notifier opens an existing store only; it never creates one);
- the store has no tables at all (never migrated: not the centre's store);
- a school of central.yaml is not in the store, or has no students (`school_problem` of the school state).
A store that is merely behind (older migrations) is brought up to date, as every centre process does."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from edge.central.store import open_store, sqlite_path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def store_problems(url: str, site_ids: Iterable[str]) -> list[str]:
    """[] when the store at `url` holds every school; else one sentence per problem."""
    if not is_postgres(url):
        path = Path(sqlite_path(url))
        if not path.is_file():
            return [
                f"no store at {path}: the notifier never creates one; give it the store the collector and the web "
                "app use (EDGE_STORE_URL in the centre's environment)"
            ]
    try:
        store = open_store(url, auto_migrate=False)
    except Exception as exc:
        return [f"cannot open the store {url}: {type(exc).__name__}: {exc}"]
    try:
        if store.schema_version() == 0:
            return [f"the store {url} is not migrated (it has no tables): not the centre's store? `edge db migrate`"]
        store.migrate()
    finally:
        store.close()
    from edge.central.school.state import school_problem
    from edge.central.web.db import WebDb

    db = WebDb(url, pool_size=1)
    try:
        return [problem for site in site_ids if (problem := school_problem(db, site)) is not None]
    finally:
        db.close()
