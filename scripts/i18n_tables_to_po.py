"""One-time migration (#23 item 1): write the gettext catalogs edge/central/locale/{vi,en}/LC_MESSAGES/messages.po
from the positional (vi, en) tables the app had before them, read from git at commit 73cedb7 (the tables were then
deleted: the .po files are the only source of the interface text since).

    python scripts/i18n_tables_to_po.py            # rewrites both .po files (run once; kept to show how they were made)

Message ids are the tables' keys ("nav.today"); the download words of edge/central/attendance/labels.py get keys
"download.<table>.<key>". Messages that show a count become plural entries (English: one/other; Vietnamese has a
single form)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent
REV = "73cedb7"
LOCALE = ROOT / "edge" / "central" / "locale"

PLURAL_EN: dict[str, tuple[str, str]] = {
    # key: (English singular, plural); the Vietnamese text has one form for every count
    "face.yes": ("Yes ({n} template, {model})", "Yes ({n} templates, {model})"),
    "gates.reason.gateway_backlog": (
        "gateway {gateway} has {count} check-in stuck in its outbox",
        "gateway {gateway} has {count} check-ins stuck in its outbox",
    ),
    "holds.banner": (
        "{n} batch of absence notices held because the gates were not healthy.",
        "{n} batches of absence notices held because the gates were not healthy.",
    ),
    "holds.students": ("{n} student, {notices} notice(s)", "{n} students, {notices} notice(s)"),
    "office.excel_warnings": (
        "{n} cell Excel may have changed: check it before applying",
        "{n} cells Excel may have changed: check them before applying",
    ),
    "office.unknown_help": (
        "{n} tap of a card no student holds, {first} – {last}. Only the card's last 6 characters are shown.",
        "{n} taps of cards no student holds, {first} – {last}. Only the card's last 6 characters are shown.",
    ),
    "office.excuse_too_long": (
        "At most {n} day at once; split the range.",
        "At most {n} days at once; split the range.",
    ),
    "office.excuse_range_done": ("{n} excused day recorded.", "{n} excused days recorded."),
    "consent.devices": ("Parents' app: {n} signed-in device.", "Parents' app: {n} signed-in devices."),
    "consent.devices_ended": ("{n} device signed out.", "{n} devices signed out."),
    "privacy.checkins": ("Check-ins: {n} day", "Check-ins: {n} days"),
    "privacy.notices": ("Notices to parents: {n} day", "Notices to parents: {n} days"),
    "privacy.audit": ("Audit log: {n} day", "Audit log: {n} days"),
    "privacy.logs": ("Service logs: {n} day", "Service logs: {n} days"),
}

UNUSED = {"common.yes", "reports.month", "roster.warnings", "student.title", "today.offline"}
"""Entries no code or template used any more (tests/test_web_catalogs.py fails on an unused entry)."""


def _old_module(name: str, path: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{REV}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True)
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source.stdout, path, "exec"), module.__dict__)
    return module


def old_tables() -> dict[str, tuple[str, str]]:
    """Every (vi, en) pair of the old tables, by key."""
    _old_module("edge.central.web.i18n_parents", "edge/central/web/i18n_parents.py")
    i18n = _old_module("edge.central.web.i18n", "edge/central/web/i18n.py")
    data = _old_module("edge.central.web.routes.data_text", "edge/central/web/routes/data_text.py")
    data.register_text()
    labels = _old_module("edge.central.attendance.labels", "edge/central/attendance/labels.py")
    text: dict[str, tuple[str, str]] = dict(i18n.TEXT)
    for table in ("FIELDS", "STATUSES", "METHODS", "SHEETS", "REASONS"):
        for key, pair in getattr(labels, table).items():
            text[f"download.{table.lower()}.{key}"] = pair
    text["download.yes"], text["download.no"] = labels.YES_NO
    # an empty text is "untranslated" to gettext (the key would show): the one such entry, the blank mark of a day
    # without school in the reports grid, is blank in the template instead
    return {key: pair for key, pair in text.items() if pair != ("", "") and key not in UNUSED}


def main() -> None:
    text = old_tables()
    for i, lang in enumerate(("vi", "en")):
        catalog = Catalog(locale=lang, project="edge attendance", domain="messages", fuzzy=False)
        for key in sorted(text):
            if key in PLURAL_EN:
                one, other = PLURAL_EN[key]
                strings = (text[key][0],) if lang == "vi" else (one, other)
                catalog.add((key, key), strings)
            else:
                catalog.add(key, text[key][i])
        out = LOCALE / lang / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as f:
            write_po(f, catalog, width=120, omit_header=False, sort_output=True)
        print(f"{out.relative_to(ROOT)}: {len(text)} messages")


if __name__ == "__main__":
    main()
