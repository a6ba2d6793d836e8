"""One retention policy (central.yaml `retention`), enforced by one daily job (`edge privacy retention`, from a
systemd timer or cron): check-ins, notices, the audit log and the parents' app's spent codes and ended sessions
past their periods are deleted, and every student who left has what identifies them at the gate and reaches
their family erased — face templates (at the centre, then republished to the gateways), the card binding, the
guardians' contacts, push subscriptions and app sessions — while their attendance is kept for the register or
unlinked from the child (`leavers: anonymise`). Each run and each erased leaver is an audit row.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from edge.central.school.edits import bump_version
from edge.central.store.retention import cutoff_for
from edge.central.web import audit
from edge.central.web.db import WebDb
from edge.central.web.enrolment import EnrolmentError, EnrolmentLink
from edge.config.central import RetentionConfig

DAY = 86400.0
CODES_KEEP_S = DAY
"""Spent and expired sign-in codes are kept a day (the hourly rate limit reads the last hour)."""


@dataclass
class RetentionRun:
    checkins: int = 0
    notices: int = 0
    audit: int = 0
    codes: int = 0
    sessions: int = 0
    leavers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkins": self.checkins,
            "notices": self.notices,
            "audit": self.audit,
            "codes": self.codes,
            "sessions": self.sessions,
            "leavers": self.leavers,
            "errors": self.errors,
        }


def anonymous_id(site_id: str, person_id: str) -> str:
    """What an anonymised leaver's attendance is filed under: stable (the school's counts still add up) and not
    the child's id (sha256 of site and id, 12 hex digits)."""
    return "anon-" + hashlib.sha256(f"{site_id}\0{person_id}".encode()).hexdigest()[:12]


def leavers(db: WebDb, site_id: str, today: date, policy: RetentionConfig) -> list[str]:
    """Students whose enrolment ended before `today` and who still have a card binding or guardians (or, with
    `anonymise`, attendance under their id)."""
    rows = db.query(
        "SELECT s.person_id FROM students s WHERE s.site_id = ? AND s.enrolled_until IS NOT NULL"
        " AND s.enrolled_until < ? AND (s.card_uid IS NOT NULL"
        " OR EXISTS (SELECT 1 FROM guardians g WHERE g.site_id = s.site_id AND g.person_id = s.person_id)"
        + (
            " OR EXISTS (SELECT 1 FROM checkins c WHERE c.site_id = s.site_id AND c.person_id = s.person_id)"
            if policy.leavers == "anonymise"
            else ""
        )
        + ") ORDER BY s.person_id",
        (site_id, today.isoformat()),
    )
    return [str(r["person_id"]) for r in rows]


def erase_leaver(
    db: WebDb,
    link: EnrolmentLink | None,
    site_id: str,
    person_id: str,
    policy: RetentionConfig,
    by: str,
    ip: str | None = None,
) -> dict[str, Any]:
    """Erase what identifies a leaver at the gate and reaches their family, in one transaction (the school's
    version bumped: the distributor republishes the roster without the card), then their face templates."""
    with db.transaction() as tx:
        gids = [r["guardian_id"] for r in tx.query(
            "SELECT guardian_id FROM guardians WHERE site_id = ? AND person_id = ?", (site_id, person_id))]  # fmt: skip
        card = tx.execute(
            "UPDATE students SET card_uid = NULL WHERE site_id = ? AND person_id = ? AND card_uid IS NOT NULL",
            (site_id, person_id),
        )
        tx.execute("DELETE FROM guardians WHERE site_id = ? AND person_id = ?", (site_id, person_id))
        subs = 0
        for gid in gids:  # a guardian with another child at the school keeps their devices
            left = tx.query("SELECT 1 FROM guardians WHERE site_id = ? AND guardian_id = ?", (site_id, gid))
            if not left:
                subs += tx.execute(
                    "DELETE FROM push_subscriptions WHERE site_id = ? AND guardian_id = ?", (site_id, gid)
                )
                tx.execute(
                    "UPDATE parent_sessions SET ended_at = ?, ended_by = 'leaver' WHERE site_id = ? AND guardian_id = ?"
                    " AND ended_at IS NULL",
                    (time.time(), site_id, gid),
                )
        tx.execute(
            "UPDATE notify_jobs SET phone = NULL, email = NULL WHERE site_id = ? AND person_id = ?",
            (site_id, person_id),
        )
        moved = 0
        if policy.leavers == "anonymise":
            anon = anonymous_id(site_id, person_id)
            moved = tx.execute(
                "UPDATE checkins SET person_id = ?, card_uid = NULL WHERE site_id = ? AND person_id = ?",
                (anon, site_id, person_id),
            )
            tx.execute(
                "UPDATE excuses SET person_id = ? WHERE site_id = ? AND person_id = ?", (anon, site_id, person_id)
            )
            tx.execute(
                "UPDATE notify_jobs SET person_id = ?, text = '', subject = '', fields = NULL"
                " WHERE site_id = ? AND person_id = ?",
                (anon, site_id, person_id),
            )
            tx.execute("UPDATE students SET name = ? WHERE site_id = ? AND person_id = ?", (anon, site_id, person_id))
        bump_version(tx, site_id)
        detail: dict[str, Any] = {
            "person_id": person_id if policy.leavers == "keep" else anonymous_id(site_id, person_id),
            "card_unbound": bool(card),
            "guardians": len(gids),
            "push_subscriptions": subs,
            "attendance": policy.leavers,
            "checkins_anonymised": moved,
        }
    templates = None
    if link is not None:
        try:
            out = link.remove(site_id, person_id)
            templates = None if out is None else out.version
            detail["gallery_version"] = templates
        except EnrolmentError as exc:
            detail["gallery_error"] = str(exc)
    audit.record(db, by, "leaver_erased", detail, ip, site_id)
    return detail


