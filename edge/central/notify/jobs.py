"""The notification outbox in the central store: jobs and their attempts, on SQLite and PostgreSQL.

- `enqueue(conn, dialect, jobs)` runs INSIDE the caller's transaction — the one that stores the check-ins — so a
  stored check-in and its notices commit together or not at all (transactional outbox). It inserts with
  "do nothing if the key exists": the unique key (site, student, school day, kind, guardian) is what makes a
  notice exactly-once however often the check-in arrives.
- `claim` takes due jobs for one channel and leases them: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
  notifier processes share the queue without taking the same job; on SQLite in a `BEGIN IMMEDIATE` transaction
  (one notifier process). A job whose worker died (kill -9) while sending is taken again when its lease expires
  and sent again with the same idempotency key.
- `finish` records the attempt and the channel's answer, and moves the job to sent, back to queued with
  exponential backoff (or the provider's Retry-After), or to dead (a permanent failure, or too many attempts).

Times are Unix seconds (float) so both databases compare them the same way.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from edge.central.notify.channels.base import Accepted, Outcome, PermanentFailure, RetryAfter
from edge.central.notify.planner import JobSpec
from edge.central.store.base import Tx
from edge.central.store.dialect import placeholders

Dialect = Literal["sqlite", "postgresql"]

MIGRATION = "0003_notify_jobs"
"""The store migration that makes the tables (edge/central/store/migrations/0003_notify_jobs.*.sql)."""
_COLUMNS = (
    "key", "site_id", "person_id", "day", "kind", "guardian_id", "channel", "language", "template", "time", "text",
    "subject", "event_id", "phone", "email", "fields",
)  # fmt: skip


def _sql(dialect: Dialect, text: str) -> str:
    return placeholders(text, dialect)


"""`?` SQL for `dialect` (psycopg takes %s)."""


@contextmanager
def transaction(conn: Any, dialect: Dialect) -> Iterator[None]:
    """A write transaction on a connection in autocommit mode (sqlite3 isolation_level=None, psycopg autocommit)."""
    if dialect == "postgresql":
        with conn.transaction():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class ConnTx:
    """A connection of the notifier's own seen as the store's `Tx` (execute with `?` placeholders -> row count)."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.raw = conn
        self.engine: str = dialect
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.raw.execute(_sql(self._dialect, sql), tuple(params)).rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(sql, row)


_INSERT = (
    f"INSERT INTO notify_jobs ({', '.join(_COLUMNS)}, created_at, next_at) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))}) ON CONFLICT DO NOTHING"
)


def enqueue(tx: Tx, jobs: Iterable[JobSpec], *, now: float | None = None) -> int:
    """Insert jobs in the caller's open transaction (the store's `on_stored` Tx, or ConnTx); a key that exists
    is left alone. Returns how many were new."""
    at = time.time() if now is None else now
    new = 0
    for j in jobs:  # one statement per job: its row count says whether the key was new
        new += max(0, tx.execute(_INSERT, (
            j.key, j.site, j.person_id, j.day.isoformat(), j.kind, j.guardian_id, j.channel, j.language, j.template,
            j.time, j.text, j.subject, j.event_id, j.phone, j.email, _fields_json(j.fields), at, at,
        )))  # fmt: skip
    return new


def _fields_json(fields: dict[str, str] | None) -> str | None:
    return None if fields is None else json.dumps(fields, ensure_ascii=False, sort_keys=True)


