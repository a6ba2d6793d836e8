"""Guardians: who is told about a student, how and in which language. Imported from a `guardians.csv` next to the
roster, keyed by person_id:

    person_id,name,phone,email,channel,language,kinds[,guardian_id]
    minh_anh,Nguyễn Văn Bình,0912 345 678,,sms,vi,arrived;absent

Every row is checked when the file is loaded — never at 07:12 — and every problem is listed with its line
number: unknown student, unknown channel name, a channel without the contact it needs (email needs an address,
SMS a phone), phone numbers that are not valid (normalised to E.164; numbers without a country code are
Vietnamese: `0912 345 678` → `+84912345678`), unknown languages or kinds, duplicate guardian ids, a control
character in any field (edge/control_chars.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from edge.control_chars import field_problem

COLUMNS = ("person_id", "name", "phone", "email", "channel", "language", "kinds")
OPTIONAL_COLUMNS = ("guardian_id",)
REQUIRED_COLUMNS = ("person_id", "name", "channel")
LANGUAGES = ("vi", "en")
KINDS = ("arrived", "left", "absent")
DEFAULT_REGION = "VN"
MAX_FIELD = 1000
"""No guardian field is longer; a longer one is a broken file (a quote never closed), reported, not loaded."""

_EMAIL = re.compile(
    r"^[^@\s<>,;\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NEEDS = {"email": "email", "sms_http": "phone", "zalo_zns": "phone"}
"""Which contact a channel type sends to; webhook, MQTT and Web Push (the devices the guardian subscribed in the
parents' app) address the guardian by id."""
_SENDS = {"sms_http": "SMS", "zalo_zns": "Zalo messages", "email": "email"}


@dataclass(frozen=True)
class Guardian:
    guardian_id: str
    person_id: str
    name: str
    phone: str | None
    """E.164, e.g. '+84912345678'."""
    email: str | None
    channel: str
    language: str
    kinds: frozenset[str]


class GuardiansError(Exception):
    """guardians.csv has problems; every one is listed with its line number."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + f"\n{source}: ".join(problems))


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a phone number; numbers without '+' are taken as `region`'s. ValueError if not valid."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_guardians(
    text: str,
    *,
    channels: Mapping[str, str],
    people: Collection[str] | None = None,
    default_kinds: Collection[str] = ("arrived", "absent"),
    source: str = "guardians.csv",
) -> list[Guardian]:
    """Parse guardians.csv text. `channels` maps the school's channel names to their types; `people` is the
    roster's person ids (None: not checked). Raises GuardiansError listing every bad line."""
    problems: list[str] = []
    out: list[Guardian] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header_row = next(reader, None)
    except csv.Error as exc:
        raise GuardiansError(source, [f"line 1: not a CSV header ({exc})"]) from None
    if header_row is None:
        raise GuardiansError(source, ["line 1: the file is empty (header person_id,name,phone,… expected)"])
    header = [h.strip() for h in header_row]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in (*COLUMNS, *OPTIONAL_COLUMNS)]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or dupes:
        msg = "line 1: header must be " + ",".join(COLUMNS) + "[,guardian_id]"
        msg += f"; missing {missing}" if missing else ""
        msg += f"; unknown {[u[:40] for u in unknown[:5]]}" if unknown else ""
        msg += f"; repeated {dupes[:5]}" if dupes else ""
        raise GuardiansError(source, [msg])
    seen: dict[str, int] = {}
    per_person: dict[str, int] = {}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: not valid CSV ({exc})")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} fields, the header has {len(header)}")
            continue
        controls = [m for h, cell in zip(header, row, strict=True) if (m := field_problem(h, cell))]
        if controls:  # they would reach a notice's headers and text: refused before any other rule
            problems.extend(f"line {line}: {m}" for m in controls)
            continue
        fields = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        g, errs = _row(fields, channels, people, default_kinds, per_person)
        if g is not None and g.guardian_id in seen:
            errs.append(f"guardian_id {g.guardian_id!r} already on line {seen[g.guardian_id]}")
        if errs:
            problems.extend(f"line {line}: {e}" for e in errs)
        elif g is not None:
            seen[g.guardian_id] = line
            out.append(g)
    if problems:
        raise GuardiansError(source, problems)
    return out


def _row(
    f: dict[str, str],
    channels: Mapping[str, str],
    people: Collection[str] | None,
    default_kinds: Collection[str],
    per_person: dict[str, int],
) -> tuple[Guardian | None, list[str]]:
    errs: list[str] = []
    too_long = [k for k, v in f.items() if len(v) > MAX_FIELD]
    if too_long:
        return None, [f"{k} longer than {MAX_FIELD} characters" for k in too_long]
    pid = f.get("person_id", "")
    if not pid:
        errs.append("person_id is empty")
    elif people is not None and pid not in people:
        errs.append(f"person_id {pid!r} is not in the roster")
    name = f.get("name", "")
    if not name:
        errs.append("name is empty")
    phone: str | None = None
    if f.get("phone"):
        try:
            phone = normalise_phone(f["phone"])
        except ValueError as exc:
            errs.append(str(exc))
    email = f.get("email") or None
    if email is not None and not _EMAIL.match(email):
        errs.append(f"email {email!r} is not an address")
    channel = f.get("channel", "")
    if channel not in channels:
        errs.append(f"channel {channel!r} is not one of this school's channels {sorted(channels)}")
    else:
        need = _NEEDS.get(channels[channel])
        if need == "phone" and phone is None and not f.get("phone"):
            errs.append(f"channel {channel!r} sends {_SENDS[channels[channel]]}: phone is required")
        if need == "email" and email is None:
            errs.append(f"channel {channel!r} sends email: email is required")
    language = f.get("language") or "vi"
    if language not in LANGUAGES:
        errs.append(f"language {language!r} is not one of {list(LANGUAGES)}")
    kinds_text = f.get("kinds", "")
    kinds = {k.strip() for k in kinds_text.split(";") if k.strip()} if kinds_text else set(default_kinds)
    bad = sorted(kinds - set(KINDS))
    if bad:
        errs.append(f"kinds {bad} unknown; use {';'.join(KINDS)}")
    gid = f.get("guardian_id", "")
    if not gid and pid:
        per_person[pid] = per_person.get(pid, 0) + 1
        gid = f"{pid}-g{per_person[pid]}"
    if gid and not _ID.match(gid):
        errs.append(f"guardian_id {gid[:80]!r} must be letters, digits, '_', '.', '-' (up to 64)")
    if errs:
        return None, errs
    return Guardian(gid, pid, name, phone, email, channel, language, frozenset(kinds)), []


def read_guardians(
    path: str | Path,
    *,
    channels: Mapping[str, str],
    people: Collection[str] | None = None,
    default_kinds: Collection[str] = ("arrived", "absent"),
) -> list[Guardian]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise GuardiansError(str(p), [f"cannot read the file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        raise GuardiansError(str(p), [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    return parse_guardians(text, channels=channels, people=people, default_kinds=default_kinds, source=str(p))


def by_student(guardians: list[Guardian]) -> dict[str, list[Guardian]]:
    out: dict[str, list[Guardian]] = {}
    for g in guardians:
        out.setdefault(g.person_id, []).append(g)
    return out
