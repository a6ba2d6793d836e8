"""Characters no imported field may hold: they reach e-mail headers, HTTP headers, SMS bodies, file names and
pages, where they either break the message (Python's e-mail package refuses CR, LF, VT, FF, NEL, U+2028 and
U+2029 in a header and raises) or change what a person reads (a bidi override turns 'Eve' into 'evE').

One definition, used by every importer (the gateway's roster CSV, the centre's guardians CSV and the web upload
that checks both): C0 and C1 control characters and DEL (Unicode category Cc), the line and paragraph separators
U+2028/U+2029, and the bidi embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069.
"""

from __future__ import annotations

import unicodedata

BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
SEPARATORS = frozenset({"\u2028", "\u2029"})


def is_forbidden(ch: str) -> bool:
    return ch in BIDI or ch in SEPARATORS or unicodedata.category(ch) == "Cc"


def describe(ch: str) -> str:
    """'U+000D' with its name where Unicode has one ('U+2028 LINE SEPARATOR'); control characters have none."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def first_forbidden(text: str) -> tuple[int, str] | None:
    """(1-based position, character) of the first forbidden character, or None."""
    for i, ch in enumerate(text, start=1):
        if is_forbidden(ch):
            return i, ch
    return None


def field_problem(field: str, value: str) -> str | None:
    """A sentence for an import error, or None when `value` is clean."""
    found = first_forbidden(value)
    if found is None:
        return None
    pos, ch = found
    return f"{field} holds a control character ({describe(ch)}) at position {pos}: remove it and upload again"
