"""The words and number formats of the report files (CSV, XLSX, Ed-Fi reasons, the printed register), in
Vietnamese (the default: a school's office reads them) and English (when asked: `lang=en`).

Why here and not in the web app's text table (edge/central/web/i18n.py): the files are made below the web app
(edge/central/attendance/downloads.py knows nothing of pages or cookies), and the same words appear in the printed
register; one table of them keeps the CSV's "Vắng có phép" the register's. Field keys are the stable English
identifiers of the JSON API (/api/v1/reports/…/summary and /days keep them); only the files' headers are words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from edge.central.attendance.rule import Status

Lang = Literal["vi", "en"]
LANGUAGES: tuple[Lang, ...] = ("vi", "en")
DEFAULT: Lang = "vi"

FIELDS: dict[str, tuple[str, str]] = {
    # key: (vi, en)
    "date": ("Ngày", "Date"),
    "person_id": ("Mã học sinh", "Student ID"),
    "name": ("Họ và tên", "Name"),
    "class": ("Lớp", "Class"),
    "status": ("Trạng thái", "Status"),
    "first_in": ("Giờ vào", "First in"),
    "last_out": ("Giờ ra", "Last out"),
    "early_departure": ("Về sớm", "Left early"),
    "method": ("Cách điểm danh", "Method"),
    "gate": ("Cổng", "Gate"),
    "school_days": ("Số ngày học", "School days"),
    "present": ("Đúng giờ", "On time"),
    "late": ("Đi muộn", "Late"),
    "absent": ("Vắng không phép", "Absent (unexcused)"),
    "excused": ("Vắng có phép", "Excused"),
    "early_departures": ("Số lần về sớm", "Early departures"),
    "attendance_rate": ("Tỷ lệ chuyên cần", "Attendance rate"),
}
STATUSES: dict[str, tuple[str, str]] = {
    str(Status.PRESENT): ("Có mặt", "Present"),
    str(Status.LATE): ("Đi muộn", "Late"),
    str(Status.ABSENT): ("Vắng không phép", "Absent"),
    str(Status.EXCUSED): ("Vắng có phép", "Excused"),
    str(Status.PENDING): ("Chưa đến", "Not yet"),
    str(Status.NO_SCHOOL): ("Nghỉ", "No school"),
}
METHODS: dict[str, tuple[str, str]] = {
    "card": ("Thẻ", "Card"),
    "face": ("Khuôn mặt", "Face"),
    "card+face": ("Thẻ + khuôn mặt", "Card + face"),
}
SHEETS: dict[str, tuple[str, str]] = {"summary": ("Tổng hợp", "Summary"), "days": ("Từng ngày", "Days")}
YES_NO: tuple[tuple[str, str], tuple[str, str]] = (("Có", "Yes"), ("Không", "No"))
REASONS: dict[str, tuple[str, str]] = {
    # the attendance rule's verdicts as free text (Ed-Fi attendanceEventReason); {time} {cutoff} are HH:MM
    str(Status.PRESENT): ("Đến trường lúc {time}", "arrived {time}"),
    str(Status.LATE): ("Đến trường lúc {time}, sau giờ vào lớp {cutoff}", "arrived {time} after {cutoff}"),
    str(Status.EXCUSED): ("Vắng có phép (nhà trường đã cho phép)", "excused by the school"),
    "excused_note": ("Vắng có phép: {note}", "excused by the school: {note}"),
    str(Status.ABSENT): ("Không vào trường trước giờ vào lớp {cutoff}", "no granted 'in' by {cutoff}"),
    "early_departure": ("Ra về lúc {time}, trước giờ tan học", "left at {time}, before dismissal"),
}
DATE_FORMATS: dict[Lang, tuple[str, str]] = {
    # (strftime for text, Excel number format)
    "vi": ("%d/%m/%Y", "dd/mm/yyyy"),
    "en": ("%Y-%m-%d", "yyyy-mm-dd"),
}
PERCENT_FORMAT = "0.0%"
"""Excel's format for the attendance rate: the cell holds 0.8333 (a number a formula can use), shown 83.3%."""


def language(value: str | None) -> Lang:
    """'en' → English; anything else (None, '', 'vi', unknown) → Vietnamese, the school's language."""
    return "en" if value == "en" else DEFAULT


@dataclass(frozen=True)
class Words:
    """The words of one file: its language and the school's gate names (gate id → display name in that language)."""

    lang: Lang = DEFAULT
    gates: dict[str, str] = field(default_factory=dict)

    def _pick(self, pair: tuple[str, str]) -> str:
        return pair[0] if self.lang == "vi" else pair[1]

    def column(self, key: str) -> str:
        """A column header (a field key of the report rows, in words)."""
        pair = FIELDS.get(key)
        return key if pair is None else self._pick(pair)

    def status(self, status: str) -> str:
        pair = STATUSES.get(status)
        return status if pair is None else self._pick(pair)

    def method(self, method: str | None) -> str | None:
        if method is None:
            return None
        pair = METHODS.get(method)
        return method if pair is None else self._pick(pair)

    def gate(self, gate: str | None) -> str | None:
        return None if gate is None else self.gates.get(gate, gate)

    def sheet(self, key: str) -> str:
        return self._pick(SHEETS[key])

    def yes_no(self, value: bool) -> str:
        return self._pick(YES_NO[0] if value else YES_NO[1])

    def date(self, day: date) -> str:
        """16/11/2026 in Vietnamese (how a Vietnamese office writes a date), 2026-11-16 in English (ISO)."""
        return day.strftime(DATE_FORMATS[self.lang][0])

    @property
    def excel_date_format(self) -> str:
        return DATE_FORMATS[self.lang][1]

    def percent(self, rate: float | None) -> str:
        """83.3% / 83,3% (Vietnamese writes a decimal comma); '' for no judged day."""
        if rate is None:
            return ""
        text = f"{rate * 100:.1f}%"
        return text.replace(".", ",") if self.lang == "vi" else text

    def reason(
        self,
        status: str,
        first_in: datetime | None,
        cutoff: datetime | None,
        fallback: str = "",
        note: str | None = None,
    ) -> str:
        """The rule's verdict in words (Ed-Fi attendanceEventReason); an excused day says the school's note if there
        is one ("Vắng có phép: ốm"); `fallback` for a status without a sentence."""
        if status == Status.EXCUSED and note:
            return self._pick(REASONS["excused_note"]).format(note=note)
        pair = REASONS.get(status)
        if pair is None:
            return fallback
        return self._pick(pair).format(time=_hhmm(first_in), cutoff=_hhmm(cutoff))

    def early_departure(self, left: datetime | None) -> str:
        return self._pick(REASONS["early_departure"]).format(time=_hhmm(left))


def _hhmm(t: datetime | None) -> str:
    return "" if t is None else f"{t.hour:02d}:{t.minute:02d}"
