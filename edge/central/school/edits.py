"""Every write to a school's state, each inside the caller's transaction (`with db.transaction() as tx:`), each
ending with `bump_version` in that same transaction: a process that sees the new version (watch.py) sees the whole
edit, and an edit that fails leaves neither rows nor a version behind.

The web roster import, `edge school import`, provisioning (gateways) and the Admin page all write through here,
so "the office changed something" has one meaning: the school's version went up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from edge.central.guardians import Guardian
from edge.central.web.db import WebTx as Tx
from edge.config.central import CalendarConfig, GateName
from edge.roster import Person

CHANNEL = "edge_school_state"
"""PostgreSQL NOTIFY channel; the payload is the site_id (watch.py LISTENs on it)."""


class Reader(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


def bump_version(tx: Tx, site_id: str) -> int:
    """The school's version + 1 (the first edit makes it 1), and on PostgreSQL a NOTIFY delivered at commit."""
    tx.execute(
        "INSERT INTO school_versions (site_id, version) VALUES (?, 1) "
        "ON CONFLICT (site_id) DO UPDATE SET version = school_versions.version + 1",
        (site_id,),
    )
    if tx.engine == "postgresql":
        tx.query("SELECT pg_notify(?, ?)", (CHANNEL, site_id))
    return int(tx.query("SELECT version FROM school_versions WHERE site_id = ?", (site_id,))[0]["version"])


# the school and its calendar ---------------------------------------------------------------------------------------


def upsert_school(
    tx: Tx,
    site_id: str,
    *,
    name: str,
    timezone: str,
    edfi_school_id: int | None = None,
) -> None:
    """Create the school (with the default calendar) or rename / move its zone."""
    tx.execute(
        "INSERT INTO schools (site_id, name, timezone, edfi_school_id, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (site_id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone, "
        "edfi_school_id = coalesce(excluded.edfi_school_id, schools.edfi_school_id), updated_at = excluded.updated_at",
        (site_id, name, timezone, edfi_school_id, time.time()),
    )
    bump_version(tx, site_id)


def set_calendar(tx: Tx, site_id: str, calendar: CalendarConfig) -> None:
    """Replace the whole calendar: weekdays, default times, go-live, per-grade/class times, terms, holidays and
    make-up days. `calendar` is validated (CalendarConfig) before it gets here."""
    n = tx.execute(
        "UPDATE schools SET weekdays = ?, cutoff = ?, dismissal = ?, go_live = ?, updated_at = ? WHERE site_id = ?",
        (
            json.dumps(list(calendar.weekdays)),
            calendar.cutoff,
            calendar.dismissal,
            None if calendar.go_live is None else calendar.go_live.isoformat(),
            time.time(),
            site_id,
        ),
    )
    if n == 0:
        raise KeyError(f"school {site_id!r} is not in the store (upsert_school first)")
    for table in ("school_times", "school_terms", "school_days_off"):
        tx.execute(f"DELETE FROM {table} WHERE site_id = ?", (site_id,))  # the table names are constants
    for scope, entries in (("grade", calendar.grades), ("class", calendar.classes)):
        for name, t in entries.items():
            tx.execute(
                "INSERT INTO school_times (site_id, scope, name, cutoff, dismissal) VALUES (?, ?, ?, ?, ?)",
                (site_id, scope, name, t.cutoff, t.dismissal),
            )
    for term in calendar.terms:
        tx.execute(
            'INSERT INTO school_terms (site_id, name, "start", "end") VALUES (?, ?, ?, ?)',
            (site_id, term.name, term.start.isoformat(), term.end.isoformat()),
        )
    for kind, days in (("holiday", calendar.holidays), ("makeup", calendar.makeup_days)):
        for d in days:
            tx.execute(
                'INSERT INTO school_days_off (site_id, name, "start", "end", kind) VALUES (?, ?, ?, ?, ?)',
                (site_id, d.name, d.start.isoformat(), (d.end or d.start).isoformat(), kind),
            )
    bump_version(tx, site_id)


def set_go_live(tx: Tx, site_id: str, day: date | None) -> None:
    tx.execute(
        "UPDATE schools SET go_live = ?, updated_at = ? WHERE site_id = ?",
        (None if day is None else day.isoformat(), time.time(), site_id),
    )
    bump_version(tx, site_id)