def enforce(
    db: WebDb,
    policy: RetentionConfig,
    site_ids: list[str],
    today: date,
    *,
    links: dict[str, EnrolmentLink] | None = None,
    now: datetime | None = None,
    by: str = "retention",
) -> RetentionRun:
    """One run of the policy over the given schools (the daily job). A failing leaver is reported, the rest go on."""
    run = RetentionRun()
    t = now.timestamp() if now is not None else time.time()
    cutoff = cutoff_for(policy.checkins_days, now)
    with db.transaction() as tx:
        run.checkins = tx.execute("DELETE FROM checkins WHERE occurred_at < ?", (cutoff,))
        old = t - policy.notices_days * DAY
        tx.execute(
            "DELETE FROM notify_attempts WHERE job_id IN (SELECT id FROM notify_jobs WHERE created_at < ?"
            " AND status IN ('sent', 'dead'))",
            (old,),
        )
        tx.execute("DELETE FROM push_deliveries WHERE accepted_at < ?", (old,))
        run.notices = tx.execute("DELETE FROM notify_jobs WHERE created_at < ? AND status IN ('sent', 'dead')", (old,))
        run.audit = tx.execute("DELETE FROM web_audit WHERE at < ?", (t - policy.audit_days * DAY,))
        run.codes = tx.execute("DELETE FROM parent_codes WHERE created_at < ?", (t - CODES_KEEP_S,))
        run.sessions = tx.execute(
            "DELETE FROM parent_sessions WHERE expires_at < ? OR (ended_at IS NOT NULL AND ended_at < ?)",
            (t, t - 30 * DAY),
        )
    for site in site_ids:
        for pid in leavers(db, site, today, policy):
            try:
                erase_leaver(db, (links or {}).get(site), site, pid, policy, by)
                run.leavers.append(f"{site}/{pid}")
            except Exception as exc:  # one student's failure must not stop the others' erasure
                run.errors.append(f"{site}/{pid}: {type(exc).__name__}: {exc}")
    audit.record(db, by, "retention_run", run.as_dict(), None, None)
    return run


def vacuum_logs(days: int, journalctl: str = "journalctl") -> str:
    """The service logs' part of the policy: journald's archived files older than `days` are removed
    (`journalctl --vacuum-time`). Returns what happened, in words (a machine without journald, or a user that may
    not, is said, not an error: the database part of the run is what must not fail)."""
    import shutil
    import subprocess

    exe = shutil.which(journalctl)
    if exe is None:
        return "skipped: journalctl not found"
    try:
        r = subprocess.run([exe, f"--vacuum-time={days}d"], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"skipped: {exc}"
    if r.returncode != 0:
        return f"skipped: journalctl exit {r.returncode}: {(r.stderr or r.stdout).strip()[:200]}"
    return f"journald vacuumed to {days} days"


def last_run(db: WebDb) -> dict[str, Any] | None:
    """The newest retention run (the Admin page shows it): its time and counts."""
    rows = audit.recent(db, limit=1, action="retention_run")
    return rows[0] if rows else None
