"""Vietnamese order of people and classes: how a Vietnamese class register lists its students.

A register lists students by **given name** (tên: the LAST word of a Vietnamese full name, "Nguyễn Thị Minh Anh"
→ "Anh"), then by the rest as written (họ và tên đệm: "Nguyễn Thị Minh") — the two columns "Họ và tên đệm | Tên"
of a school's spreadsheet sorted by Tên, then by Họ. Each part is compared in Vietnamese alphabetical order.

The order is CLDR's Vietnamese collation (common/collation/vi.xml; ICU's data/coll/vi.txt, "standard"):

    &̀<<̉<<̃<<́<<̣            tones are SECONDARY: unmarked < grave (huyền) < hook (hỏi) < tilde (ngã)
                             < acute (sắc) < dot below (nặng)
    &a<ă<<<Ă<â<<<Â  &d<đ<<<Đ  &e<ê<<<Ê  &o<ô<<<Ô<ơ<<<Ơ  &u<ư<<<Ư
                             ă â đ ê ô ơ ư are LETTERS of their own (primary): a ă â b c d đ e ê g h i k l m n o
                             ô ơ p q r s t u ư v x y, with f j w z where the Latin alphabet has them

and, as in the Unicode Collation Algorithm, the whole string is compared letter by letter first (primary), then tone
by tone (secondary), then case (tertiary, lower first). So "An" < "Ân" < "Anh" (letters decide before tones) and
"Anh" < "Ánh" (same letters, the tone decides); "Dũng" < "Đạt" ("Đ" after "D", before "E" — not after "V" as a
code-point sort puts it).

Why our own key and not PyICU: PyICU has no wheel on PyPI (it builds from source against libicu-dev and a C++
compiler, which a school's small server need not carry); the rules above are all CLDR's Vietnamese tailoring adds to
the Latin letters a Vietnamese roster holds, and tests/test_collation.py checks them name by name. Letters of other
scripts sort after z by code point, punctuation and spaces before digits, digits before letters (UCA's groups).
Cost: ~12 µs a name, kept in a cache: a 2,000-student school sorts in ~10 ms, ~8 ms once the names are cached
(`python -m edge.bench.register` prints it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol, TypeVar

ALPHABET = "0123456789aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
"""Digits, then the Vietnamese alphabet with the Latin letters it lacks (f j w z) in their Latin places."""
_PRIMARY = {c: i + 10 for i, c in enumerate(ALPHABET)}
_SPACE, _PUNCT, _OTHER = 1, 2, 1000

GRAVE, HOOK, TILDE, ACUTE, DOT_BELOW = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"
TONES = {GRAVE: 1, HOOK: 2, TILDE: 3, ACUTE: 4, DOT_BELOW: 5}
"""Secondary weights of the five tone marks (CLDR vi: &̀<<̉<<̃<<́<<̣); 0 is the level tone (thanh ngang)."""
BREVE, CIRCUMFLEX, HORN = "\u0306", "\u0302", "\u031b"
_LETTER_OF = {
    ("a", BREVE): "ă",
    ("a", CIRCUMFLEX): "â",
    ("e", CIRCUMFLEX): "ê",
    ("o", CIRCUMFLEX): "ô",
    ("o", HORN): "ơ",
    ("u", HORN): "ư",
}
"""A base letter and a mark that together are another Vietnamese letter (NFD splits "ậ" into a, dot below, ^)."""
_OTHER_MARK = 9
"""Secondary weight of any other accent (a foreign name's ü, ç): after the five tones."""

TextKey = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


@lru_cache(maxsize=16384)
def text_key(text: str) -> TextKey:
    """A sort key of `text` in Vietnamese order: (letters, tones, case), compared level by level."""
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    decomposed = unicodedata.normalize("NFD", " ".join(text.split()))
    i, n = 0, len(decomposed)
    while i < n:
        base = decomposed[i]
        i += 1
        marks = []
        while i < n and unicodedata.combining(decomposed[i]):
            marks.append(decomposed[i])
            i += 1
        lower = base.lower()
        if lower == "đ":
            letter = "đ"
        else:
            letter = lower
            for m in marks:
                joined = _LETTER_OF.get((lower, m))
                if joined is not None:
                    letter = joined
                    marks.remove(m)
                    break
        weight = _PRIMARY.get(letter)
        if weight is None:
            category = unicodedata.category(base)
            if category.startswith("Z"):
                weight = _SPACE
            elif category[0] in "PS":
                weight = _PUNCT
            else:
                weight = _OTHER + ord(letter)
        primary.append(weight)
        secondary.append(sum(TONES.get(m, _OTHER_MARK) for m in marks))
        tertiary.append(0 if base == lower else 1)
    return tuple(primary), tuple(secondary), tuple(tertiary)


def split_name(full_name: str) -> tuple[str, str]:
    """(given name, the rest as written): "Nguyễn Thị Minh Anh" → ("Anh", "Nguyễn Thị Minh"); one word → (it, "")."""
    words = full_name.split()
    if not words:
        return "", ""
    return words[-1], " ".join(words[:-1])


def name_key(full_name: str) -> tuple[TextKey, TextKey]:
    """Given name first, then family and middle names as written — each in Vietnamese order."""
    given, rest = split_name(full_name)
    return text_key(given), text_key(rest)


_RUNS = re.compile(r"\d+|\D+")


def class_key(class_name: str) -> tuple[tuple[int, int, TextKey], ...]:
    """Classes in a school's order: the grade's number as a number ("6A" < "9A" < "10A1" < "10A2" < "10B"), the
    letters in Vietnamese order."""
    empty: TextKey = ((), (), ())
    return tuple(
        (0, int(run), empty) if run.isdigit() else (1, 0, text_key(run)) for run in _RUNS.findall(class_name.strip())
    )


class _Named(Protocol):
    @property
    def person_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def class_name(self) -> str: ...


P = TypeVar("P", bound=_Named)


def person_key(p: _Named) -> tuple[tuple[TextKey, TextKey], str]:
    """One class's register order: by name as above; the person id settles namesakes, so the order never varies."""
    return name_key(p.name), p.person_id


def class_person_key(p: _Named) -> tuple[tuple[tuple[int, int, TextKey], ...], tuple[TextKey, TextKey], str]:
    """Several classes: class by class (school order), each in register order."""
    return class_key(p.class_name), name_key(p.name), p.person_id


def register_order(people: Iterable[P]) -> list[P]:
    """Students of one class as the register lists them."""
    return sorted(people, key=person_key)


def school_order(people: Iterable[P]) -> list[P]:
    """Students of several classes: class by class, each in register order."""
    return sorted(people, key=class_person_key)


def sorted_classes(names: Iterable[str]) -> list[str]:
    """Class names in the school's order (each once)."""
    return sorted(set(names), key=lambda c: (class_key(c), c))
