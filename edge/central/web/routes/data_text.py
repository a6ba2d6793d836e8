"""Interface text of the Reports and Roster pages, in Vietnamese and English, added to the app's one table
(edge/central/web/i18n.py TEXT) when these routes are imported.

Why here and not in i18n.py: the data pages were written beside the app skeleton by another hand; keeping their
strings next to their routes keeps each author's file their own. A key already in the table is never replaced."""

from __future__ import annotations

from edge.central.web import i18n

TEXT: dict[str, tuple[str, str]] = {
    "reports.title": ("Báo cáo điểm danh", "Attendance reports"),
    "reports.class": ("Lớp", "Class"),
    "reports.all_classes": ("Tất cả các lớp", "All classes"),
    "reports.month": ("Tháng", "Month"),
    "reports.from": ("Từ ngày", "From"),
    "reports.to": ("Đến ngày", "To"),
    "reports.show": ("Xem", "Show"),
    "reports.range": ("{start} – {end} · {days} ngày học", "{start} – {end} · {days} school days"),
    "reports.summary": ("Tổng hợp theo học sinh", "Summary per student"),
    "reports.grid": ("Từng ngày", "Day by day"),
    "reports.grid_too_long": (
        "Bảng từng ngày chỉ hiện cho tối đa một tháng và vài lớp: chọn một lớp, hoặc xem trong tệp tải về.",
        "The day-by-day table is shown for up to a month and a few classes: choose a class, or see the downloads.",
    ),
    "reports.student": ("Học sinh", "Student"),
    "reports.school_days": ("Ngày học", "School days"),
    "reports.present": ("Đúng giờ", "On time"),
    "reports.late": ("Đi muộn", "Late"),
    "reports.absent": ("Vắng không phép", "Absent"),
    "reports.excused": ("Vắng có phép", "Excused"),
    "reports.early": ("Về sớm", "Left early"),
    "reports.rate": ("Tỷ lệ", "Rate"),
    "reports.downloads": ("Tải về", "Downloads"),
    "reports.csv_days": ("CSV (từng ngày)", "CSV (day by day)"),
    "reports.csv_summary": ("CSV (tổng hợp)", "CSV (summary)"),
    "reports.xlsx": ("Excel (XLSX)", "Excel (XLSX)"),
    "reports.edfi": ("Ed-Fi JSON (gửi Phòng/Sở)", "Ed-Fi JSON (for the district)"),
    "reports.none": ("Không có học sinh nào trong lựa chọn này.", "No students in this selection."),
    "reports.mark.present": ("✓", "✓"),
    "reports.mark.late": ("M", "L"),
    "reports.mark.absent": ("K", "A"),  # the register's letters (edge/central/attendance/register.py)
    "reports.mark.excused": ("P", "E"),
    "reports.mark.pending": ("·", "·"),
    "reports.mark.no_school": ("", ""),
    "reports.legend": (
        "✓ đúng giờ · M đi muộn · K vắng không phép · P vắng có phép · · chưa đến",
        "✓ on time · L late · A absent · E excused · · not yet",
    ),
    "reports.no_days": ("Không có ngày học nào trong khoảng này.", "No school days in this range."),
    "roster.title": ("Danh sách học sinh và phụ huynh", "Students and guardians"),
    "roster.current": (
        "Hiện có {students} học sinh, {guardians} phụ huynh.",
        "Currently {students} students, {guardians} guardians.",
    ),
    "roster.help": (
        "Tải lên tệp CSV (UTF-8) hoặc Excel (.xlsx), tối đa 2 MiB. Cột học sinh: person_id, name, class, "
        "card_uid, photos. Cột phụ huynh: person_id, name, phone, email, channel, language, kinds.",
        "Upload CSV (UTF-8) or Excel (.xlsx) files, up to 2 MiB. Student columns: person_id, name, class, "
        "card_uid, photos. Guardian columns: person_id, name, phone, email, channel, language, kinds.",
    ),
    "roster.students_file": ("Tệp học sinh", "Students file"),
    "roster.guardians_file": ("Tệp phụ huynh", "Guardians file"),
    "roster.preview": ("Xem trước thay đổi", "Preview the changes"),
    "roster.preview_title": ("Xem trước thay đổi", "Preview of the changes"),
    "roster.errors": (
        "Có lỗi: chưa thay đổi gì. Sửa các dòng sau rồi tải lên lại.",
        "There are errors: nothing was changed. Fix these rows and upload again.",
    ),
    "roster.row": ("Dòng", "Row"),
    "roster.file": ("Tệp", "File"),
    "roster.problem": ("Lỗi", "Problem"),
    "roster.students": ("Học sinh", "Students"),
    "roster.guardians": ("Phụ huynh", "Guardians"),
    "roster.added": ("Thêm ({n})", "Added ({n})"),
    "roster.changed": ("Thay đổi ({n})", "Changed ({n})"),
    "roster.removed": ("Xóa ({n})", "Removed ({n})"),
    "roster.no_change": ("Không thay đổi.", "No change."),
    "roster.apply": ("Áp dụng", "Apply"),
    "roster.cancel": ("Hủy", "Cancel"),
    "roster.applied": (
        "Đã cập nhật danh sách. Học sinh mới được tính từ hôm nay; học sinh không còn trong danh sách được tính "
        "đến hôm qua (lịch sử vẫn giữ). Các cổng nhận danh sách mới trong vài giây.",
        "The roster was updated. New students count from today; students no longer in it count until yesterday "
        "(their history stays). The gates get the new roster within seconds.",
    ),
    "roster.field": ("Trường", "Field"),
    "roster.before": ("Trước", "Before"),
    "roster.after": ("Sau", "After"),
    "roster.expired": (
        "Bản xem trước đã hết hạn hoặc không tồn tại: tải tệp lên lại.",
        "This preview expired or does not exist: upload the file again.",
    ),
    "roster.stale": (
        "Danh sách đã thay đổi sau khi xem trước: tải tệp lên lại.",
        "The roster changed after this preview: upload the file again.",
    ),
    "roster.warnings": ("Lưu ý", "Note"),
    "roster.problems_now": ("Dữ liệu của trường có vấn đề", "The school's data has problems"),
}


def register_text() -> None:
    for key, pair in TEXT.items():
        i18n.TEXT.setdefault(key, pair)
