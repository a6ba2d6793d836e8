"""Roster-import messages in the office's language, from the catalogs: each English sentence of the import rules is
recognised by a pattern whose named groups are the fields of a catalog message (roster.msg.<name>).

Why patterns over the rules' sentences rather than message keys raised by the rules: the rules (edge/roster.py,
edge/central/guardians.py, edge/control_chars.py, the reader in roster_import.py and the Excel warnings in
roster_excel.py) are shared with the CLI and the gateway, whose logs stay English and which have no catalogs; the web
page is where a secretary reads them. The words themselves live only in the .po files (edge/central/locale), in
every language, with named placeholders: the table below holds no language at all, only how to read a sentence.
A value that names a column (the groups `col`, `missing`, `unknown`, `repeated`) is said with the column's name in
the language (rostercol.<column>); a sentence no pattern knows is shown as it is (English beats nothing), and
tests/test_roster_words.py fails when a rule's message has no entry.
"""

from __future__ import annotations

import re

from edge.central import catalogs

PATTERNS: list[tuple[str, str]] = [
    # the reader (roster_import.read_table / detect)
    (r"roster: (?P<rest>.+)", "roster_file"),
    (r"guardians: (?P<rest>.+)", "guardians_file"),
    (r"the file is (?P<n>[\d,]+) bytes; the limit is (?P<cap>[\d,]+) \(2 MiB\)", "too_large"),
    (r"the file is empty", "empty"),
    (r"an OpenDocument \(\.ods\) file: save it as \.xlsx or as CSV UTF-8", "ods"),
    (r"a damaged zip file, not a readable XLSX \((?P<why>.*)\)", "damaged_zip"),
    (r"a zip file, not a spreadsheet \(no \[Content_Types\]\.xml\)", "zip_not_spreadsheet"),
    (r"an old Excel \.xls file: save it as \.xlsx or as CSV UTF-8", "xls"),
    (r"a binary file, not a CSV or XLSX spreadsheet", "binary"),
    (r"not UTF-8 text \(byte (?P<byte>0x[0-9a-f]+) at offset (?P<offset>\d+)\): save it as 'CSV UTF-8' or as \.xlsx",
     "not_utf8"),
    (r"the first row must be the header \(person_id,name,…\)", "no_header"),
    (r"row (?P<row>\d+): not valid CSV \((?P<why>.*)\)", "bad_csv_row"),
    (r"more than (?P<n>[\d,]+) rows", "too_many_rows"),
    (r"row (?P<row>\d+): (?P<n>\d+) columns; at most (?P<most>\d+)", "too_many_columns"),
    (r"row (?P<row>\d+): a cell of (?P<n>[\d,]+) characters; at most (?P<most>[\d,]+)", "long_cell"),
    (r"the workbook unzips to (?P<n>[\d,]+) bytes; at most (?P<most>[\d,]+)", "unzips_too_large"),
    (r"the workbook has no worksheet", "no_worksheet"),
    (r"not a readable XLSX workbook \((?P<why>.*)\)", "bad_xlsx"),
    (r"choose a roster file, a guardians file, or both", "choose_file"),
    (r"cannot read the file: (?P<why>.*)", "cannot_read"),
    # the roster's rules (edge/roster.py)
    (r"header must be person_id,name,class\[,card_uid\]\[,photos\]\[,enrolled_from\]\[,enrolled_until\]"
     r"(?:; missing (?P<missing>\[[^\]]*\]))?(?:; unknown (?P<unknown>\[[^\]]*\]))?", "roster_header"),
    (r"more fields than the header has", "more_fields"),
    (r"person_id and name are required", "id_and_name_required"),
    (r"card_uid (?P<value>'.*') is not 4 to 10 bytes of hexadecimal \(EM4100: 10 digits, MIFARE: 8 or 14\)",
     "bad_card"),
    (r"duplicate person_id (?P<value>'.*') \(first on row (?P<row>\d+)\)", "duplicate_id"),
    (r"duplicate card_uid (?P<value>\S+) \(first on row (?P<row>\d+)\)", "duplicate_card"),
    (r"(?P<col>enrolled_from|enrolled_until) (?P<value>'.*') is not a date YYYY-MM-DD", "bad_date"),
    (r"enrolled_until (?P<until>\S+) is before enrolled_from (?P<since>\S+)", "until_before_from"),
    (r"(?P<col>\w+) holds a control character \((?P<what>.*)\) at position (?P<at>\d+): remove it and upload again",
     "control_char"),
    # the guardians' rules (edge/central/guardians.py)
    (r"header must be [\w,]+\[,guardian_id\](?:; missing (?P<missing>\[[^\]]*\]))?"
     r"(?:; unknown (?P<unknown>\[[^\]]*\]))?(?:; repeated (?P<repeated>\[[^\]]*\]))?", "guardians_header"),
    (r"the file is empty \(header person_id,name,phone,… expected\)", "guardians_empty"),
    (r"(?P<n>\d+) fields, the header has (?P<most>\d+)", "field_count"),
    (r"person_id is empty", "person_id_empty"),
    (r"person_id (?P<value>'.*') is not in the roster", "not_in_roster"),
    (r"name is empty", "name_empty"),
    (r"phone (?P<value>'.*') is not a (?:valid number|phone number.*)", "bad_phone"),
    (r"guardian_id (?P<value>'.*') already on row (?P<row>\d+)", "duplicate_guardian"),
    (r"(?P<col>\w+) longer than (?P<n>\d+) characters", "too_long"),
    (r"the current guardians file names (?P<value>'.*'), who is not in the new roster: upload the guardians file "
     r"with this roster", "guardian_orphan"),
    # the Excel warnings (roster_excel.py)
    (r"card_uid (?P<value>'.*') was a number in the spreadsheet: Excel drops leading zeros; format the column as "
     r"Text and type the card number again", "excel_card_number"),
    (r"card_uid (?P<value>'.*') is shorter than the other cards \((?P<n>\d+) characters\): its leading zeros may "
     r"have been lost", "excel_card_short"),
    (r"(?P<col>\w+) (?P<value>'.*') is in scientific notation: Excel rounded a long number; format the column as "
     r"Text and type it again", "excel_scientific"),
    (r"(?P<col>\w+) (?P<value>'.*') is a date serial number: format the column as Text and type the date as "
     r"YYYY-MM-DD", "excel_date_serial"),
    (r"(?P<col>\w+) (?P<value>'.*') is a date in another format: type it as YYYY-MM-DD \(e\.g\. 2026-09-05\)",
     "excel_date_format"),
]  # fmt: skip
"""(how the rule says it in English, the catalog message roster.msg.<name> that says it in the office's words)."""

