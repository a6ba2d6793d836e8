"""Words of the consent box, the child's data document and the parents' pages (#24), both languages; merged into
i18n.TEXT, kept apart so that file does not grow with every feature."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "consent.title": ("Đồng ý nhận diện khuôn mặt", "Consent to face recognition"),
    "consent.none": (
        "Chưa có sự đồng ý: không thể đăng ký khuôn mặt (thẻ vẫn dùng được).",
        "No consent recorded: no face can be enrolled (the card works as before).",
    ),
    "consent.given": ("Đã đồng ý: {by} ({how})", "Given by {by} ({how})"),
    "consent.withdrawn": ("Đã rút lại: {by} ({how})", "Withdrawn by {by} ({how})"),
    "consent.given_by": ("Người đồng ý (phụ huynh)", "Given by (guardian)"),
    "consent.withdrawn_by": ("Người rút lại (phụ huynh)", "Withdrawn by (guardian)"),
    "consent.note": ("Ghi chú", "Note"),
    "consent.record_paper": ("Ghi nhận phiếu đồng ý giấy", "Record a paper consent form"),
    "consent.withdraw": ("Rút lại sự đồng ý và xóa khuôn mặt", "Withdraw consent and delete the face"),
    "consent.done_given": ("Đã ghi nhận sự đồng ý.", "Consent recorded."),
    "consent.done_withdrawn": (
        "Đã rút lại sự đồng ý; mẫu khuôn mặt đã bị xóa ở trung tâm.",
        "Consent withdrawn; the face templates are deleted at the centre.",
    ),
    "consent.err.input": ("Không ghi nhận được.", "Not recorded."),
    "consent.err.not_removed": (
        "Đã rút lại sự đồng ý, nhưng chưa xóa được mẫu khuôn mặt: bấm “Xóa khuôn mặt” để thử lại.",
        "Consent withdrawn, but the face templates could not be deleted yet: press “Remove face” to retry.",
    ),
    "consent.history": ("Lịch sử đồng ý", "Consent history"),
    "consent.action.given": ("Đồng ý", "Given"),
    "consent.action.withdrawn": ("Rút lại", "Withdrawn"),
    "consent.method.paper": ("phiếu giấy", "paper form"),
    "consent.method.app": ("ứng dụng phụ huynh", "parents' app"),
    "consent.data_html": ("Tải dữ liệu của học sinh (tài liệu)", "Download the child's data (document)"),
    "consent.data_json": ("Tải dữ liệu (JSON)", "Download the data (JSON)"),
    "consent.gateways": ("Phiên bản bộ mẫu tại các cổng:", "Gallery version at each gateway:"),
    "face.err.no_consent": (
        "Chưa có sự đồng ý nhận diện khuôn mặt cho học sinh này: ghi nhận trước.",
        "No consent to face recognition is recorded for this student: record it first.",
    ),
    "data.title": ("Dữ liệu nhà trường lưu về học sinh", "The data the school holds about the child"),
    "data.generated": ("Lập lúc {at}", "Generated at {at}"),
    "data.record": ("Hồ sơ", "Record"),
    "data.person_id": ("Mã học sinh", "Student ID"),
    "data.enrolled": ("Thời gian học", "Enrolled"),
    "data.checkins": ("Lượt qua cổng ({n})", "Check-ins ({n})"),
    "data.gate": ("Cổng", "Gate"),
    "data.decision": ("Kết quả", "Decision"),
    "data.excuses": ("Vắng có phép", "Excused days"),
    "data.notices": ("Tin nhắn đã gửi ({n})", "Notices sent ({n})"),
    "data.kind": ("Loại", "Kind"),
    "data.channel": ("Kênh", "Channel"),
    "data.text": ("Nội dung", "Text"),
}
