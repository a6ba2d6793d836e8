"""Who may see what: the one policy the pages, the JSON API and the live stream all ask (the README's "Who sees
what" table is this table; tests/test_web_visibility.py checks that they agree).

Why one module: a guard once read every student's history through the live stream (`/live?after=0`) while the
Student page answered 403 — the stream had its own rule ("guards see everything") and the page another. Now each
of them asks the same functions below, and a check-in reaches a viewer only through `checkin_view`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from edge.central.web.accounts import Role, User

Scope = Literal["all", "own", "none"]
"""Classes of the account's school: every one, the teacher's own (stored per account), or none."""


@dataclass(frozen=True)
class Rights:
    counts: Scope
    """Per-class counts (present / late / absent / excused / not yet): Today, API `classes`, the live counts."""
    students: Scope
    """Anything that names a student: class and student pages, Today's latest check-ins, the live feed's lines,
    API check-ins, class days and students, reports and downloads."""
    card_uid: bool
    """A 125 kHz (EM4100) card's UID is its whole credential: whoever reads it can clone the card."""
    gates: bool
    """Gateways' status, health and alarms (Gates page and API)."""
    open_gate: bool
    """Send the signed "open gate" command."""
    roster: bool
    """Upload the roster and guardians."""
    enrol: bool
    """Enrol or remove a student's face (teachers and guards see whether one is enrolled, or nothing)."""
    excuse: bool
    """Excuse an absence (of a student they may see)."""
    register: bool
    """Print a class's register (the month's sổ điểm danh, PDF) of a class they may see."""
    dead_letters: bool
    """See and replay the school's dead letters (what a refused tap held: a pupil marked absent is the office's
    business, not the guard's)."""
    holds: bool
    """See the "gates down" alarm and the held absence notices, and release or drop them."""


POLICY: dict[Role, Rights] = {
    "admin": Rights("all", "all", card_uid=True, gates=True, open_gate=True, roster=True, enrol=True, excuse=True,
                    register=True, dead_letters=True, holds=True),
    "office": Rights("all", "all", card_uid=True, gates=True, open_gate=False, roster=True, enrol=True, excuse=True,
                     register=True, dead_letters=True, holds=True),
    "teacher": Rights("own", "own", card_uid=False, gates=False, open_gate=False, roster=False, enrol=False,
                      excuse=True, register=True, dead_letters=False, holds=False),
    "guard": Rights("all", "none", card_uid=False, gates=True, open_gate=True, roster=False, enrol=False,
                    excuse=False, register=False, dead_letters=False, holds=False),
}  # fmt: skip
"""Accounts and the audit log are the admin's alone (routes/admin.py requires the role)."""


def rights(user: User) -> Rights:
    return POLICY[user.role]


def roles_with(right: str) -> tuple[Role, ...]:
    """The roles holding a yes/no right ('gates', 'open_gate', …), for routes that check a role list."""
    return tuple(role for role, r in POLICY.items() if getattr(r, right) is True)


def can_see_school(user: User, school_id: str) -> bool:
    """An account sees its own school; only an admin may have none (the district admin, every school). A
    non-admin without a school (made before Accounts.add required one) sees none rather than all."""
    if user.site_id is None:
        return user.role == "admin"
    return user.site_id == school_id


def _in_scope(scope: Scope, user: User, school_id: str, class_name: str) -> bool:
    if not can_see_school(user, school_id) or scope == "none":
        return False
    return scope == "all" or class_name in user.classes


def can_see_class(user: User, school_id: str, class_name: str) -> bool:
    """May see the students of `class_name`: their names, check-ins, days, history, notices."""
    return _in_scope(rights(user).students, user, school_id, class_name)


def can_count_class(user: User, school_id: str, class_name: str) -> bool:
    """May see `class_name`'s counts (without the names behind them)."""
    return _in_scope(rights(user).counts, user, school_id, class_name)


def sees_every_student(user: User, school_id: str) -> bool:
    """Every student of the school, and check-ins of no known student (an unknown card, a stranger's face)."""
    return can_see_school(user, school_id) and rights(user).students == "all"


def may_see_card_uid(user: User) -> bool:
    return rights(user).card_uid


COUNT_FIELDS = ("id", "event_id", "site_id", "class_name", "counts", "today")
"""What a counts-only viewer receives of a check-in: which class's counts changed, and to what."""


def checkin_view(user: User, school_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """What `user` may see of one live check-in event (edge/central/web/live.py's shape): all of it for a student
    they may see; for a class they may only count, the class's new counts today and nothing about who, when or
    where; else nothing. The live stream (new and replayed events) and the Today page use it."""
    if event.get("site_id") != school_id:
        return None
    class_name = event.get("class_name")
    if class_name is None:  # a check-in of no known student: whoever sees every student sees it
        return event if sees_every_student(user, school_id) else None
    if can_see_class(user, school_id, class_name):
        return event
    if can_count_class(user, school_id, class_name) and event.get("today"):
        return {k: event.get(k) for k in COUNT_FIELDS}
    return None
