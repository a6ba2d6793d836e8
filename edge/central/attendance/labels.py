"""The words and number formats of the report files (CSV, XLSX, Ed-Fi reasons, the printed register), in
Vietnamese (the default: a school's office reads them) and English (when asked: `lang=en`).

The words themselves are messages "download.*" of the centre's gettext catalogs (edge/central/catalogs.py), shared
with the web app; the files are made below the web app (edge/central/attendance/downloads.py knows nothing of pages
or cookies), and the same words appear in the printed register, so the CSV's "Vắng có phép" is the register's.
Field keys are the stable English identifiers of the JSON API (/api/v1/reports/…/summary and /days keep them);
only the files' headers are words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from edge.central import catalogs
from edge.central.attendance.rule import Status
from edge.central.attendance.summary import DAY_FIELDS, SUMMARY_FIELDS

Lang = Literal["vi", "en"]
LANGUAGES: tuple[Lang, ...] = ("vi", "en")
DEFAULT: Lang = "vi"

FIELDS: tuple[str, ...] = (*DAY_FIELDS, *(f for f in SUMMARY_FIELDS if f not in DAY_FIELDS))
"""The report rows' field keys that have words (message "download.fields.<key>" in the catalogs): the day rows'
and the summary rows' columns, named once in summary.py."""
STATUSES: tuple[str, ...] = tuple(str(s) for s in Status)  # message "download.statuses.<status>"
METHODS: tuple[str, ...] = ("card", "face", "card+face")  # message "download.methods.<method>"
# the attendance rule's verdicts as free text (Ed-Fi attendanceEventReason) are "download.reasons.<status>",
# "download.reasons.excused_note" and "download.reasons.early_departure"; {time} {cutoff} are HH:MM
REASONS: tuple[str, ...] = (str(Status.PRESENT), str(Status.LATE), str(Status.EXCUSED), str(Status.ABSENT))
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

    def _text(self, key: str, **fields: object) -> str:
        return catalogs.text(self.lang, key, **fields)

    def column(self, key: str) -> str:
        """A column header (a field key of the report rows, in words)."""
        return self._text(f"download.fields.{key}") if key in FIELDS else key

    def status(self, status: str) -> str:
        return self._text(f"download.statuses.{status}") if status in STATUSES else status

    def method(self, method: str | None) -> str | None:
        if method is None:
            return None
        return self._text(f"download.methods.{method}") if method in METHODS else method

    def gate(self, gate: str | None) -> str | None:
        return None if gate is None else self.gates.get(gate, gate)

    def sheet(self, key: str) -> str:
        return self._text(f"download.sheets.{key}")

    def yes_no(self, value: bool) -> str:
        return self._text("download.yes") if value else self._text("download.no")

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
            return self._text("download.reasons.excused_note", note=note)
        if status not in REASONS:
            return fallback
        return self._text(f"download.reasons.{status}", time=_hhmm(first_in), cutoff=_hhmm(cutoff))

    def early_departure(self, left: datetime | None) -> str:
        return self._text("download.reasons.early_departure", time=_hhmm(left))


def _hhmm(t: datetime | None) -> str:
    return "" if t is None else f"{t.hour:02d}:{t.minute:02d}"
