"""Files in, files out: CSV and YAML are import/export formats of a school's state, not what processes run on.

`edge school import central.yaml` reads each school's entry (name, time zone, calendar, gate names) with its
roster CSV and guardians CSV, checks all of it (every problem listed, nothing written when any), and writes it
into the store in ONE transaction per school. Importing the same files again changes nothing — not even the
school's version, so no process reloads for nothing. `edge school export` writes the store's state back as a
school YAML + roster.csv + guardians.csv that `edge school import` reads (the round trip is tested).

What stays in central.yaml: channels (with their secrets from the environment), message templates and the
notifier's settings — configuration of the centre, not state the office edits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from edge.central.guardians import COLUMNS as GUARDIAN_COLUMNS
from edge.central.guardians import Guardian, GuardiansError, read_guardians
from edge.central.school import edits
from edge.central.school.state import SchoolState, load_school
from edge.central.web.db import WebDb, WebTx
from edge.config.central import CentralConfig, SchoolConfig
from edge.roster import Person, RosterError, read_roster_csv

ROSTER_COLUMNS = ("person_id", "name", "class", "card_uid", "photos", "enrolled_from", "enrolled_until")


class SchoolFilesError(Exception):
    """The files have problems; every one is listed and nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class SchoolImport:
    site_id: str
    changed: bool
    version: int
    students: int = 0
    guardians: int = 0
    added: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)


class _Unchanged(Exception):
    """Raised inside the transaction to roll back an import that changed nothing (the version stays)."""


@dataclass(frozen=True)
class _Parsed:
    school: SchoolConfig
    people: list[Person] | None
    guardians: list[Guardian] | None


def _parse(school: SchoolConfig, channels: Mapping[str, str], default_kinds: tuple[str, ...]) -> _Parsed:
    problems: list[str] = []
    people: list[Person] | None = None
    guardians: list[Guardian] | None = None
    if school.calendar is None:
        problems.append(f"school {school.id}: no calendar in the file (terms, cut-off…): nothing to import")
    if school.roster is not None:
        try:
            people = read_roster_csv(school.roster)
        except RosterError as exc:
            problems.extend(f"school {school.id}: roster: {p}" for p in exc.problems)
    if school.guardians is not None:
        if people is None:
            problems.append(f"school {school.id}: guardians need the roster (schools[].roster) to name the students")
        else:
            try:
                guardians = read_guardians(
                    school.guardians,
                    channels=channels,
                    people={p.person_id for p in people},
                    default_kinds=default_kinds,
                )
            except GuardiansError as exc:
                problems.extend(f"school {school.id}: {p}" for p in exc.problems)
    if problems:
        raise SchoolFilesError(problems)
    return _Parsed(school, people, guardians)


def _snapshot(tx: WebTx, site_id: str) -> Any:
    state = load_school(tx, site_id)
    if state is None:
        return None
    return (state.name, state.timezone, state.calendar, state.gate_names, state.students, state.guardians)


def _write(tx: WebTx, parsed: _Parsed, today: date, gateways: list[str]) -> SchoolImport:
    s = parsed.school
    assert s.calendar is not None
    if tx.engine == "postgresql":  # two importers (or an importer and the web app) of one school: one at a time
        tx.query("SELECT pg_advisory_xact_lock(hashtext(?))", (f"edge-school:{s.id}",))
    before = _snapshot(tx, s.id)
    edits.upsert_school(tx, s.id, name=s.name, timezone=s.timezone)
    edits.set_calendar(tx, s.id, s.calendar)
    edits.set_gate_names(tx, s.id, dict(s.gates))
    out = SchoolImport(s.id, True, 0)
    if parsed.people is not None:
        start = s.calendar.go_live if s.calendar.go_live is not None and s.calendar.go_live <= today else today
        people = parsed.people
        change = edits.replace_students(tx, s.id, people, today=today, new_from=start)
        out.students, out.added, out.left = len(people), change.added, change.left
    if parsed.guardians is not None:
        out.guardians = edits.replace_guardians(tx, s.id, parsed.guardians)
    known = set(edits.active_gateways(tx, s.id))
    for gw in gateways:
        if gw not in known:
            edits.register_gateway(tx, s.id, gw)
            out.gateways.append(gw)
    if not out.gateways and _snapshot(tx, s.id) == before:
        raise _Unchanged
    out.version = edits.bump_version(tx, s.id)
    return out