COLUMN_LISTS = ("missing", "unknown", "repeated")
"""Groups holding a list of column names ("['class', 'Ghi chú']"): said as roster.msg.<group>_columns, or nothing
when the sentence has no such part."""

_COMPILED = [(re.compile(p), name) for p, name in PATTERNS]
_QUOTED = re.compile(r"'([^']*)'")


def key_of(name: str) -> str:
    return f"roster.msg.{name}"


def column(lang: str, name: str) -> str:
    """A column's name in `lang` (rostercol.<name>), or the text as typed when it is no column of ours."""
    key = f"rostercol.{name}"
    words = catalogs.text(lang, key)
    return name if words == key else words


def _fields(m: re.Match[str], lang: str) -> dict[str, str]:
    fields = {}
    for group, value in m.groupdict().items():
        if group in COLUMN_LISTS:
            names = ", ".join(column(lang, c) for c in _QUOTED.findall(value or ""))
            fields[group] = catalogs.text(lang, key_of(f"{group}_columns"), columns=names) if value else ""
        elif group == "col":
            fields[group] = column(lang, value)
        elif group == "rest":
            fields[group] = say(value, lang) or value
        else:
            fields[group] = value or ""
    return fields


def say(message: str, lang: str) -> str | None:
    """`message` (a rule's English sentence) in `lang` from the catalogs, or None when no pattern knows it."""
    for pattern, name in _COMPILED:
        m = pattern.fullmatch(message)
        if m is not None:
            return catalogs.text(lang, key_of(name), **_fields(m, lang))
    return None


def to_vietnamese(message: str) -> str | None:
    """The Vietnamese for one message, or None when no pattern knows it."""
    return say(message, "vi")


def localise(message: str, lang: str) -> str:
    """`message` in `lang`; a sentence no pattern knows as it is."""
    return say(message, lang) or message
