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
    "face.one_template": (
        "Chỉ có một ảnh: nhận diện kém tin cậy hơn, hãy thêm một ảnh nữa.",
        "Only one photo: recognition is less reliable, add another one.",
    ),
    "face.no_template": (
        "Cổng không nhận diện được học sinh này bằng khuôn mặt (chỉ bằng thẻ) cho tới khi đăng ký một ảnh dùng được.",
        "The gate cannot recognise this student by face (card only) until a usable photo is enrolled.",
    ),
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
    "face.err.several_faces": (
        "Ảnh có một khuôn mặt khác cỡ tương đương: mỗi ảnh chỉ một học sinh.",
        "The photo shows another face of similar size: one student per photo.",
    ),
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
    "gates.dead_letters": ("Lượt quẹt bị từ chối", "Refused check-ins (dead letters)"),
    "gates.dead_letters_note": (
        "Lượt quẹt mà máy chủ đã từ chối (ví dụ: thiết bị chưa được đăng ký). Gửi lại sẽ kiểm tra lại với danh sách"
        " thiết bị hiện tại và lưu mỗi lượt đúng một lần.",
        "Check-ins the centre refused (e.g. a gateway not yet registered). A replay checks them again against the"
        " current list of gateways and stores each one exactly once.",
    ),
    "gates.no_dead_letters": ("Không có lượt quẹt nào bị từ chối.", "No refused check-ins."),
    "gates.reason": ("Lý do", "Reason"),
    "gates.dl_pending": ("Chưa lưu", "Not stored"),
    "gates.dl_stored": ("Đã lưu", "Stored"),
    "gates.replay": ("Gửi lại", "Replay"),
    "gates.replay_stored": ("Đã lưu lượt quẹt ({detail}).", "Check-in stored ({detail})."),
    "gates.replay_already_stored": ("Lượt quẹt này đã được lưu trước đó.", "This check-in was already stored."),
    "gates.replay_refused": ("Vẫn bị từ chối: {detail}", "Still refused: {detail}"),
    "gates.replay_not_found": ("Không tìm thấy.", "Not found."),
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
    "admin.edit": ("Sửa", "Edit"),
    "admin.save": ("Lưu", "Save"),
    "admin.new_password": ("Mật khẩu mới", "New password"),
    "admin.set_password": ("Đặt mật khẩu", "Set password"),
    "admin.refused": ("Không thực hiện được: {detail}", "Not done: {detail}"),
    "admin.least_privilege": (
        "Tài khoản mới mặc định là giáo viên chưa có lớp: không xem được học sinh nào và không mở được cổng cho đến"
        " khi được giao lớp hoặc vai trò khác. Lớp phải viết đúng như trong danh sách học sinh.",
        "A new account is by default a teacher with no classes: it sees no pupil and opens no gate until it is"
        " given classes or another role. Classes must be spelt as the roster writes them.",
    ),
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
    "gates.alarm.down": ("Cổng ở {school} không ổn định:", "The gates at {school} are down:"),
    "gates.alarm.subject": ("Cổng không ổn định — {school}", "Gates down — {school}"),
    "gates.alarm.down_note": (
        "Thông báo vắng mặt sẽ bị giữ lại cho đến khi văn phòng xem xét.",
        "Absence notices will be held until the office reviews them.",
    ),
    "gates.reason.now": ("bây giờ", "now"),
    "gates.reason.unreadable": (
        "không đọc được tình trạng cổng trong cơ sở dữ liệu",
        "the gates' health cannot be read",
    ),
    "gates.reason.collector_never": (
        "chưa có bộ thu (collector) nào ghi nhận vào cơ sở dữ liệu này",
        "no collector has ever reported to this store",
    ),
    "gates.reason.collector_down": (
        "bộ thu (collector) mất kết nối từ {since} đến {until}",
        "no collector connected from {since} to {until}",
    ),
    "gates.reason.no_gateways": ("trường chưa đăng ký thiết bị cổng nào", "no gateway is registered for this school"),
    "gates.reason.gateway_never": (
        "chưa từng nhận được tin từ thiết bị {gateway}",
        "gateway {gateway} has never been seen",
    ),
    "gates.reason.gateway_down": (
        "thiết bị {gateway}: {status} từ {since} đến {until}",
        "gateway {gateway} {status} from {since} to {until}",
    ),
    "gates.reason.gateway_silent": ("thiết bị {gateway} im lặng từ {since}", "gateway {gateway} silent since {since}"),
    "gates.reason.gateway_no_health": (
        "thiết bị {gateway} không gửi báo cáo tình trạng từ {since}",
        "gateway {gateway} sent no health report since {since}",
    ),
    "gates.reason.gateway_backlog": (
        "thiết bị {gateway} còn {count} lượt quẹt chưa gửi được",
        "gateway {gateway} has {count} check-in(s) stuck in its outbox",
    ),
    "gates.reason.no_checkins": ("hôm nay chưa có lượt quẹt nào", "no check-in at all today"),
    "nav.holds": ("Thông báo giữ lại", "Held notices"),
    "holds.title": ("Thông báo vắng mặt bị giữ lại", "Held absence notices"),
    "holds.banner": (
        "{n} đợt thông báo vắng mặt đang bị giữ lại vì cổng không ổn định.",
        "{n} batch(es) of absence notices held because the gates were not healthy.",
    ),
    "holds.review": ("Xem xét", "Review"),
    "holds.none": ("Không có đợt thông báo nào bị giữ lại.", "No batch of notices has been held."),
    "holds.batch": ("Ngày {day}, giờ chốt {cutoff}", "{day}, cut-off {cutoff}"),
    "holds.reasons": ("Lý do giữ lại", "Why it was held"),
    "holds.students": ("{n} học sinh, {notices} thông báo", "{n} student(s), {notices} notice(s)"),
    "holds.student": ("Học sinh", "Student"),
    "holds.class": ("Lớp", "Class"),
    "holds.guardian": ("Phụ huynh", "Guardian"),
    "holds.channel": ("Kênh", "Channel"),
    "holds.release": ("Gửi (kiểm tra lại từng học sinh)", "Release (each student judged again)"),
    "holds.release_note": (
        "Khi gửi, học sinh đã đến trường (lượt quẹt đã về sau khi cổng hoạt động lại) sẽ không bị báo vắng.",
        "On release, a student whose tap has arrived since (the gates back up) gets no absence notice.",
    ),
    "holds.drop": ("Huỷ, không gửi", "Drop (send nothing)"),
    "holds.status.held": ("Đang giữ", "Held"),
    "holds.status.releasing": ("Đang gửi…", "Releasing…"),
    "holds.status.released": ("Đã gửi", "Released"),
    "holds.status.dropped": ("Đã huỷ", "Dropped"),
    "holds.decided": ("{who} lúc {at}", "{who} at {at}"),
    "holds.outcome": (
        "{queued} thông báo đã gửi, {arrived} học sinh đã đến trường sau đó",
        "{queued} notice(s) queued, {arrived} student(s) had arrived since",
    ),
    "holds.gates_still_down": (
        "Cổng vẫn chưa ổn định: gửi lúc này có thể báo vắng nhầm.",
        "The gates are still down: releasing now may send false absence notices.",
    ),
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


