"""The centre's check-in store: one interface (base.CheckinStore), two adapters chosen by URL.

    sqlite:///var/collector.sqlite      a relative path (three slashes, like SQLAlchemy)
    sqlite:////srv/edge/collector.sqlite an absolute path (four slashes)
    postgresql://edge@db.district/edge  PostgreSQL; password from PGPASSWORD/~/.pgpass or ${VAR} in the URL

A bare path (no scheme) is a SQLite file, so `--db var/collector.sqlite` keeps working."""

from __future__ import annotations

from edge.central.store.base import CHECKIN_COLUMNS, CheckinStore, OnStored, Outcome, Reject, Tx


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :] if url.startswith("sqlite:///") else url


def open_store(url: str, *, auto_migrate: bool = True, pool_size: int = 4) -> CheckinStore:
    """The store `url` names. auto_migrate applies pending migrations first (collectors, tests); tools that must
    not change a schema pass False."""
    if url.startswith(("postgresql://", "postgres://")):
        from edge.central.store.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size, auto_migrate=auto_migrate)
    if "://" in url and not url.startswith("sqlite:///"):
        raise ValueError(f"unknown store URL {url!r}: use sqlite:///PATH or postgresql://…")
    from edge.central.store.sqlite import SqliteStore

    return SqliteStore(sqlite_path(url), url=url, auto_migrate=auto_migrate)


__all__ = ["CHECKIN_COLUMNS", "CheckinStore", "OnStored", "Outcome", "Reject", "Tx", "open_store", "sqlite_path"]
