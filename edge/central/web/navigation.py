"""The page header's links: each role sees exactly the pages it may open, from the one policy (visibility.py).

Why computed here, not in the template: the header hid Gates from the office although the page let the office
in, and gave the guard no Today link although Today counts every class for the guard. Each link below asks the
same right its route checks; tests/test_web_office.py (`test_each_role_is_shown_exactly_what_it_may_open`) opens
every link of every role (200) and checks that the pages a role may not open are not linked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from edge.central.attendance.collation import sorted_classes
from edge.central.web.accounts import User
from edge.central.web.visibility import can_see_school, rights
from edge.config.central import SchoolConfig


@dataclass(frozen=True)
class Link:
    href: str
    key: str
    """i18n key of the label."""
    fields: dict[str, str] = field(default_factory=dict)
    id: str = ""


def links(user: User | None, schools: Iterable[SchoolConfig]) -> list[Link]:
    if user is None:
        return []
    r = rights(user)
    out: list[Link] = []
    shown = [s for s in schools if can_see_school(user, s.id)]
    for s in shown:
        base = f"/s/{s.id}"
        suffix = {"school": s.name} if len(shown) > 1 else {}
        if r.counts != "none":
            out.append(Link(f"{base}/today", "nav.today_of" if suffix else "nav.today", suffix, "nav-today"))
        if r.students == "own":
            for c in sorted_classes(user.classes):
                out.append(Link(f"{base}/class/{quote(c, safe='')}", "nav.class", {"name": c}, f"nav-class-{c}"))
        if r.gates:
            out.append(Link(f"{base}/gates", "nav.gates", {}, "nav-gates"))
            out.append(Link(f"{base}/unknown-cards", "nav.unknown_cards", {}, "nav-unknown-cards"))
        if r.students != "none":
            out.append(Link(f"{base}/reports", "nav.reports", {}, "nav-reports"))
        if r.roster:
            out.append(Link(f"{base}/roster", "nav.roster", {}, "nav-roster"))
            out.append(Link(f"{base}/calendar", "nav.calendar", {}, "nav-calendar"))
        if r.holds:
            out.append(Link(f"{base}/holds", "nav.holds", {}, "nav-holds"))
    if r.roster:
        out.append(Link("/api/docs", "nav.api", {}, "nav-api"))
    if user.role == "admin":
        out.append(Link("/admin/users", "admin.users", {}, "nav-admin"))
    return out
