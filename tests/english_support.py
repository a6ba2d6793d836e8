"""English leaking into a Vietnamese page: what the catalog test (tests/test_web_catalogs.py) counts as English.

A page in Vietnamese may show no text the English catalog says differently from the Vietnamese one. Two checks, both
built from the catalogs themselves (so a new message is covered the day it is added):

- a whole visible text equal to an English message that has a different Vietnamese one ("Today", "Gates");
- any word that occurs in the English catalog's messages and in none of the Vietnamese ones ("unknown", "gateway",
  "absent"): English sentences built in Python never reach a catalog, but they are made of the same words.

Words the two languages share by design (codes, product and format names, the school's own data) are in neither
list or in ALLOWED."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from edge.central import catalogs

WORD = re.compile(r"[A-Za-z]{3,}")
"""ASCII words of three letters or more: Vietnamese words with diacritics never match whole, and the two-letter
English words ("in", "to", "no", "an") are also Vietnamese words (in = print, to = big, no = full, An = a name)."""
FIELD = re.compile(r"{\w+}")
ALLOWED = frozenset(
    {
        # names and codes that are the same in both languages: formats, products, standards, protocols
        "csv", "xlsx", "pdf", "json", "api", "edge", "ed-fi", "edfi", "mqtt", "uid", "sms", "zalo", "zns", "email",
        "web", "push", "http", "https", "url", "html", "utf", "mib", "kib", "iso", "rfc", "wifi", "rfid", "nfc",
        "mifare", "openapi", "bearer", "token", "yyyy", "dd", "mm", "ok", "gmt", "utc", "ict",
        # the test school's data (tests/parents_support.py, tests/web_support.py): gate, gateway, user and file ids
        "test", "school", "office", "teacher", "guard", "admin", "principal", "binh", "dung", "anh", "chi",
        "lan", "example", "org", "diemdanh",
    }
)  # fmt: skip
"""Words of the English catalog that may appear on a Vietnamese page: identifiers a person types or reads as they
are (file formats, standards, the ids of the test school's gates and accounts)."""


ALLOWED_LINES = frozenset({"English"})
"""Whole texts allowed: the language switch names the other language in that language, as every bilingual site
does."""


def _strings(lang: str) -> dict[str, tuple[str, ...]]:
    out = {}
    for m in catalogs.read(lang):
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        out[key] = (m.string,) if isinstance(m.string, str) else tuple(m.string or ())
    return out


@cache
def english_phrases() -> frozenset[str]:
    """Every English message (without its {fields}) whose Vietnamese differs and that is more than one word."""
    vi, en = _strings("vi"), _strings("en")
    out = set()
    for key, forms in en.items():
        for form in forms:
            if form not in vi.get(key, ()) and WORD.search(form) and not FIELD.search(form):
                out.add(form.strip())
    return frozenset(out)


@cache
def english_words() -> frozenset[str]:
    """Words of the English catalog that no Vietnamese message uses, less ALLOWED."""

    def words(lang: str) -> set[str]:
        return {w.lower() for forms in _strings(lang).values() for f in forms for w in WORD.findall(FIELD.sub(" ", f))}

    return frozenset(words("en") - words("vi") - ALLOWED)


@dataclass(frozen=True)
class Leak:
    """A line that reads as English: the line, and the English words in it (empty: the whole line is a message)."""

    line: str
    words: frozenset[str]

    def __str__(self) -> str:
        why = f"English words {', '.join(sorted(self.words))}" if self.words else "an English message"
        return f"{self.line[:120]!r} ({why})"


def leaks(text: str) -> list[Leak]:
    """The lines of `text` (one visible text node or cell a line) that read as English."""
    phrases, words = english_phrases(), english_words()
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line in ALLOWED_LINES:
            continue
        if line in phrases:
            found.append(Leak(line, frozenset()))
            continue
        english = frozenset(w.lower() for w in WORD.findall(line) if w.lower() in words)
        if english:
            found.append(Leak(line, english))
    return found