def import_central(
    db: WebDb,
    cfg: CentralConfig,
    *,
    today: date,
    only: str | None = None,
    channels_from: CentralConfig | None = None,
    gateways: dict[str, list[str]] | None = None,
) -> list[SchoolImport]:
    """Import every school of `cfg` (or `only` that one). Guardians' channel names are checked against the
    school's channels in `cfg`, or in `channels_from` (the centre's central.yaml) when the file has none (an
    export). New students are enrolled from the go-live date when it has passed, else from `today`; a student
    missing from the roster leaves yesterday. `gateways`: site_id → gateway ids to register (from the PKI).
    Raises SchoolFilesError (nothing written) listing every problem of every school."""
    schools = [s for s in cfg.schools if only is None or s.id == only]
    if not schools:
        raise SchoolFilesError([f"school {only!r} is not in the file; it has {', '.join(s.id for s in cfg.schools)}"])
    parsed: list[_Parsed] = []
    problems: list[str] = []
    for s in schools:
        chan: dict[str, str] = {c.name: c.type for c in s.channels}
        if not chan and channels_from is not None:
            other = next((x for x in channels_from.schools if x.id == s.id), None)
            chan = {c.name: c.type for c in other.channels} if other is not None else {}
        try:
            parsed.append(_parse(s, chan, tuple(cfg.notify.kinds)))
        except SchoolFilesError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SchoolFilesError(problems)
    out: list[SchoolImport] = []
    for p in parsed:
        try:
            with db.transaction() as tx:
                out.append(_write(tx, p, today, (gateways or {}).get(p.school.id, [])))
        except _Unchanged:
            state = load_school(db, p.school.id)
            out.append(SchoolImport(p.school.id, False, state.version if state else 0))
    return out


# export -------------------------------------------------------------------------------------------------------------


def _iso(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def roster_csv(state: SchoolState) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROSTER_COLUMNS)
    for p in state.students:
        w.writerow(
            [
                p.person_id,
                p.name,
                p.class_name,
                p.card_uid or "",
                ";".join(p.photos),
                _iso(p.enrolled_from),
                _iso(p.enrolled_until),
            ]
        )
    return buf.getvalue()


def guardians_csv(state: SchoolState) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow((*GUARDIAN_COLUMNS, "guardian_id"))
    for g in state.guardians:
        kinds = ";".join(sorted(g.kinds))
        w.writerow([g.person_id, g.name, g.phone or "", g.email or "", g.channel, g.language, kinds, g.guardian_id])
    return buf.getvalue()


def school_yaml(state: SchoolState, roster: str = "roster.csv", guardians: str = "guardians.csv") -> str:
    cal = state.calendar.model_dump(mode="json", exclude_none=True)
    for key in ("grades", "classes"):
        cal[key] = {k: {tk: tv for tk, tv in v.items() if tv is not None} for k, v in cal.get(key, {}).items()}
    entry: dict[str, Any] = {
        "id": state.site_id,
        "name": state.name,
        "timezone": state.timezone,
        "roster": roster,
        "guardians": guardians,
        "calendar": cal,
        "gates": {k: v.model_dump() for k, v in state.gate_names.items()},
    }
    head = (
        f"# School {state.site_id} exported from the store (version {state.version}) by `edge school export`.\n"
        "# Re-import with `edge school import THIS_FILE --central central.yaml` (channels come from central.yaml).\n"
    )
    return head + yaml.safe_dump({"schools": [entry]}, allow_unicode=True, sort_keys=False)


def export_school(db: WebDb, site_id: str, out_dir: Path) -> list[Path]:
    """Write OUT_DIR/school.yaml, roster.csv and guardians.csv; KeyError if the store has no such school."""
    state = load_school(db, site_id)
    if state is None:
        raise KeyError(site_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "school.yaml": school_yaml(state),
        "roster.csv": roster_csv(state),
        "guardians.csv": guardians_csv(state),
    }
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