def _fields_of(text: str | None) -> dict[str, str] | None:
    """A job's stored fields; None for jobs queued before migration 0006 (or unreadable: never a crash here)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


@dataclass(frozen=True)
class Job:
    id: int
    spec: JobSpec
    attempts: int
    """Including the attempt this claim is for."""
    created_at: float
    interrupted: bool
    """A previous worker took it and died before recording an answer (its lease expired)."""


def _job(row: Sequence[Any]) -> Job:
    (jid, key, site, person, day, kind, guardian, channel, language, template, t, text, subject, event_id, phone,
     email, fields, status, attempts, created_at) = row  # fmt: skip
    spec = JobSpec(
        key, site, person, date.fromisoformat(day), kind, guardian, channel, language, template, t, text, subject,
        event_id, phone, email, _fields_of(fields),
    )  # fmt: skip
    return Job(int(jid), spec, int(attempts), float(created_at), status == "sending")


def claim(
    conn: Any, dialect: Dialect, site: str, channel: str, *, limit: int, lease_s: float, now: float | None = None
) -> list[Job]:
    """Lease up to `limit` due jobs of one channel (queued and due, or sending with an expired lease)."""
    at = time.time() if now is None else now
    cols = f"id, {', '.join(_COLUMNS)}, status, attempts, created_at"
    pick = (
        "SELECT id FROM notify_jobs WHERE site_id = ? AND channel = ? AND "
        "((status = 'queued' AND next_at <= ?) OR (status = 'sending' AND lease_until < ?)) "
        "ORDER BY next_at, id LIMIT ?"
    )
    if dialect == "postgresql":
        pick += " FOR UPDATE SKIP LOCKED"
    with transaction(conn, dialect):
        ids = [r[0] for r in conn.execute(_sql(dialect, pick), (site, channel, at, at, limit)).fetchall()]
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = conn.execute(
            _sql(dialect, f"SELECT {cols} FROM notify_jobs WHERE id IN ({marks}) ORDER BY next_at, id"), ids
        ).fetchall()
        jobs = [_job(r) for r in rows]
        interrupted = [j for j in jobs if j.interrupted]
        for j in interrupted:
            conn.execute(
                _sql(dialect, "INSERT INTO notify_attempts (job_id, attempt, at, outcome, detail) VALUES (?,?,?,?,?)"),
                (j.id, j.attempts, at, "interrupted", "the worker stopped before recording an answer; sent again"),
            )
        conn.execute(
            _sql(
                dialect,
                f"UPDATE notify_jobs SET status = 'sending', attempts = attempts + 1, lease_until = ? "
                f"WHERE id IN ({marks})",
            ),
            (at + lease_s, *ids),
        )
    return [Job(j.id, j.spec, j.attempts + 1, j.created_at, j.interrupted) for j in jobs]


def release(conn: Any, dialect: Dialect, jobs: Iterable[Job]) -> None:
    """Give back claimed jobs that were not tried (stopping, or the channel is down): no attempt is counted."""
    ids = [j.id for j in jobs]
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    with transaction(conn, dialect):
        conn.execute(
            _sql(
                dialect,
                "UPDATE notify_jobs SET status = 'queued', attempts = attempts - 1, lease_until = NULL "
                f"WHERE status = 'sending' AND id IN ({marks})",
            ),
            ids,
        )


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    backoff_initial_s: float = 5.0
    backoff_max_s: float = 60.0

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter (0.5x–1x), so a recovered provider is not hit by every job at once."""
        base = min(self.backoff_max_s, self.backoff_initial_s * float(2 ** max(0, attempts - 1)))
        return base * (0.5 + random.random() / 2)


def _storable(outcome: Outcome) -> Outcome:
    """The answer with a NUL replaced (U+FFFD): a provider's error body or an exception's text may hold one, and
    PostgreSQL refuses NUL in text — recording the answer must never be what fails."""
    if isinstance(outcome, Accepted) and "\x00" in outcome.detail:
        return Accepted(outcome.detail.replace("\x00", "\ufffd"))
    if isinstance(outcome, PermanentFailure) and "\x00" in outcome.reason:
        return PermanentFailure(outcome.reason.replace("\x00", "\ufffd"))
    if isinstance(outcome, RetryAfter) and "\x00" in outcome.reason:
        return RetryAfter(outcome.seconds, outcome.reason.replace("\x00", "\ufffd"))
    return outcome


def finish(
    conn: Any, dialect: Dialect, job: Job, outcome: Outcome, policy: Policy, *, duration_ms: float,
    now: float | None = None,
) -> str:  # fmt: skip
    """Record the attempt and the answer; returns the job's new status (sent, queued, dead)."""
    at = time.time() if now is None else now
    outcome = _storable(outcome)
    update: tuple[str, tuple[Any, ...]]
    if isinstance(outcome, Accepted):
        status, kind, detail = "sent", "accepted", outcome.detail
        update = ("UPDATE notify_jobs SET status = 'sent', sent_at = ?, lease_until = NULL WHERE id = ?", (at, job.id))
    elif isinstance(outcome, PermanentFailure):
        status, kind, detail = "dead", "permanent", outcome.reason
        update = (
            "UPDATE notify_jobs SET status = 'dead', last_error = ?, lease_until = NULL WHERE id = ?",
            (f"permanent: {outcome.reason}", job.id),
        )
    else:
        assert isinstance(outcome, RetryAfter)
        kind, detail = "retry", outcome.reason
        if job.attempts >= policy.max_attempts:
            status = "dead"
            update = (
                "UPDATE notify_jobs SET status = 'dead', last_error = ?, lease_until = NULL WHERE id = ?",
                (f"gave up after {job.attempts} attempts: {outcome.reason}", job.id),
            )
        else:
            status = "queued"
            wait = max(outcome.seconds or 0.0, policy.backoff(job.attempts))
            update = (
                "UPDATE notify_jobs SET status = 'queued', next_at = ?, last_error = ?, lease_until = NULL "
                "WHERE id = ?",
                (at + wait, outcome.reason, job.id),
            )
    with transaction(conn, dialect):
        conn.execute(
            _sql(
                dialect,
                "INSERT INTO notify_attempts (job_id, attempt, at, outcome, detail, duration_ms) VALUES (?,?,?,?,?,?)",
            ),
            (job.id, job.attempts, at, kind, detail[:1000], duration_ms),
        )
        conn.execute(_sql(dialect, update[0]), update[1])
    return status


