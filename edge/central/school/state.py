"""Read a school's state from the store: the one source of truth for who is enrolled (and from/until when), their
guardians, the calendar, the go-live date, the gates' names and the registry of gateways (#20).

Every process builds what it runs on from `load_school` — the notifier, the web app and `edge report` through
`SchoolState.directory(cfg)` (the SchoolDirectory read model they already used), the collector through
`active_gateways`, the distributor through `roster` — and reloads it when the school's version changes
(edge/central/school/watch.py). CSV, XLSX and YAML are only import/export formats (edge/central/school/files.py).

central.yaml keeps what is configuration, not school state: channels (with their secrets), message templates,
the notifier's settings. `directory(cfg)` joins the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.guardians import Guardian, by_student
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.messages import Messages
from edge.config.central import (
    CalendarConfig,
    CentralConfig,
    GateName,
    Holiday,
    MakeupDay,
    SchoolConfig,
    Term,
    Times,
)
from edge.roster import Person


class Reader(Protocol):
    """WebDb or an open WebTx: `query(sql, params)` with `?` placeholders → rows as dicts."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class GatewayEntry:
    gateway_id: str
    name: str | None
    added_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class SchoolState:
    """Everything the store holds about one school, as of `version`."""

    site_id: str
    name: str
    timezone: str
    calendar: CalendarConfig
    """Weekdays, terms, holidays, make-up days, go-live, cut-off/dismissal per grade and class."""
    gate_names: dict[str, GateName]
    students: tuple[Person, ...]
    """Every student ever enrolled (history stays): see Person.enrolled_on."""
    guardians: tuple[Guardian, ...]
    gateways: tuple[GatewayEntry, ...]
    version: int
    edfi_school_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def go_live(self) -> date | None:
        return self.calendar.go_live

    def enrolled(self, day: date) -> list[Person]:
        """The roster of `day`: the students enrolled on it."""
        return [p for p in self.students if p.enrolled_on(day)]

    def classes(self) -> list[str]:
        return sorted({p.class_name for p in self.students if p.class_name})

    def active_gateways(self) -> list[str]:
        return sorted(g.gateway_id for g in self.gateways if g.revoked_at is None)

    def school_config(self, cfg: CentralConfig | None) -> SchoolConfig:
        """central.yaml's entry for the school (channels, templates) with the store's name, zone, calendar and
        gate names; a school central.yaml does not list gets no channels."""
        base = None
        if cfg is not None:
            base = next((s for s in cfg.schools if s.id == self.site_id), None)
        if base is None:
            base = SchoolConfig(id=self.site_id, name=self.name)
        return base.model_copy(
            update={
                "name": self.name,
                "timezone": self.timezone,
                "calendar": self.calendar,
                "gates": dict(self.gate_names),
                "roster": None,
                "guardians": None,
            }
        )

    def directory(self, cfg: CentralConfig | None) -> SchoolDirectory:
        """The read model the notifier, the web app and the reports use (edge/central/notify/directory.py)."""
        school = self.school_config(cfg)
        kinds = tuple(cfg.notify.kinds) if cfg is not None else ("arrived", "absent")
        return SchoolDirectory(
            school,
            SchoolCalendar(self.calendar, self.timezone),
            Messages(school),
            {p.person_id: p for p in self.students},
            by_student(list(self.guardians)),
            kinds,
        )