# --- The office's words: roster columns, template/export, Excel warnings, calendar editor, bulk excuses, unknown
# cards, navigation (issue #23, items 2 and 5) --------------------------------------------------------------------
TEXT.update(
    {
        "nav.today_of": ("Hôm nay · {school}", "Today · {school}"),
        "nav.class": ("Lớp {name}", "Class {name}"),
        "nav.unknown_cards": ("Thẻ lạ", "Unknown cards"),
        "nav.calendar": ("Lịch học", "Calendar"),
        "office.roster_template": ("Tải tệp mẫu (XLSX)", "Download the template (XLSX)"),
        "office.roster_export_xlsx": ("Xuất danh sách hiện tại (XLSX)", "Export the current roster (XLSX)"),
        "office.roster_export_csv": ("Xuất danh sách hiện tại (CSV)", "Export the current roster (CSV)"),
        "office.columns_title": ("Tên cột được chấp nhận", "Accepted column names"),
        "office.columns_help": (
            "Dòng đầu tiên có thể dùng tên cột tiếng Việt hoặc tiếng Anh; không phân biệt hoa thường, dấu và "
            "khoảng trắng.",
            "The first row may use Vietnamese or English column names; case, diacritics and spaces are ignored.",
        ),
        "office.column": ("Cột", "Column"),
        "office.students_words": ("Tên khác được chấp nhận (học sinh)", "Other accepted names (students)"),
        "office.guardians_words": ("Tên khác được chấp nhận (phụ huynh)", "Other accepted names (guardians)"),
        "office.excel_warnings": (
            "{n} ô có thể đã bị Excel đổi: kiểm tra trước khi áp dụng",
            "{n} cells Excel may have changed: check them before applying",
        ),
        "rostercol.person_id": ("Mã học sinh", "Student ID"),
        "rostercol.name": ("Họ và tên", "Full name"),
        "rostercol.class": ("Lớp", "Class"),
        "rostercol.card_uid": ("Mã thẻ", "Card UID"),
        "rostercol.photos": ("Ảnh", "Photos"),
        "rostercol.enrolled_from": ("Ngày nhập học", "Enrolled from"),
        "rostercol.enrolled_until": ("Ngày thôi học", "Enrolled until"),
        "rostercol.phone": ("Số điện thoại", "Phone"),
        "rostercol.email": ("Email", "E-mail"),
        "rostercol.channel": ("Kênh", "Channel"),
        "rostercol.language": ("Ngôn ngữ", "Language"),
        "rostercol.kinds": ("Loại tin", "Notices"),
        "rostercol.guardian_id": ("Mã phụ huynh", "Guardian ID"),
        "office.calendar_title": ("Lịch học", "School calendar"),
        "office.calendar_saved": (
            "Đã lưu lịch. Hệ thống áp dụng ngay (nhắn tin, điểm danh).",
            "The calendar was saved; notices and attendance follow it at once.",
        ),
        "office.remove": ("Xoá", "Remove"),
        "office.check_day": ("Kiểm tra ngày", "Check a day"),
        "office.check": ("Kiểm tra", "Check"),
        "office.school_day": ("có học", "school day"),
        "office.no_school_day": ("nghỉ học", "no school"),
        "office.why_before_go_live": ("trước ngày bắt đầu dùng hệ thống {d}", "before the go-live date {d}"),
        "office.why_makeup": ("ngày học bù: {name}", "make-up school day: {name}"),
        "office.why_no_term": ("ngoài mọi học kỳ", "outside every term"),
        "office.why_holiday": ("ngày nghỉ: {name}", "holiday: {name}"),
        "office.why_weekend": ("{wd} không phải ngày học trong tuần", "{wd} is not a school weekday"),
        "office.why_term": ("{wd}, {name} ({start} – {end})", "{wd} in {name} ({start} – {end})"),
        "office.why_other": ("{reason}", "{reason}"),
        "office.wd_mon": ("Thứ Hai", "Monday"),
        "office.wd_tue": ("Thứ Ba", "Tuesday"),
        "office.wd_wed": ("Thứ Tư", "Wednesday"),
        "office.wd_thu": ("Thứ Năm", "Thursday"),
        "office.wd_fri": ("Thứ Sáu", "Friday"),
        "office.wd_sat": ("Thứ Bảy", "Saturday"),
        "office.wd_sun": ("Chủ Nhật", "Sunday"),
        "office.holidays": ("Ngày nghỉ", "Holidays"),
        "office.makeup_days": ("Ngày học bù", "Make-up school days"),
        "office.none": ("Chưa có.", "None."),
        "office.kind": ("Loại", "Kind"),
        "office.holiday": ("Ngày nghỉ", "Holiday"),
        "office.makeup": ("Ngày học bù", "Make-up day"),
        "office.name": ("Tên", "Name"),
        "office.from": ("Từ ngày", "From"),
        "office.to": ("Đến ngày", "To"),
        "office.add": ("Thêm", "Add"),
        "office.terms": ("Học kỳ", "Terms"),
        "office.times": ("Giờ vào lớp và tan học", "Cut-off and dismissal times"),
        "office.cutoff": ("Giờ vào lớp (sau giờ này: muộn)", "Cut-off (late after)"),
        "office.dismissal": ("Giờ tan học", "Dismissal"),
        "office.school_default": ("Cả trường (mặc định)", "Whole school (default)"),
        "office.grade": ("Khối {name}", "Grade {name}"),
        "office.class": ("Lớp {name}", "Class {name}"),
        "office.for": ("Áp dụng cho", "For"),
        "office.a_class": ("Một lớp", "A class"),
        "office.a_grade": ("Một khối", "A grade"),
        "office.class_or_grade": ("Lớp hoặc khối", "Class or grade"),
        "office.times_help": (
            "Để trống cả hai giờ để bỏ giờ riêng của lớp/khối (dùng giờ mặc định).",
            "Leave both times empty to remove a class's or grade's own times (the defaults apply).",
        ),
        "office.go_live": ("Ngày bắt đầu dùng hệ thống", "Go-live date"),
        "office.go_live_day": ("Ngày", "Day"),
        "office.go_live_help": (
            "Trước ngày này không tính vắng mặt. Để trống: mọi ngày trong học kỳ đều tính.",
            "No absence counts before this day. Empty: every term day counts.",
        ),
        "office.cal_bad_name": ("Cần có tên (tối đa {n} ký tự).", "A name is required (at most {n} characters)."),
        "office.cal_end_before_start": ("Ngày kết thúc trước ngày bắt đầu.", "The end is before the start."),
        "office.cal_gone": (
            "Mục này không còn (có người vừa sửa lịch). Tải lại trang.",
            "That entry is gone (someone just edited the calendar). Reload the page.",
        ),
        "office.cal_last_term": ("Không thể xoá học kỳ cuối cùng.", "The last term cannot be removed."),
        "office.cal_bad_time": ("Giờ không hợp lệ {value}: dùng dạng HH:MM.", "Not a time {value}: use HH:MM."),
        "office.cal_no_school": ("Trường chưa có trong hệ thống.", "The school is not in the store."),
        "office.cal_invalid": ("Lịch không hợp lệ: {detail}", "Not a valid calendar: {detail}"),
        "office.unknown_title": ("Thẻ lạ", "Unknown cards"),
        "office.period_today": ("Hôm nay", "Today"),
        "office.period_week": ("7 ngày qua", "Last 7 days"),
        "office.unknown_help": (
            "{n} lần quẹt thẻ không thuộc học sinh nào, {first} – {last}. Chỉ hiện 6 ký tự cuối của mã thẻ.",
            "{n} taps of cards no student holds, {first} – {last}. Only the card's last 6 characters are shown.",
        ),
        "office.time": ("Thời gian", "Time"),
        "office.gate": ("Cổng", "Gate"),
        "office.card": ("Thẻ", "Card"),
        "office.unknown_none": ("Không có thẻ lạ.", "No unknown cards."),
        "office.excuse_too_long": (
            "Tối đa {n} ngày một lần; hãy chia thành nhiều lần.",
            "At most {n} days at once; split the range.",
        ),
        "office.excuse_no_students": ("Hãy chọn ít nhất một học sinh.", "Choose at least one student."),
        "office.excuse_no_school_days": (
            "Khoảng ngày này không có ngày học nào.",
            "There is no school day in this range.",
        ),
        "office.excuse_no_reason": ("Cần có lý do.", "A reason is required."),
        "office.control_char": (
            "Văn bản chứa ký tự điều khiển (không nhìn thấy): hãy gõ lại.",
            "The text holds a control (invisible) character: type it again.",
        ),
        "office.id": ("Mã", "ID"),
        "office.back": ("← Quay lại", "← Back"),
        "office.excuse_range": ("Cho phép vắng nhiều học sinh / nhiều ngày", "Excuse several students / days"),
        "office.excuse_range_done": ("Đã ghi {n} ngày vắng có phép.", "{n} excused days recorded."),
        "office.excuse_range_submit": ("Cho phép vắng", "Excuse"),
        "office.excuse_range_help": (
            "Chỉ tính các ngày học trong khoảng (bỏ qua ngày nghỉ, cuối tuần). Có thể nhập trước cho ngày tới: "
            "phụ huynh sẽ không nhận tin báo vắng.",
            "Only the school days of the range count (holidays and weekends are skipped). Future days may be "
            "entered ahead: guardians then get no absence notice.",
        ),
    }
)


# --- Parents, consent and the child's data (issue #24) -------------------------------------------------------------
def _parents_text() -> dict[str, tuple[str, str]]:
    from edge.central.web.i18n_parents import TEXT as PARENTS

    return PARENTS


TEXT.update(_parents_text())