def set_class_times(tx: Tx, site_id: str, scope: str, name: str, cutoff: str | None, dismissal: str | None) -> None:
    """One grade's or class's cut-off/dismissal ('HH:MM'); both None removes the entry (the defaults apply)."""
    if scope not in ("grade", "class"):
        raise ValueError(f"scope must be 'grade' or 'class', not {scope!r}")
    tx.execute("DELETE FROM school_times WHERE site_id = ? AND scope = ? AND name = ?", (site_id, scope, name))
    if cutoff is not None or dismissal is not None:
        tx.execute(
            "INSERT INTO school_times (site_id, scope, name, cutoff, dismissal) VALUES (?, ?, ?, ?, ?)",
            (site_id, scope, name, cutoff, dismissal),
        )
    bump_version(tx, site_id)


def set_gate_names(tx: Tx, site_id: str, gates: dict[str, GateName]) -> None:
    tx.execute(
        "UPDATE schools SET gate_names = ?, updated_at = ? WHERE site_id = ?",
        (json.dumps({k: v.model_dump() for k, v in gates.items()}, ensure_ascii=False), time.time(), site_id),
    )
    bump_version(tx, site_id)


# gateways ----------------------------------------------------------------------------------------------------------


def register_gateway(tx: Tx, site_id: str, gateway_id: str, name: str | None = None) -> None:
    """Add a gateway to the school's registry (or take back its revocation): the collector accepts its check-ins
    from the next version on."""
    tx.execute(
        "INSERT INTO gateways (site_id, gateway_id, name, added_at, revoked_at) VALUES (?, ?, ?, ?, NULL) "
        "ON CONFLICT (site_id, gateway_id) DO UPDATE SET revoked_at = NULL, "
        "name = coalesce(excluded.name, gateways.name)",
        (site_id, gateway_id, name, time.time()),
    )
    bump_version(tx, site_id)


def revoke_gateway(tx: Tx, site_id: str, gateway_id: str) -> bool:
    """Mark the gateway revoked (kept for history); False if it was not active."""
    n = tx.execute(
        "UPDATE gateways SET revoked_at = ? WHERE site_id = ? AND gateway_id = ? AND revoked_at IS NULL",
        (time.time(), site_id, gateway_id),
    )
    bump_version(tx, site_id)
    return n > 0


def active_gateways(db: Reader, site_id: str) -> list[str]:
    rows = db.query(
        "SELECT gateway_id FROM gateways WHERE site_id = ? AND revoked_at IS NULL ORDER BY gateway_id", (site_id,)
    )
    return [str(r["gateway_id"]) for r in rows]


def all_active_gateways(db: Reader) -> set[tuple[str, str]]:
    """(site_id, gateway_id) of every active gateway of every school (the collector's allow-list)."""
    rows = db.query("SELECT site_id, gateway_id FROM gateways WHERE revoked_at IS NULL")
    return {(str(r["site_id"]), str(r["gateway_id"])) for r in rows}


# students and guardians -----------------------------------------------------------------------------------------


