"""Warnings for values Excel is known to mangle, with the spreadsheet row, shown in the roster preview.

Why: a card number typed into Excel becomes a number and loses its leading zeros (0012345678 → 12345678), and
12345678 is still a valid 4-byte MIFARE UID — the rules cannot refuse it, the card simply never opens the gate.
Long numbers are shown (and saved as CSV) in scientific notation (1.23457E+11, digits lost for good), and dates
become serial numbers (46270) or the computer's local format (05/09/2026). The rules refuse some of these; these
warnings say WHY, in the office's terms, so the fix is "format the column as Text", not a retyped guess.

A warning never blocks an import on its own (a school whose cards really are 8 digits may apply); the preview
shows it next to the row.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # roster_import calls this module
    from edge.central.roster_import import Table

Warning = tuple[int, str]
"""(spreadsheet row, message in English; edge/central/roster_messages.py says it in Vietnamese)."""

SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
DIGITS = re.compile(r"^\d+$")
OTHER_DATE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:\s.*)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_COLUMNS = ("enrolled_from", "enrolled_until")
SERIAL_RANGE = (20_000, 80_000)
"""Excel date serials of 1954 … 2119: a bare number in this range in a date column is a date Excel converted."""


def excel_warnings(kind: str, table: Table) -> list[Warning]:
    """Every suspicious cell of `table` (its header already canonical), one warning per cell, in row order."""
    out: list[Warning] = []
    col = {name: i for i, name in enumerate(table.header)}
    card = col.get("card_uid")
    usual = _usual_card_length(table, card) if card is not None and kind == "roster" else None
    for n, cells in table.rows:
        for i, value in enumerate(cells):
            text = value.strip()
            if not text or i >= len(table.header):
                continue
            name = table.header[i]
            number = table.kinds.get((n, i)) == "number"
            if i == card and kind == "roster":
                if number:
                    out.append((n, f"card_uid {text!r} was a number in the spreadsheet: Excel drops "
                                                "leading zeros; format the column as Text and type the card number "
                                                "again"))  # fmt: skip
                    continue
                if usual is not None and DIGITS.match(text) and len(text) < usual:
                    out.append((n, f"card_uid {text!r} is shorter than the other cards ({usual} "
                                                "characters): its leading zeros may have been lost"))  # fmt: skip
                    continue
            if SCIENTIFIC.match(text):
                out.append((n, f"{name} {text!r} is in scientific notation: Excel rounded a long "
                                            "number; format the column as Text and type it again"))  # fmt: skip
            elif name in DATE_COLUMNS:
                out.extend(_date_warning(n, name, text, number))
    return out


def _date_warning(row: int, name: str, text: str, number: bool) -> list[Warning]:
    if ISO_DATE.match(text):
        return []
    if (number or DIGITS.match(text)) and SERIAL_RANGE[0] <= _int(text) <= SERIAL_RANGE[1]:
        return [(row, f"{name} {text!r} is a date serial number: format the column as Text and type "
                                   "the date as YYYY-MM-DD")]  # fmt: skip
    if OTHER_DATE.match(text):
        return [(row, f"{name} {text!r} is a date in another format: type it as YYYY-MM-DD "
                                   "(e.g. 2026-09-05)")]  # fmt: skip
    return []


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return -1


def _usual_card_length(table: Table, card: int) -> int | None:
    """The length most card numbers of the upload have (the school's card type), when at least 3 agree."""
    lengths: Counter[int] = Counter()
    for n, cells in table.rows:
        if card < len(cells) and cells[card].strip() and table.kinds.get((n, card)) != "number":
            lengths[len(cells[card].strip())] += 1
    if not lengths:
        return None
    length, count = lengths.most_common(1)[0]
    return length if count >= 3 else None
