"""Zalo Notification Service (ZNS): an approved template message to the guardian's phone through the school's
Official Account.

Request (ZNS "send by phone number"): POST https://business.openapi.zalo.me/message/template, header
`access_token: <the OA's token>`, JSON body
    {"phone": "84912345678", "template_id": "231456", "template_data": {"student_name": "Minh Anh", ...},
     "tracking_id": "<the notice's key>", "mode": "development"}        (mode only in development)
answered HTTP 200 with {"error": 0, "message": "Success", "data": {"msg_id": "…", "sent_time": "…",
"quota": {"dailyQuota": "…", "remainingQuota": "…"}}} or a negative `error` and its `message`.

- phone: digits in international form without '+' (E.164 '+84912345678' -> '84912345678').
- template_id and template_data: per message (arrived, arrived_late, absent, left, and sign_in: the parents' app
  code, an OTP-type template sent straight from edge/central/parents/signin.py, never queued) and language, from
  central.yaml; a language without its own template uses the Vietnamese one, a late arrival without its own the
  arrival's. Parameters are filled from the notice's fields (name, class_name, time, gate, school, cutoff, day,
  code).
- length limits: each parameter is cut (with '…') to the limit of the ZNS parameter type it is registered as —
  customer name 30, custom label 30, time 20, OTP 10 characters (Zalo's parameter types); `limits` in the template's
  config overrides per parameter for other types (address 200, brand 200, …).
- tracking_id: the notice's idempotency key (Zalo keeps it for reconciliation; a key over 48 characters, ZNS's
  limit, is replaced by a stable 'h-' digest of it). Zalo does not document dropping a repeated tracking_id, so
  `honours_idempotency` is False.
- development mode: `"mode": "development"` — delivered only to the OA's admins, no quota charged.

Error codes -> what the notifier does (source: Zalo Cloud, "Cách xử lý mã lỗi",
https://zalo.cloud/zns/guidelines/handle-error-code; -100…-112 read there, the rest by their names on the same
table as listed by https://helpdesk.getfly.vn/web-version/interactive-blocks/questions-about-zns — check the
numbers against the page when Zalo revises it. Checked again for #24: -100…-111 as on Zalo's page; that list also
names "QR code cannot be generated" between template data invalid and button invalid without a number, and
-118 = "Zalo account not existed" as integrations that branch on it use, so the numbers below are not shifted by
it; tests/test_notify_zalo.py answers each code from the local endpoint and checks the action):

    code   meaning                                              action
    0      success                                              accepted
    -100   unknown error ("try again later")                    retry
    -101…-105  application invalid / not existed / not activated / bad secret / not linked to an OA
                                                                dead-letter (fix the OA setup, `notify retry`)
    -106   method unsupported                                   dead-letter
    -107   message id invalid                                   dead-letter
    -108   phone number invalid                                 dead-letter (fix guardians.csv)
    -109   template id invalid                                  dead-letter (fix central.yaml)
    -110   recipient's Zalo version unsupported                 dead-letter
    -111, -112  template data empty / invalid                   dead-letter
    -113   button invalid                                       dead-letter
    -114   user inactive, refuses ZNS, or other internal error  dead-letter
    -115   out of quota (ZNS balance)                           retry after 300 s (the school tops up)
    -116   text invalid                                         dead-letter
    -117   OA/app has no permission for this template           dead-letter
    -118   Zalo account does not exist                          dead-letter
    -119   account cannot receive ZNS                           dead-letter
    -124   access token invalid (expired: an OA token lives 25 h) retry: the jobs wait for a new token
    -131   template not approved                                dead-letter
    -133   outside the hours ZNS may be sent                    retry after 600 s
    -139   recipient refused this kind of ZNS                   dead-letter
    -144   OA over its daily quota                              dead-letter (a notice is stale tomorrow)
    -147   template over its daily quota                        dead-letter
    other negative codes                                        retry (bounded by max_attempts): unknown ≠ lost
    HTTP 408/425/429/5xx, network errors                        retry (Retry-After honoured)
    other HTTP 4xx                                              dead-letter
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from edge.central.notify.channels.base import (
    Accepted,
    Outcome,
    PermanentFailure,
    RateLimiter,
    RetryAfter,
    http_outcome,
)
from edge.central.notify.messages import Notice
from edge.config.central import ZNS_DEFAULT_LIMITS, ZaloZnsChannel, ZnsTemplate

MAX_TRACKING_ID = 48
RETRY_CODES: dict[int, float | None] = {-100: None, -115: 300.0, -124: None, -133: 600.0}
"""ZNS error -> the wait it asks for (None: the notifier's backoff)."""
PERMANENT_CODES = frozenset(
    {-101, -102, -103, -104, -105, -106, -107, -108, -109, -110, -111, -112, -113, -114, -116, -117, -118, -119,
     -131, -139, -144, -147}
)  # fmt: skip


def zns_phone(e164: str) -> str:
    """'+84912345678' -> '84912345678': ZNS takes the international form, digits only (guardians.csv numbers are
    already E.164; spaces from any other source are dropped too)."""
    return "".join(c for c in e164 if c.isdigit())


def tracking_id(key: str) -> str:
    if len(key) <= MAX_TRACKING_ID:
        return key
    return "h-" + base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()).decode()[:40]


def cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def zns_outcome(answer: dict[str, Any]) -> Outcome:
    """The JSON answer of an HTTP 200 mapped onto the channel interface (the table in the module docstring)."""
    code = answer.get("error")
    message = str(answer.get("message", ""))[:200]
    if code == 0:
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        assert isinstance(data, dict)
        quota = data.get("quota") if isinstance(data.get("quota"), dict) else None
        detail = f"ZNS msg_id {data.get('msg_id')} sent_time {data.get('sent_time')}"
        if quota:
            detail += f" quota {quota.get('remainingQuota')}/{quota.get('dailyQuota')}"
        return Accepted(detail)
    if not isinstance(code, int):
        return RetryAfter(None, f"ZNS answer without an error code: {str(answer)[:200]}")
    detail = f"ZNS error {code}: {message}"
    if code in PERMANENT_CODES:
        return PermanentFailure(detail)
    return RetryAfter(RETRY_CODES.get(code), detail)


class ZaloZns:
    honours_idempotency = False

    def __init__(self, cfg: ZaloZnsChannel) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.limiter = RateLimiter(cfg.rate_per_s, cfg.burst)

    def template_for(self, template: str, language: str) -> ZnsTemplate | None:
        t = self.cfg.templates
        by_key = {"arrived": t.arrived, "arrived_late": t.arrived_late or t.arrived, "absent": t.absent,
                  "left": t.left, "sign_in": t.sign_in}  # fmt: skip
        chosen = by_key.get(template)
        if chosen is None:
            return None
        return getattr(chosen, language, None) or chosen.vi

    def body(self, notice: Notice) -> dict[str, Any] | str:
        """The request body, or why none can be made (no template for this message, a field missing)."""
        if notice.phone is None:
            return "guardian has no phone number"
        tpl = self.template_for(notice.template, notice.language)
        if tpl is None:
            return f"no ZNS template for {notice.template!r} in channel {self.name!r}"
        values = {"time": notice.time, "day": f"{notice.day:%d/%m/%Y}", **(notice.fields or {})}
        data: dict[str, str] = {}
        for param, field in tpl.params.items():
            if field not in values:
                return f"the notice has no {field!r} for ZNS parameter {param!r} (queued before fields were stored)"
            data[param] = cut(values[field], tpl.limits.get(param, ZNS_DEFAULT_LIMITS[field]))
        body: dict[str, Any] = {
            "phone": zns_phone(notice.phone),
            "template_id": tpl.template_id,
            "template_data": data,
            "tracking_id": tracking_id(notice.key),
        }
        if self.cfg.mode == "development":
            body["mode"] = "development"
        return body

    def send(self, notice: Notice) -> Outcome:
        body = self.body(notice)
        if isinstance(body, str):
            return PermanentFailure(body)
        req = urllib.request.Request(
            self.cfg.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "edge-notify/1",
                "access_token": self.cfg.access_token,
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s) as resp:
                raw = resp.read(65536)
        except urllib.error.HTTPError as exc:
            return http_outcome(exc.code, exc.read(512) if exc.fp else b"", exc.headers.get("Retry-After"))
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return RetryAfter(None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
        try:
            answer = json.loads(raw)
        except ValueError:
            return RetryAfter(None, f"ZNS answered HTTP 200 with no JSON: {raw[:120]!r}")
        if not isinstance(answer, dict):
            return RetryAfter(None, f"ZNS answered HTTP 200 with {type(answer).__name__} JSON")
        return zns_outcome(answer)

    def close(self) -> None:
        pass