@dataclass
class RosterChange:
    """What replace_students did, for the audit log and the office's confirmation."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    """Students missing from a full roster: enrolled_until set to the day before (history stays)."""
    returned: list[str] = field(default_factory=list)
    unchanged: int = 0
    version: int = 0


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def replace_students(
    tx: Tx, site_id: str, people: Iterable[Person], *, today: date, full: bool = True, new_from: date | None = None
) -> RosterChange:
    """Write the roster: new students are enrolled from `new_from` or else `today` (the school's date of the
    import) unless the row says otherwise; a student already known is updated; with `full`, a student missing
    from `people` leaves: enrolled_until = yesterday and the card is freed (not deleted: past days keep their
    attendance).
    A student who comes back is enrolled again from `today`."""
    people = list(people)
    known = {
        str(r["person_id"]): r
        for r in tx.query(
            "SELECT person_id, name, class_name, card_uid, photos, enrolled_from, enrolled_until FROM students "
            "WHERE site_id = ?",
            (site_id,),
        )
    }
    change = RosterChange()
    yesterday = (today - timedelta(days=1)).isoformat()
    # cards may move between students in one import: free them all, then give each its own (one transaction)
    tx.execute("UPDATE students SET card_uid = NULL WHERE site_id = ?", (site_id,))
    given = {p.person_id for p in people}
    for p in people:
        old = known.get(p.person_id)
        photos = ";".join(p.photos)
        if old is None:
            tx.execute(
                "INSERT INTO students (site_id, person_id, name, class_name, card_uid, photos, enrolled_from, "
                "enrolled_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    site_id,
                    p.person_id,
                    p.name,
                    p.class_name,
                    p.card_uid,
                    photos,
                    _iso(p.enrolled_from) or (new_from or today).isoformat(),
                    _iso(p.enrolled_until),
                ),
            )
            change.added.append(p.person_id)
            continue
        enrolled_from = _iso(p.enrolled_from) or str(old["enrolled_from"])
        enrolled_until = _iso(p.enrolled_until)
        if old["enrolled_until"] is not None and str(old["enrolled_until"]) < today.isoformat():
            if p.enrolled_from is None:
                enrolled_from = today.isoformat()
            change.returned.append(p.person_id)
        elif (
            old["name"] != p.name
            or old["class_name"] != p.class_name
            or (old["card_uid"] or None) != p.card_uid
            or (old["photos"] or "") != photos
            or str(old["enrolled_from"]) != enrolled_from
            or old["enrolled_until"] != enrolled_until
        ):
            change.changed.append(p.person_id)
        else:
            change.unchanged += 1
        tx.execute(
            "UPDATE students SET name = ?, class_name = ?, card_uid = ?, photos = ?, enrolled_from = ?, "
            "enrolled_until = ? WHERE site_id = ? AND person_id = ?",
            (p.name, p.class_name, p.card_uid, photos, enrolled_from, enrolled_until, site_id, p.person_id),
        )
    if full:
        for pid, old in known.items():
            if pid in given or (old["enrolled_until"] is not None and str(old["enrolled_until"]) <= yesterday):
                continue
            until = max(yesterday, str(old["enrolled_from"]))
            if str(old["enrolled_from"]) > yesterday:
                until = yesterday  # enrolled today and removed today: never enrolled for a whole day
            tx.execute(
                "UPDATE students SET enrolled_until = ? WHERE site_id = ? AND person_id = ?", (until, site_id, pid)
            )
            change.left.append(pid)
    change.version = bump_version(tx, site_id)
    return change


def _insert_guardian(tx: Tx, site_id: str, g: Guardian) -> None:
    tx.execute(
        "INSERT INTO guardians (site_id, guardian_id, person_id, name, phone, email, channel, language, kinds) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            site_id,
            g.guardian_id,
            g.person_id,
            g.name,
            g.phone,
            g.email,
            g.channel,
            g.language,
            ";".join(sorted(g.kinds)),
        ),
    )


def upsert_guardians(tx: Tx, site_id: str, guardians: Iterable[Guardian]) -> int:
    """The guardians of each student named in `guardians` become exactly those rows (a student not named keeps
    theirs). Rows are checked by edge/central/guardians.py before they get here. Returns the rows written."""
    rows = list(guardians)
    for pid in sorted({g.person_id for g in rows}):
        tx.execute("DELETE FROM guardians WHERE site_id = ? AND person_id = ?", (site_id, pid))
    for g in rows:
        _insert_guardian(tx, site_id, g)
    bump_version(tx, site_id)
    return len(rows)


def replace_guardians(tx: Tx, site_id: str, guardians: Iterable[Guardian]) -> int:
    """All of the school's guardians become exactly `guardians`."""
    rows = list(guardians)
    tx.execute("DELETE FROM guardians WHERE site_id = ?", (site_id,))
    for g in rows:
        _insert_guardian(tx, site_id, g)
    bump_version(tx, site_id)
    return len(rows)


def set_guardian_channel(
    tx: Tx, site_id: str, guardian_id: str, channel: str, *, phone: str | None = None, email: str | None = None
) -> int:
    """A parent switches channel (e.g. from the app to e-mail); contacts given are updated too."""
    n = tx.execute(
        "UPDATE guardians SET channel = ?, phone = coalesce(?, phone), email = coalesce(?, email) "
        "WHERE site_id = ? AND guardian_id = ?",
        (channel, phone, email, site_id, guardian_id),
    )
    bump_version(tx, site_id)
    return n
