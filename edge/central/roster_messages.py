"""Roster-import messages in the office's language: the English sentences of the import rules, said in Vietnamese.

Why a translation of sentences rather than message keys in the rules: the rules (edge/roster.py,
edge/central/guardians.py, edge/control_chars.py, the reader in roster_import.py and the Excel warnings in
roster_excel.py) are shared with the CLI and the gateway, whose logs stay English; the web page is where a
secretary reads them. Each known sentence is a pattern whose fields (values, row numbers, column names) are
carried over; a sentence no pattern knows is shown as it is (English beats nothing), and
tests/test_roster_words.py fails when a rule's message has no Vietnamese.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from edge.central.roster_columns import HEADERS

_COLUMN_VI = {**HEADERS["vi"], "phone": "Số điện thoại", "email": "Email", "channel": "Kênh", "language": "Ngôn ngữ",
              "kinds": "Loại tin", "guardian_id": "Mã phụ huynh"}  # fmt: skip

PATTERNS: list[tuple[str, str]] = [
    # the reader (roster_import.read_table / detect)
    (r"roster: (?P<rest>.+)", "danh sách học sinh: {rest}"),
    (r"guardians: (?P<rest>.+)", "danh sách phụ huynh: {rest}"),
    (r"the file is (?P<n>[\d,]+) bytes; the limit is (?P<cap>[\d,]+) \(2 MiB\)",
     "tệp nặng {n} byte; giới hạn là {cap} (2 MiB)"),
    (r"the file is empty", "tệp trống"),
    (r"an OpenDocument \(\.ods\) file: save it as \.xlsx or as CSV UTF-8",
     "đây là tệp OpenDocument (.ods): hãy lưu lại dạng .xlsx hoặc CSV UTF-8"),
    (r"a damaged zip file, not a readable XLSX \((?P<why>.*)\)", "tệp zip bị hỏng, không đọc được như XLSX ({why})"),
    (r"a zip file, not a spreadsheet \(no \[Content_Types\]\.xml\)", "tệp zip, không phải bảng tính"),
    (r"an old Excel \.xls file: save it as \.xlsx or as CSV UTF-8",
     "tệp Excel .xls cũ: hãy lưu lại dạng .xlsx hoặc CSV UTF-8"),
    (r"a binary file, not a CSV or XLSX spreadsheet", "tệp nhị phân, không phải bảng tính CSV hay XLSX"),
    (r"not UTF-8 text \(byte (?P<b>0x[0-9a-f]+) at offset (?P<o>\d+)\): save it as 'CSV UTF-8' or as \.xlsx",
     "không phải văn bản UTF-8 (byte {b} ở vị trí {o}): hãy lưu dạng 'CSV UTF-8' hoặc .xlsx"),
    (r"the first row must be the header \(person_id,name,…\)",
     "dòng đầu tiên phải là dòng tiêu đề (Mã học sinh, Họ và tên, Lớp…)"),
    (r"row (?P<n>\d+): not valid CSV \((?P<why>.*)\)", "dòng {n}: CSV không hợp lệ ({why})"),
    (r"more than (?P<n>[\d,]+) rows", "nhiều hơn {n} dòng"),
    (r"row (?P<n>\d+): (?P<c>\d+) columns; at most (?P<m>\d+)", "dòng {n}: {c} cột; tối đa {m}"),
    (r"row (?P<n>\d+): a cell of (?P<c>[\d,]+) characters; at most (?P<m>[\d,]+)",
     "dòng {n}: một ô dài {c} ký tự; tối đa {m}"),
    (r"the workbook unzips to (?P<n>[\d,]+) bytes; at most (?P<m>[\d,]+)",
     "bảng tính giải nén ra {n} byte; tối đa {m}"),
    (r"the workbook has no worksheet", "bảng tính không có trang nào"),
    (r"not a readable XLSX workbook \((?P<why>.*)\)", "không đọc được bảng tính XLSX ({why})"),
    (r"choose a roster file, a guardians file, or both", "hãy chọn tệp danh sách học sinh, tệp phụ huynh, hoặc cả hai"),
    (r"cannot read the file: (?P<why>.*)", "không đọc được tệp: {why}"),
    # the roster's rules (edge/roster.py)
    (r"header must be person_id,name,class\[,card_uid\]\[,photos\]\[,enrolled_from\]\[,enrolled_until\]"
     r"(?:; missing (?P<missing>\[[^\]]*\]))?(?:; unknown (?P<unknown>\[[^\]]*\]))?",
     "dòng tiêu đề phải có các cột Mã học sinh, Họ và tên, Lớp (và có thể Mã thẻ, Ảnh, Ngày nhập học, Ngày thôi "
     "học){missing?; thiếu: }{unknown?; cột không nhận ra: }"),
    (r"more fields than the header has", "nhiều ô hơn số cột của dòng tiêu đề"),
    (r"person_id and name are required", "cần có Mã học sinh và Họ và tên"),
    (r"card_uid (?P<v>'.*') is not 4 to 10 bytes of hexadecimal \(EM4100: 10 digits, MIFARE: 8 or 14\)",
     "Mã thẻ {v} không phải 8–20 chữ số hệ 16 (thẻ EM4100: 10 ký tự, MIFARE: 8 hoặc 14)"),
    (r"duplicate person_id (?P<v>'.*') \(first on row (?P<n>\d+)\)", "Mã học sinh {v} bị trùng (đã có ở dòng {n})"),
    (r"duplicate card_uid (?P<v>\S+) \(first on row (?P<n>\d+)\)", "Mã thẻ {v} bị trùng (đã có ở dòng {n})"),
    (r"(?P<col>enrolled_from|enrolled_until) (?P<v>'.*') is not a date YYYY-MM-DD",
     "{col:column} {v} không phải ngày dạng YYYY-MM-DD (ví dụ 2026-09-05)"),
    (r"enrolled_until (?P<b>\S+) is before enrolled_from (?P<a>\S+)", "Ngày thôi học {b} trước Ngày nhập học {a}"),
    (r"(?P<col>\w+) holds a control character \((?P<what>.*)\) at position (?P<p>\d+): remove it and upload again",
     "{col:column} chứa ký tự điều khiển ({what}) ở vị trí {p}: hãy xoá ký tự đó rồi tải lên lại"),
    # the guardians' rules (edge/central/guardians.py)
    (r"header must be (?P<cols>[\w,]+)\[,guardian_id\](?:; missing (?P<missing>\[[^\]]*\]))?"
     r"(?:; unknown (?P<unknown>\[[^\]]*\]))?(?:; repeated (?P<repeated>\[[^\]]*\]))?",
     "dòng tiêu đề phải có các cột Mã học sinh, Họ và tên, Số điện thoại, Email, Kênh, Ngôn ngữ, Loại tin (và có "
     "thể Mã phụ huynh){missing?; thiếu: }{unknown?; cột không nhận ra: }{repeated?; cột bị lặp: }"),
    (r"the file is empty \(header person_id,name,phone,… expected\)", "tệp trống (cần dòng tiêu đề)"),
    (r"(?P<n>\d+) fields, the header has (?P<m>\d+)", "{n} ô, dòng tiêu đề có {m} cột"),
    (r"person_id is empty", "thiếu Mã học sinh"),
    (r"person_id (?P<v>'.*') is not in the roster", "Mã học sinh {v} không có trong danh sách học sinh"),
    (r"name is empty", "thiếu Họ và tên"),
    (r"phone (?P<v>'.*') is not a (?:valid number|phone number.*)", "số điện thoại {v} không hợp lệ"),
    (r"guardian_id (?P<v>'.*') already on row (?P<n>\d+)", "Mã phụ huynh {v} đã có ở dòng {n}"),
    (r"(?P<col>\w+) longer than (?P<n>\d+) characters", "{col:column} dài hơn {n} ký tự"),
    (r"the current guardians file names (?P<v>'.*'), who is not in the new roster: upload the guardians file with "
     r"this roster",
     "danh sách phụ huynh hiện tại có học sinh {v} không còn trong danh sách mới: hãy tải lên cả tệp phụ huynh"),
    # the Excel warnings (roster_excel.py)
    (r"card_uid (?P<v>'.*') was a number in the spreadsheet: Excel drops leading zeros; format the column as Text "
     r"and type the card number again",
     "Mã thẻ {v} là một số trong bảng tính: Excel bỏ các số 0 ở đầu; hãy định dạng cột là Văn bản (Text) rồi gõ "
     "lại mã thẻ"),
    (r"card_uid (?P<v>'.*') is shorter than the other cards \((?P<n>\d+) characters\): its leading zeros may have "
     r"been lost",
     "Mã thẻ {v} ngắn hơn các thẻ khác ({n} ký tự): có thể đã mất các số 0 ở đầu"),
    (r"(?P<col>\w+) (?P<v>'.*') is in scientific notation: Excel rounded a long number; format the column as Text "
     r"and type it again",
     "{col:column} {v} ở dạng số mũ: Excel đã làm tròn số dài; hãy định dạng cột là Văn bản (Text) rồi gõ lại"),
    (r"(?P<col>\w+) (?P<v>'.*') is a date serial number: format the column as Text and type the date as YYYY-MM-DD",
     "{col:column} {v} là số ngày của Excel: hãy định dạng cột là Văn bản (Text) và gõ ngày dạng YYYY-MM-DD"),
    (r"(?P<col>\w+) (?P<v>'.*') is a date in another format: type it as YYYY-MM-DD \(e\.g\. 2026-09-05\)",
     "{col:column} {v} là ngày ở định dạng khác: hãy gõ dạng YYYY-MM-DD (ví dụ 2026-09-05)"),
]  # fmt: skip

_COMPILED = [(re.compile(p), vi) for p, vi in PATTERNS]
_FIELD = re.compile(r"\{(\w+)(?::(column))?(\?[^}]*)?\}")


def _fill(template: str, m: re.Match[str], again: Callable[[str], str]) -> str:
    def one(f: re.Match[str]) -> str:
        value = m.group(f.group(1))
        if f.group(3) is not None:  # {name?prefix}: the prefix and the value, only when the field matched
            if value is None:
                return ""
            return f.group(3)[1:] + re.sub(r"'(\w+)'", lambda c: f"'{_COLUMN_VI.get(c.group(1), c.group(1))}'", value)
        if value is None:
            return ""
        if f.group(2):
            return _COLUMN_VI.get(value, value)
        return again(value) if f.group(1) == "rest" else value

    return _FIELD.sub(one, template)


def to_vietnamese(message: str) -> str | None:
    """The Vietnamese for one message, or None when no pattern knows it."""
    for pattern, vi in _COMPILED:
        m = pattern.fullmatch(message)
        if m is not None:
            return _fill(vi, m, lambda rest: to_vietnamese(rest) or rest)
    return None


def localise(message: str, lang: str) -> str:
    """`message` in `lang` ('vi': translated when known, else as it is; any other: the English original)."""
    if lang != "vi":
        return message
    return to_vietnamese(message) or message
