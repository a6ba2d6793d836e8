"""SMS through a generic HTTP gateway: the school plugs in its provider with a URL, headers (auth from ${ENV}) and
a JSON body template.

Segments: an SMS is 160 GSM-7 characters or, with any other character (Vietnamese diacritics), 70 UCS-2 ones.
`ascii: true` writes Vietnamese without diacritics ("Minh Anh (6A) da den truong luc 07:12") so a message fits
one GSM-7 segment; `max_chars` cuts longer messages. Whether the provider drops a repeated key depends on it:
`idempotency_header` names the header it honours (null: it honours none).
"""

from __future__ import annotations

import json
import string
import unicodedata

from edge.central.notify.channels.base import (
    Outcome,
    PermanentFailure,
    RateLimiter,
    header_key,
    post,
)
from edge.central.notify.messages import Notice
from edge.config.central import SmsHttpChannel

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_NOT_DECOMPOSED = str.maketrans({"đ": "d", "Đ": "D"})


def without_diacritics(text: str) -> str:
    """Vietnamese without diacritics: 'Nguyễn Đức Anh đã đến' -> 'Nguyen Duc Anh da den'."""
    decomposed = unicodedata.normalize("NFD", text.translate(_NOT_DECOMPOSED))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def segment_limit(text: str) -> int:
    return 160 if all(c in GSM7 for c in text) else 70


def segments(text: str) -> int:
    """Concatenated SMS: 153 GSM-7 / 67 UCS-2 characters per segment once there is more than one."""
    single = segment_limit(text)
    if len(text) <= single:
        return 1
    per = 153 if single == 160 else 67
    return -(-len(text) // per)


def sms_text(text: str, *, ascii_only: bool, max_chars: int | None) -> str:
    out = without_diacritics(text) if ascii_only else text
    limit = max_chars
    if limit is not None and len(out) > limit:
        out = out[: limit - 1].rstrip() + "…" if not ascii_only else out[: limit - 3].rstrip() + "..."
    return out


class SmsHttp:
    def __init__(self, cfg: SmsHttpChannel) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.honours_idempotency = cfg.idempotency_header is not None
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)
        self._template = string.Template(cfg.body_template)

    def body(self, notice: Notice) -> bytes:
        text = sms_text(notice.text, ascii_only=self.cfg.ascii, max_chars=self.cfg.max_chars)
        return self._template.substitute(
            to=json.dumps(notice.phone), text=json.dumps(text, ensure_ascii=False), key=json.dumps(notice.key)
        ).encode()

    def send(self, notice: Notice) -> Outcome:
        if notice.phone is None:
            return PermanentFailure("guardian has no phone number")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "edge-notify/1"}
        headers.update(self.cfg.headers)
        if self.cfg.idempotency_header:
            headers[self.cfg.idempotency_header] = header_key(notice.key)
        return post(self.cfg.url, self.body(notice), headers, self.cfg.timeout_s)

    def close(self) -> None:
        pass