def _day(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(str(text))


def school_ids(db: Reader) -> list[str]:
    return [str(r["site_id"]) for r in db.query("SELECT site_id FROM schools ORDER BY site_id")]


def version_of(db: Reader, site_id: str) -> int:
    rows = db.query("SELECT version FROM school_versions WHERE site_id = ?", (site_id,))
    return int(rows[0]["version"]) if rows else 0


def load_calendar(db: Reader, site_id: str, row: dict[str, Any]) -> CalendarConfig:
    grades: dict[str, Times] = {}
    classes: dict[str, Times] = {}
    for t in db.query(
        "SELECT scope, name, cutoff, dismissal FROM school_times WHERE site_id = ? ORDER BY scope, name", (site_id,)
    ):
        (grades if t["scope"] == "grade" else classes)[str(t["name"])] = Times(
            cutoff=t["cutoff"], dismissal=t["dismissal"]
        )
    terms = [
        Term(name=r["name"], start=r["start"], end=r["end"])
        for r in db.query(
            'SELECT name, "start", "end" FROM school_terms WHERE site_id = ? ORDER BY "start"', (site_id,)
        )
    ]
    holidays: list[Holiday] = []
    makeups: list[MakeupDay] = []
    for r in db.query(
        'SELECT name, "start", "end", kind FROM school_days_off WHERE site_id = ? ORDER BY "start"', (site_id,)
    ):
        if r["kind"] == "makeup":
            makeups.append(MakeupDay(name=r["name"], start=r["start"], end=r["end"]))
        else:
            holidays.append(Holiday(name=r["name"], start=r["start"], end=r["end"]))
    # model_construct: every part was validated above or on its way in (edits.py); a school may have no term yet
    return CalendarConfig.model_construct(
        weekdays=json.loads(row["weekdays"]),
        terms=terms,
        holidays=holidays,
        makeup_days=makeups,
        go_live=_day(row["go_live"]),
        cutoff=row["cutoff"],
        dismissal=row["dismissal"],
        grades=grades,
        classes=classes,
    )


def load_students(db: Reader, site_id: str) -> tuple[Person, ...]:
    rows = db.query(
        "SELECT person_id, name, class_name, card_uid, photos, enrolled_from, enrolled_until FROM students "
        "WHERE site_id = ? ORDER BY class_name, name, person_id",
        (site_id,),
    )
    return tuple(
        Person(
            str(r["person_id"]),
            str(r["name"]),
            str(r["class_name"]),
            r["card_uid"] or None,
            tuple(x for x in str(r["photos"] or "").split(";") if x),
            _day(r["enrolled_from"]),
            _day(r["enrolled_until"]),
        )
        for r in rows
    )


def load_guardians(db: Reader, site_id: str) -> tuple[Guardian, ...]:
    rows = db.query(
        "SELECT guardian_id, person_id, name, phone, email, channel, language, kinds FROM guardians "
        "WHERE site_id = ? ORDER BY person_id, guardian_id",
        (site_id,),
    )
    return tuple(
        Guardian(
            str(r["guardian_id"]),
            str(r["person_id"]),
            str(r["name"]),
            r["phone"] or None,
            r["email"] or None,
            str(r["channel"]),
            str(r["language"]),
            frozenset(k for k in str(r["kinds"]).split(";") if k),
        )
        for r in rows
    )


def load_gateways(db: Reader, site_id: str) -> tuple[GatewayEntry, ...]:
    rows = db.query(
        "SELECT gateway_id, name, added_at, revoked_at FROM gateways WHERE site_id = ? ORDER BY gateway_id",
        (site_id,),
    )
    return tuple(
        GatewayEntry(
            str(r["gateway_id"]),
            r["name"],
            float(r["added_at"]),
            None if r["revoked_at"] is None else float(r["revoked_at"]),
        )
        for r in rows
    )


def load_school(db: Reader, site_id: str) -> SchoolState | None:
    """The school's whole state, or None when the store has no `schools` row for it. Pass an open transaction
    (WebTx) for a consistent snapshot on PostgreSQL; SQLite in WAL reads a snapshot per statement."""
    rows = db.query(
        "SELECT site_id, name, timezone, go_live, edfi_school_id, weekdays, cutoff, dismissal, gate_names "
        "FROM schools WHERE site_id = ?",
        (site_id,),
    )
    if not rows:
        return None
    row = rows[0]
    names = {k: GateName(**v) for k, v in json.loads(row["gate_names"] or "{}").items()}
    return SchoolState(
        site_id=site_id,
        name=str(row["name"]),
        timezone=str(row["timezone"]),
        calendar=load_calendar(db, site_id, row),
        gate_names=names,
        students=load_students(db, site_id),
        guardians=load_guardians(db, site_id),
        gateways=load_gateways(db, site_id),
        version=version_of(db, site_id),
        edfi_school_id=None if row["edfi_school_id"] is None else int(row["edfi_school_id"]),
    )


def school_problem(db: Reader, site_id: str) -> str | None:
    """None when the store holds the school (its row and at least one student); else what is missing, in words
    an IT person can act on."""
    try:
        rows = db.query("SELECT name FROM schools WHERE site_id = ?", (site_id,))
    except Exception as exc:  # no table: a store not migrated
        return f"the store has no school tables ({type(exc).__name__}): run `edge db migrate` then `edge school import`"
    if not rows:
        return f"the store does not hold school {site_id!r}: import it with `edge school import central.yaml`"
    n = db.query("SELECT count(*) AS n FROM students WHERE site_id = ?", (site_id,))
    if not n or int(n[0]["n"]) == 0:
        return (
            f"school {site_id!r} has no students in the store: "
            "import the roster (web app Roster, or `edge school import`)"
        )
    return None


def check_account_scope(db: Reader, site_id: str | None, classes: Sequence[str]) -> list[str]:
    """Problems with an account's school and classes, checked against the store: the site must exist, and each
    class must be one of its students' classes, spelt as the roster writes it ('7b' is refused when the class is
    '7B', with the right spelling suggested). [] when all is well (or nothing is scoped)."""
    problems: list[str] = []
    if site_id is None:
        if classes:
            problems.append("classes need a school (--site)")
        return problems
    known_sites = school_ids(db)
    if site_id not in known_sites:
        problems.append(f"school {site_id!r} is not in the store; known: {', '.join(known_sites) or 'none'}")
        return problems
    names = {
        str(r["class_name"]) for r in db.query("SELECT DISTINCT class_name FROM students WHERE site_id = ?", (site_id,))
    }
    folded = {n.casefold(): n for n in names}
    for c in classes:
        if c in names:
            continue
        hint = folded.get(c.casefold())
        if hint is not None:
            problems.append(f"class {c!r} is not in school {site_id}: did you mean {hint!r}?")
        else:
            problems.append(
                f"class {c!r} is not in school {site_id}; its classes: {', '.join(sorted(names)) or 'none'}"
            )
    return problems
