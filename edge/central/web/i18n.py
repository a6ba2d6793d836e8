"""Interface text in Vietnamese (the default) and English. One table, keys in English words; a key missing from
the table is shown as itself (and a test lists every key the templates use, so none is missing).

The language comes from the `lang` cookie (set by the switch in the page header), else `vi`."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "edge_lang"

TEXT: dict[str, tuple[str, str]] = {
    # key: (vi, en)
    "app.title": ("Điểm danh", "Attendance"),
    "nav.today": ("Hôm nay", "Today"),
    "nav.gates": ("Cổng", "Gates"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.roster": ("Danh sách", "Roster"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "nav.api": ("API", "API"),
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "User name"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.failed": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "login.limited": (
        "Quá nhiều lần đăng nhập sai. Thử lại sau {minutes} phút.",
        "Too many failed logins. Try again in {minutes} min.",
    ),
    "login.busy": (
        "Máy chủ đang bận kiểm tra các lần đăng nhập khác. Vui lòng thử lại sau vài giây.",
        "The server is busy checking other logins. Please try again in a few seconds.",
    ),
    "login.expired": ("Phiên đã hết hạn, vui lòng đăng nhập lại.", "Your session expired; please log in again."),
    "status.present": ("Có mặt", "Present"),
    "status.late": ("Đi muộn", "Late"),
    "status.absent": ("Vắng", "Absent"),
    "status.excused": ("Vắng có phép", "Excused"),
    "status.pending": ("Chưa đến", "Not yet"),
    "status.no_school": ("Nghỉ", "No school"),
    "today.title": ("Hôm nay", "Today"),
    "today.class": ("Lớp", "Class"),
    "today.students": ("Sĩ số", "Students"),
    "today.recent": ("Lượt quẹt gần đây", "Recent check-ins"),
    "today.live": ("Trực tiếp", "Live"),
    "today.offline": ("Mất kết nối, đang thử lại…", "Disconnected, retrying…"),
    "today.no_school": ("Hôm nay không có tiết học: {reason}", "No school today: {reason}"),
    "today.total": ("Toàn trường", "Whole school"),
    "today.directory_problems": (
        "Danh sách học sinh/phụ huynh mới có lỗi; trang vẫn dùng bản trước:",
        "The new roster/guardians file has problems; the previous one is still in use:",
    ),
    "class.title": ("Lớp {name} — {day}", "Class {name} — {day}"),
    "class.student": ("Học sinh", "Student"),
    "class.first_in": ("Vào lúc", "First in"),
    "class.last_out": ("Ra lúc", "Last out"),
    "class.status": ("Trạng thái", "Status"),
    "class.method": ("Cách", "Method"),
    "class.notices": ("Tin nhắn", "Notices"),
    "class.excuse": ("Cho phép vắng", "Excuse"),
    "class.reason": ("Lý do", "Reason"),
    "class.unexcuse": ("Bỏ cho phép", "Remove excuse"),
    "class.prev": ("← Hôm trước", "← Previous day"),
    "class.next": ("Hôm sau →", "Next day →"),
    "class.excused_by": ("Có phép ({by}): {reason}", "Excused ({by}): {reason}"),
    "student.title": ("Học sinh", "Student"),
    "student.class": ("Lớp", "Class"),
    "student.card": ("Mã thẻ", "Card UID"),
    "student.face": ("Đã đăng ký khuôn mặt", "Face enrolled"),
    "student.guardians": ("Phụ huynh", "Guardians"),
    "student.history": ("Lịch sử tháng {month}", "History for {month}"),
    "student.day": ("Ngày", "Day"),
    "student.summary": (
        "Có mặt {present}, muộn {late}, vắng {absent}, có phép {excused}",
        "Present {present}, late {late}, absent {absent}, excused {excused}",
    ),
    "face.unknown": (
        "Chưa rõ (máy chủ web chưa nối tới kho khuôn mặt trung tâm: --centre).",
        "Not known (this server has no link to the centre's galleries: --centre).",
    ),
    "face.yes": ("Có ({n} mẫu, {model})", "Yes ({n} templates, {model})"),
    "face.photo": ("Ảnh chân dung (JPEG/PNG, tối đa {mb} MB)", "Portrait photo (JPEG/PNG, at most {mb} MB)"),
    "face.enrol": ("Đăng ký khuôn mặt", "Enrol face"),
    "face.remove": ("Xóa khuôn mặt", "Remove face"),
    "face.not_kept": (
        "Ảnh không được lưu lại: chỉ lưu mẫu khuôn mặt (đã mã hóa) trong kho trung tâm.",
        "The photo is not kept: only the face template is stored, sealed, in the centre's gallery.",
    ),
    "face.done_enrolled": ("Đã đăng ký khuôn mặt.", "Face enrolled."),
    "face.done_removed": ("Đã xóa khuôn mặt.", "Face removed."),
    "face.published": (
        "Đã gửi bộ mẫu phiên bản {version} tới các cổng.",
        "Gallery version {version} sent to the gates.",
    ),
    "face.not_published": ("Chưa gửi tới các cổng: {detail}", "Not sent to the gates yet: {detail}"),
    "face.err.not_image": ("Tệp không phải ảnh JPEG hoặc PNG.", "The file is not a JPEG or PNG photo."),
    "face.err.too_large": ("Tệp quá lớn.", "The file is too large."),
    "face.err.too_large_picture": ("Ảnh quá nhiều điểm ảnh.", "The picture has too many pixels."),
    "face.err.too_small_picture": ("Ảnh quá nhỏ.", "The picture is too small."),
    "face.err.no_photo": ("Hãy chọn một ảnh.", "Choose a photo."),
    "face.err.no_face": ("Không tìm thấy khuôn mặt trong ảnh.", "No face found in the photo."),
    "face.err.several_faces": ("Ảnh có nhiều khuôn mặt.", "The photo shows several faces."),
    "face.err.face_too_small": ("Khuôn mặt quá nhỏ: chụp gần hơn.", "The face is too small: take it closer."),
    "face.err.blurred": ("Ảnh bị mờ.", "The photo is blurred."),
    "face.err.too_many": ("Đã có đủ ảnh cho học sinh này.", "This student has enough photos already."),
    "face.err.already_enrolled": ("Ảnh này đã được đăng ký.", "This photo is enrolled already."),
    "face.err.not_enrolled": ("Học sinh chưa đăng ký khuôn mặt.", "This student has no face enrolled."),
    "face.err.gallery": ("Không mở được kho khuôn mặt trung tâm.", "The centre's gallery cannot be used."),
    "face.err.bad_form": ("Biểu mẫu không hợp lệ.", "The form is not valid."),
    "gates.title": ("Cổng", "Gates"),
    "gates.gateway": ("Thiết bị", "Gateway"),
    "gates.state": ("Trạng thái", "State"),
    "gates.online": ("Hoạt động", "Online"),
    "gates.offline": ("Mất kết nối", "Offline"),
    "gates.stopped": ("Đã dừng", "Stopped"),
    "gates.unknown": ("Chưa rõ", "Unknown"),
    "gates.last_seen": ("Lần cuối", "Last seen"),
    "gates.outbox": ("Hàng đợi", "Outbox"),
    "gates.fps": ("Khung hình/giây", "FPS"),
    "gates.alarms": ("Cảnh báo", "Alarms"),
    "gates.version": ("Phiên bản", "Version"),
    "gates.open": ("Mở cổng", "Open gate"),
    "gates.result_ok": ("Đã mở: {detail}", "Opened: {detail}"),
    "gates.result_fail": ("Không mở được: {detail}", "Not opened: {detail}"),
    "gates.none": ("Chưa có thiết bị nào báo về.", "No gateway has reported yet."),
    "gates.no_link": (
        "Máy chủ web chưa kết nối tới MQTT (--pki/--identity).",
        "The web server has no MQTT link (--pki/--identity).",
    ),
    "admin.users": ("Tài khoản", "Accounts"),
    "admin.audit": ("Nhật ký thao tác", "Audit log"),
    "admin.role": ("Vai trò", "Role"),
    "admin.school": ("Trường", "School"),
    "admin.classes": ("Lớp", "Classes"),
    "admin.add": ("Thêm tài khoản", "Add an account"),
    "admin.disable": ("Khóa", "Disable"),
    "admin.enable": ("Mở khóa", "Enable"),
    "admin.when": ("Lúc", "When"),
    "admin.who": ("Ai", "Who"),
    "admin.what": ("Việc", "What"),
    "admin.detail": ("Chi tiết", "Detail"),
    "admin.from": ("Từ", "From"),
    "common.yes": ("Có", "Yes"),
    "common.no": ("Không", "No"),
    "common.save": ("Lưu", "Save"),
    "common.none": ("—", "—"),
    "method.card": ("Thẻ", "Card"),
    "method.face": ("Khuôn mặt", "Face"),
    "method.card+face": ("Thẻ + mặt", "Card + face"),
    "error.title": ("Lỗi", "Error"),
    "error.403": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "error.404": ("Không tìm thấy.", "Not found."),
    "error.422": ("Dữ liệu không hợp lệ.", "Invalid input."),
    "error.csrf": ("Biểu mẫu đã hết hạn; tải lại trang và thử lại.", "The form expired; reload the page and retry."),
}


def translate(lang: str, key: str, **fields: object) -> str:
    pair = TEXT.get(key)
    text = key if pair is None else pair[0 if lang == "vi" else 1]
    return text.format(**fields) if fields else text


def translator(lang: str) -> Callable[..., str]:
    lang = lang if lang in LANGUAGES else DEFAULT

    def t(key: str, **fields: object) -> str:
        return translate(lang, key, **fields)

    return t


def pick(cookie: str | None, accept_language: str | None = None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    return DEFAULT


# --- Printable registers, register order and localised downloads (issue #23, items 3, 4, 6) ----------------------
TEXT.update(
    {
        "reports.edfi_missing": (
            "Ed-Fi: trường chưa có mã số Ed-Fi (edfi_school_id trong central.yaml).",
            "Ed-Fi: this school has no Ed-Fi number yet (edfi_school_id in central.yaml).",
        ),
    }
)
TEXT.update(
    {
        "register.title": ("SỔ ĐIỂM DANH", "CLASS ATTENDANCE REGISTER"),
        "register.subtitle": (
            "Lớp {cls} · Tháng {month} · Năm học {year}",
            "Class {cls} · Month {month} · School year {year}",
        ),
        "register.no": ("STT", "No."),
        "register.name": ("Họ và tên", "Full name"),
        "register.totals": ("Tổng cộng", "Totals"),
        "register.attended": ("CM", "In"),
        "register.attended_long": ("Số ngày có mặt", "Days attended"),
        "register.excused_long": ("Số ngày nghỉ có phép", "Excused absences"),
        "register.absent_long": ("Số ngày nghỉ không phép", "Unexcused absences"),
        "register.late_long": ("Số lần đi muộn", "Late arrivals"),
        "register.day_attended": ("Có mặt", "Present"),
        "register.day_excused": ("Nghỉ có phép ({letter})", "Excused ({letter})"),
        "register.day_absent": ("Nghỉ không phép ({letter})", "Unexcused ({letter})"),
        "register.day_late": ("Đi muộn ({letter})", "Late ({letter})"),
        "register.legend": (
            "{excused}: nghỉ có phép · {absent}: nghỉ không phép · {late}: đi muộn · ô trống: có mặt đúng giờ "
            "(hoặc ngày chưa đến) · CM: số ngày có mặt · {students} học sinh, {days} ngày học.",
            "{excused}: excused absence · {absent}: unexcused absence · {late}: late · blank: on time (or a day not "
            "yet come) · In: days attended · {students} students, {days} school days.",
        ),
        "register.teacher": ("Giáo viên chủ nhiệm", "Form teacher"),
        "register.principal": ("Hiệu trưởng", "Principal"),
        "register.sign": ("(Ký, ghi rõ họ tên)", "(Signature and full name)"),
        "register.sign_seal": ("(Ký tên, đóng dấu)", "(Signature and school seal)"),
        "register.place_date": ("…………, ngày …… tháng …… năm 20……", "…………, date ……………………"),
        "register.prev": ("← Tháng trước", "← Previous month"),
        "register.next": ("Tháng sau →", "Next month →"),
        "register.pdf": ("Tải PDF để in và lưu", "Download the PDF to print and file"),
        "register.back": ("Về trang lớp", "Back to the class"),
        "register.print_hint": ("In trực tiếp: Ctrl+P (khổ A4 ngang).", "Print directly: Ctrl+P (A4 landscape)."),
        "register.link": ("Sổ điểm danh tháng {month}", "Register for {month}"),
        "register.choose_class": (
            "Sổ điểm danh để in: chọn một lớp.",
            "Printable register: choose a class.",
        ),
    }
)


# --- Parents, consent and the child's data (issue #24) -------------------------------------------------------------
def _parents_text() -> dict[str, tuple[str, str]]:
    from edge.central.web.i18n_parents import TEXT as PARENTS

    return PARENTS


TEXT.update(_parents_text())
