"""The month's class register (sổ điểm danh): what a Vietnamese school prints, signs and files for each class.

The layout is the attendance part (phần kiểm diện) of the register every school keeps ("Sổ gọi tên và ghi điểm",
https://nhasachgiaoduc.vn/so-goi-ten-va-ghi-diem-thpt: "phần kiểm diện ghi chép những ngày nghỉ (có phép hay không
phép) của học sinh"): one row per student — STT (number), Họ và tên — in register order (given name first,
edge/central/attendance/collation.py), one column per school day of the month, and in each cell only what a teacher
writes by hand: **P** an excused absence (nghỉ có phép), **K** an unexcused one (nghỉ không phép), **M** a late
arrival (đi muộn); a day the student came on time stays blank, as on paper. Then the student's totals (P, K, M and
days attended), one row of totals per day (attended, P, K, M), and the lines where the form teacher (Giáo viên chủ
nhiệm) and the principal (Hiệu trưởng) sign.

Every mark is THE attendance rule's verdict (edge/central/attendance/rule.py) through the range report
(edge/central/attendance/summary.py): the register, the downloads and the parents' notices agree. A school day not
yet judged (later this month, or today before the cut-off) is blank and counts nowhere — a register printed on the
15th has the rest of the month's columns ready to fill in, as a printed register has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from edge.central.attendance.edfi import school_year
from edge.central.attendance.labels import Lang
from edge.central.attendance.rule import Status
from edge.central.attendance.summary import RangeReport
from edge.roster import Person

MARKS: dict[Lang, dict[str, str]] = {
    # status → the letter written in the day's cell ('' blank)
    "vi": {str(Status.LATE): "M", str(Status.EXCUSED): "P", str(Status.ABSENT): "K"},
    "en": {str(Status.LATE): "L", str(Status.EXCUSED): "E", str(Status.ABSENT): "A"},
}
WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    # Monday first (date.weekday()); Vietnamese calls Monday "thứ hai" (T2) and Sunday "chủ nhật" (CN)
    "vi": ("T2", "T3", "T4", "T5", "T6", "T7", "CN"),
    "en": ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"),
}


@dataclass
class Counts:
    """Attended (on time or late), late, excused and unexcused absences."""

    attended: int = 0
    late: int = 0
    excused: int = 0
    absent: int = 0

    def add(self, status: str) -> None:
        if status in (Status.PRESENT, Status.LATE):
            self.attended += 1
        if status == Status.LATE:
            self.late += 1
        elif status == Status.EXCUSED:
            self.excused += 1
        elif status == Status.ABSENT:
            self.absent += 1


@dataclass
class RegisterRow:
    number: int
    """STT: the student's number in the register, from 1."""
    person: Person
    marks: list[str]
    """One per school day of the month: 'P', 'K', 'M' or ''."""
    totals: Counts


@dataclass
class ClassRegister:
    school_name: str
    class_name: str
    month: date
    """The first day of the month."""
    lang: Lang
    days: list[date]
    rows: list[RegisterRow]
    day_totals: list[Counts]
    totals: Counts = field(default_factory=Counts)

    @property
    def school_year(self) -> str:
        """'2026–2027' (a Vietnamese school year starts in August/September)."""
        end = school_year(self.month)
        return f"{end - 1}–{end}"

    def weekday(self, day: date) -> str:
        return WEEKDAYS[self.lang][day.weekday()]

    def letter(self, status: str) -> str:
        """The mark of 'excused', 'absent' or 'late' in this register's language (P, K, M in Vietnamese)."""
        return MARKS[self.lang][status]


def class_register(report: RangeReport, school_name: str, class_name: str, month: date, lang: Lang) -> ClassRegister:
    """The register of one class for the month `report` covers (the report of that class and month)."""
    marks = MARKS[lang]
    day_totals = [Counts() for _ in report.days]
    register = ClassRegister(school_name, class_name, month.replace(day=1), lang, list(report.days), [], day_totals)
    students = [p for p in report.students if p.class_name == class_name]
    for number, person in enumerate(students, start=1):
        totals = Counts()
        row: list[str] = []
        for i, record in enumerate(report.records[person.person_id]):
            status = str(record.status)
            row.append(marks.get(status, ""))
            totals.add(status)
            day_totals[i].add(status)
            register.totals.add(status)
        register.rows.append(RegisterRow(number, person, row, totals))
    return register