def channels_with_work(conn: Any, dialect: Dialect) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT DISTINCT site_id, channel FROM notify_jobs WHERE status IN ('queued', 'sending')")
    return [(r[0], r[1]) for r in rows.fetchall()]


def retry(conn: Any, dialect: Dialect, *, key: str | None = None, now: float | None = None) -> int:
    """Put dead jobs (one key, or all) back in the queue, due now, with a fresh attempt count."""
    at = time.time() if now is None else now
    sql = "UPDATE notify_jobs SET status = 'queued', attempts = 0, next_at = ? WHERE status = 'dead'"
    params: tuple[Any, ...] = (at,)
    if key is not None:
        sql += " AND key = ?"
        params = (at, key)
    with transaction(conn, dialect):
        cur = conn.execute(_sql(dialect, sql), params)
        return max(int(cur.rowcount), 0)


@dataclass(frozen=True)
class Status:
    counts: list[tuple[str, str, str, int]]
    """(kind, channel, status, count)."""
    last_errors: list[tuple[str, str, str, str]]
    """(key, channel, status, last_error), newest first."""
    failed: dict[tuple[str, str], int]
    """Failed attempts (retried or interrupted) by (kind, channel)."""


def status(conn: Any, dialect: Dialect, *, errors: int = 10) -> Status:
    counts = conn.execute(
        "SELECT kind, channel, status, COUNT(*) FROM notify_jobs GROUP BY kind, channel, status "
        "ORDER BY kind, channel, status"
    ).fetchall()
    errs = conn.execute(
        _sql(
            dialect,
            "SELECT key, channel, status, last_error FROM notify_jobs WHERE last_error IS NOT NULL "
            "ORDER BY next_at DESC, id DESC LIMIT ?",
        ),
        (errors,),
    ).fetchall()
    failed = conn.execute(
        "SELECT j.kind, j.channel, COUNT(*) FROM notify_attempts a JOIN notify_jobs j ON j.id = a.job_id "
        "WHERE a.outcome IN ('retry', 'interrupted') GROUP BY j.kind, j.channel"
    ).fetchall()
    return Status(
        [(r[0], r[1], r[2], int(r[3])) for r in counts],
        [(r[0], r[1], r[2], r[3]) for r in errs],
        {(r[0], r[1]): int(r[2]) for r in failed},
    )


def notices_of(
    conn: Any,
    dialect: Dialect,
    site: str,
    person_id: str,
    day: date | None = None,
    *,
    guardian_ids: Collection[str] | None = None,
    newest: int | None = None,
) -> list[dict[str, Any]]:
    """A student's notices (what the school's web app shows): one row per guardian and kind, with its state, oldest
    first. `guardian_ids`: only those guardians' (a parent sees their own); `newest`: only the last N. Why in SQL: a
    school year is ~180 rows per guardian with their text, and the parents' child page shows 50 — fetching and
    building the rest took most of the page's database time on PostgreSQL (notices_of p50 4.1 ms of ~9 ms, load 9)."""
    sql = (
        "SELECT key, day, kind, template, guardian_id, channel, language, text, status, attempts, sent_at, last_error "
        "FROM notify_jobs WHERE site_id = ? AND person_id = ?"
    )
    params: list[Any] = [site, person_id]
    if day is not None:
        sql += " AND day = ?"
        params.append(day.isoformat())
    if guardian_ids is not None:
        if not guardian_ids:
            return []
        sql += f" AND guardian_id IN ({', '.join('?' for _ in guardian_ids)})"
        params.extend(sorted(guardian_ids))
    names = ("key", "day", "kind", "template", "guardian_id", "channel", "language", "text", "status", "attempts",
             "sent_at", "last_error")  # fmt: skip
    if newest is None:
        rows = conn.execute(_sql(dialect, sql + " ORDER BY day, id"), tuple(params)).fetchall()
    else:
        rows = conn.execute(_sql(dialect, sql + " ORDER BY day DESC, id DESC LIMIT ?"), (*params, newest)).fetchall()
        rows.reverse()
    return [dict(zip(names, r, strict=True)) for r in rows]
