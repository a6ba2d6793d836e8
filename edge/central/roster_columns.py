"""Column headers of the roster and guardians spreadsheets in the office's words, Vietnamese or English.

Why: a school secretary's workbook says "Mã HS, Họ và tên, Lớp, Mã thẻ", not `person_id,name,class,card_uid`,
and was refused. Each canonical column (what edge/roster.py and edge/central/guardians.py check) has a list of
synonyms; a header cell matches one when both are equal after `fold` (case, diacritics, đ/Đ, spaces, dots,
underscores and hyphens ignored: "HO VA TEN", "họ và tên", "Ho_va_ten" are the same). A header that matches
nothing is kept as typed, so the roster's own rule reports it ("unknown [...]").

The synonyms below are the documented list (README "Roster in the office's words" and the Roster page show it);
`HEADERS` is what the template and the export write in each language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

Kind = Literal["roster", "guardians"]

ROSTER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person_id": ("person_id", "Mã HS", "Mã học sinh", "Mã số học sinh", "Mã định danh", "Student ID", "ID"),
    "name": ("name", "Họ và tên", "Họ tên", "Tên học sinh", "Full name", "Student name"),
    "class": ("class", "Lớp", "Tên lớp", "Class name"),
    "card_uid": ("card_uid", "Mã thẻ", "Số thẻ", "Thẻ", "Card", "Card UID", "Card number"),
    "photos": ("photos", "Ảnh", "Ảnh chân dung", "Photo", "Photos"),
    "enrolled_from": ("enrolled_from", "Ngày nhập học", "Nhập học từ", "Enrolled from", "Enrolment date"),
    "enrolled_until": ("enrolled_until", "Ngày thôi học", "Học đến ngày", "Enrolled until", "Leaving date"),
}
GUARDIAN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person_id": ("person_id", "Mã HS", "Mã học sinh", "Mã số học sinh", "Student ID"),
    "name": ("name", "Họ và tên", "Họ tên", "Họ tên phụ huynh", "Tên phụ huynh", "Guardian name", "Full name"),
    "phone": ("phone", "Số điện thoại", "Điện thoại", "SĐT", "Phone", "Phone number"),
    "email": ("email", "Thư điện tử", "E-mail"),
    "channel": ("channel", "Kênh", "Kênh nhận tin", "Channel"),
    "language": ("language", "Ngôn ngữ", "Language"),
    "kinds": ("kinds", "Loại tin", "Loại thông báo", "Notices"),
    "guardian_id": ("guardian_id", "Mã phụ huynh", "Guardian ID"),
}
SYNONYMS: dict[Kind, dict[str, tuple[str, ...]]] = {"roster": ROSTER_SYNONYMS, "guardians": GUARDIAN_SYNONYMS}

HEADERS: dict[str, dict[str, str]] = {
    "vi": {
        "person_id": "Mã học sinh",
        "name": "Họ và tên",
        "class": "Lớp",
        "card_uid": "Mã thẻ",
        "photos": "Ảnh",
        "enrolled_from": "Ngày nhập học",
        "enrolled_until": "Ngày thôi học",
    },
    "en": {
        "person_id": "Student ID",
        "name": "Full name",
        "class": "Class",
        "card_uid": "Card UID",
        "photos": "Photos",
        "enrolled_from": "Enrolled from",
        "enrolled_until": "Enrolled until",
    },
}
"""What the template and the export write as the roster's header in each language (each is a synonym above)."""

_IGNORED = re.compile(r"[\s._\-/()]+")


def fold(text: str) -> str:
    """`text` without case, diacritics or separators: 'Mã  H.S' → 'mahs', 'ĐT' → 'dt'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _IGNORED.sub("", bare.casefold())


def _index(kind: Kind) -> dict[str, str]:
    return {fold(s): canonical for canonical, names in SYNONYMS[kind].items() for s in names}


_INDEX: dict[Kind, dict[str, str]] = {"roster": _index("roster"), "guardians": _index("guardians")}


def canonical_header(header: Sequence[str], kind: Kind) -> list[str]:
    """Each header cell as its canonical column name, or as typed when it matches no synonym (the file's own
    rules then name it as unknown). Two cells naming the same column are both kept, and the rules report it."""
    index = _INDEX[kind]
    return [index.get(fold(h), h) for h in header]


def synonym_rows(kind: Kind) -> list[tuple[str, str]]:
    """(canonical, 'synonym · synonym · …') for the Roster page and the README."""
    return [(canonical, " · ".join(names[1:])) for canonical, names in SYNONYMS[kind].items()]
