"""The one SQL-dialect rule of the centre: SQL is written once, with `?` placeholders, for both engines.

SQLite's driver takes `?`; psycopg takes `%s`. Every query of the store, the web app and the notifier goes through
`placeholders`, so a query is never written twice. Consequence for whoever writes SQL here: no literal `?` in a
query, and no literal `%` either on PostgreSQL (psycopg would read it as a placeholder) — pass such values as
parameters."""

from __future__ import annotations


def placeholders(sql: str, engine: str) -> str:
    """`sql` with its `?` placeholders in `engine`'s style ('sqlite' keeps them, 'postgresql' gets `%s`)."""
    return sql if engine == "sqlite" else sql.replace("?", "%s")
