"""SchoolDirectory: everything the notifier, the web app and the reports know about a school — config (channels,
templates), calendar, messages, students, guardians — as one read model.

Processes build it from the store (edge/central/school/state.py: SchoolState.directory, followed live by
edge/central/school/live.py). `load_school`/`load_directories` here build it from central.yaml's import files
without a store (tests and benches of the notifier's internals); they check every row the way
`edge school import` does, listing every problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.guardians import Guardian, GuardiansError, by_student, read_guardians
from edge.central.notify.messages import Messages
from edge.config.central import CentralConfig, SchoolConfig
from edge.roster import Person, RosterError, read_roster_csv


class DirectoryError(Exception):
    """The schools' rosters or guardians have problems; every one is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class SchoolDirectory:
    school: SchoolConfig
    calendar: SchoolCalendar
    messages: Messages
    students: dict[str, Person]
    guardians: dict[str, list[Guardian]]
    """Guardians by person_id."""
    default_kinds: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.school.id


def load_school(school: SchoolConfig, default_kinds: tuple[str, ...]) -> SchoolDirectory:
    problems: list[str] = []
    students: dict[str, Person] = {}
    guardians: list[Guardian] = []
    if school.roster is not None:
        try:
            students = {p.person_id: p for p in read_roster_csv(school.roster)}
        except RosterError as exc:
            problems.extend(f"school {school.id}: roster: {p}" for p in exc.problems)
    if school.guardians is not None:
        if school.roster is None:
            problems.append(f"school {school.id}: guardians need the roster (schools[].roster) to name the students")
        else:
            try:
                guardians = read_guardians(
                    school.guardians,
                    channels={c.name: c.type for c in school.channels},
                    people=set(students) if not problems else None,
                    default_kinds=default_kinds,
                )
            except GuardiansError as exc:
                problems.extend(f"school {school.id}: {school.guardians}: {p}" for p in exc.problems)
    if problems:
        raise DirectoryError(problems)
    return SchoolDirectory(
        school, SchoolCalendar.of(school), Messages(school), students, by_student(guardians), default_kinds
    )


def load_directories(cfg: CentralConfig) -> dict[str, SchoolDirectory]:
    """Every school's directory, by school id; DirectoryError lists the problems of all schools."""
    out: dict[str, SchoolDirectory] = {}
    problems: list[str] = []
    for school in cfg.schools:
        try:
            out[school.id] = load_school(school, tuple(cfg.notify.kinds))
        except DirectoryError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DirectoryError(problems)
    return out
