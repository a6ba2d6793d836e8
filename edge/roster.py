"""The roster: who may pass. A CSV `person_id,name,class[,card_uid][,photos][,enrolled_from][,enrolled_until]`
loaded into SQLite (the gateway) or imported into the centre's store (`edge school import`), which keeps the
enrolment dates (YYYY-MM-DD; empty: from the import day / still enrolled)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from edge.sqlite import open_db

REQUIRED_COLUMNS = ("person_id", "name", "class")
OPTIONAL_COLUMNS = ("card_uid", "photos", "enrolled_from", "enrolled_until")
_UID = re.compile(r"^(?:[0-9A-F]{2}){4,10}$")


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    class_name: str
    card_uid: str | None
    photos: tuple[str, ...] = ()
    """Enrolment photos (optional `photos` column: paths relative to the CSV, separated by ';')."""
    enrolled_from: date | None = None
    """First day the student belongs to the school (the centre's store); None: always has."""
    enrolled_until: date | None = None
    """Last day (included) the student belongs to the school; None: still enrolled."""

    def enrolled_on(self, day: date) -> bool:
        """Whether `day` is inside the enrolment: outside it the student cannot be absent (nor counted)."""
        if self.enrolled_from is not None and day < self.enrolled_from:
            return False
        return self.enrolled_until is None or day <= self.enrolled_until


class RosterError(Exception):
    """The roster CSV has problems; every one is listed with its line number."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: " + f"\n{path}: ".join(problems))


def normalise_card_uid(raw: str) -> str:
    """Canonical card UID, upper-case hex of 4 to 10 bytes: an RDM6300/EM4100 frame's 10 digits ('0F00A1B2C3'),
    a MIFARE/NTAG UID read by a PN532 (8, 14 or 20 digits)."""
    uid = raw.strip().upper().removeprefix("0X")
    if not _UID.match(uid):
        raise ValueError(f"card_uid {raw!r} is not 4 to 10 bytes of hexadecimal (EM4100: 10 digits, MIFARE: 8 or 14)")
    return uid


def read_roster_csv(path: str | Path) -> list[Person]:
    """Parse and check a roster CSV; raises RosterError listing every bad line."""
    p = Path(path)
    problems: list[str] = []
    people: list[Person] = []
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            unknown = [c for c in header if c not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
            if missing or unknown:
                msg = "line 1: header must be person_id,name,class[,card_uid][,photos][,enrolled_from][,enrolled_until]"
                msg += f"; missing {missing}" if missing else ""
                msg += f"; unknown {unknown}" if unknown else ""
                raise RosterError(str(p), [msg])
            reader.fieldnames = header
            seen_ids: dict[str, int] = {}
            seen_cards: dict[str, int] = {}
            for row in reader:
                line = reader.line_num
                if None in row:
                    problems.append(f"line {line}: more fields than the header has")
                    continue
                pid = (row.get("person_id") or "").strip()
                name = (row.get("name") or "").strip()
                cls = (row.get("class") or "").strip()
                raw_uid = (row.get("card_uid") or "").strip()
                if not pid or not name:
                    problems.append(f"line {line}: person_id and name are required")
                    continue
                uid: str | None = None
                if raw_uid:
                    try:
                        uid = normalise_card_uid(raw_uid)
                    except ValueError as exc:
                        problems.append(f"line {line}: {exc}")
                        continue
                if pid in seen_ids:
                    problems.append(f"line {line}: duplicate person_id {pid!r} (first on line {seen_ids[pid]})")
                    continue
                if uid and uid in seen_cards:
                    problems.append(f"line {line}: duplicate card_uid {uid} (first on line {seen_cards[uid]})")
                    continue
                seen_ids[pid] = line
                if uid:
                    seen_cards[uid] = line
                photos = tuple(x.strip() for x in (row.get("photos") or "").split(";") if x.strip())
                try:
                    window = _enrolment(row.get("enrolled_from"), row.get("enrolled_until"))
                except ValueError as exc:
                    problems.append(f"line {line}: {exc}")
                    continue
                people.append(Person(pid, name, cls, uid, photos, *window))
    except OSError as exc:
        raise RosterError(str(p), [f"cannot read the file: {exc.strerror}"]) from exc
    except csv.Error as exc:
        raise RosterError(str(p), [f"not a valid CSV: {exc}"]) from exc
    if problems:
        raise RosterError(str(p), problems)
    return people


def _enrolment(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    out: list[date | None] = []
    for label, raw in (("enrolled_from", start), ("enrolled_until", end)):
        text = (raw or "").strip()
        try:
            out.append(date.fromisoformat(text) if text else None)
        except ValueError:
            raise ValueError(f"{label} {text!r} is not a date YYYY-MM-DD") from None
    if out[0] is not None and out[1] is not None and out[1] < out[0]:
        raise ValueError(f"enrolled_until {out[1]} is before enrolled_from {out[0]}")
    return out[0], out[1]


class RosterStore:
    """The roster in the gateway's SQLite database (table `roster`)."""

    def __init__(self, path: str | Path) -> None:
        self._conn, self._db = open_db(path)
        self._db["roster"].create(  # type: ignore[union-attr]
            {"person_id": str, "name": str, "class": str, "card_uid": str},
            pk="person_id",
            if_not_exists=True,
        )
        self._db["roster"].create_index(["card_uid"], unique=True, if_not_exists=True)  # type: ignore[union-attr]

    def replace_all(self, people: list[Person]) -> None:
        """Swap the whole roster in one transaction."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM roster")
            self._conn.executemany(
                "INSERT INTO roster (person_id, name, class, card_uid) VALUES (?,?,?,?)",
                [(p.person_id, p.name, p.class_name, p.card_uid) for p in people],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def by_card(self, uid: str) -> Person | None:
        rows = list(self._db.query("SELECT * FROM roster WHERE card_uid = ?", [uid]))
        return _person(rows[0]) if rows else None

    def get(self, person_id: str) -> Person | None:
        rows = list(self._db.query("SELECT * FROM roster WHERE person_id = ?", [person_id]))
        return _person(rows[0]) if rows else None

    def count(self) -> int:
        return int(self._db["roster"].count)

    def close(self) -> None:
        self._db.close()


def _person(row: dict[str, str | None]) -> Person:
    return Person(str(row["person_id"]), str(row["name"]), str(row["class"] or ""), row["card_uid"])
