"""The centre's configuration (central.yaml): schools with their calendar, roster, guardians and notification
channels. One typed model, unknown keys rejected, every field documented, secrets from `${ENV}`.

It is loaded with the gateway config's YAML walker (edge/config/loader.py) so every error carries file:line.
Everything that could fail at 07:12 — an unknown channel name, a template with a misspelt field, a guardian
row with a bad phone number — is checked here, at load time.
"""

from __future__ import annotations

import logging
import os
import re
import string
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from edge.config.loader import ConfigError, ConfigIssue, validate_yaml
from edge.config.model import HHMM, IDENT, Weekday, _Section

Language = Literal["vi", "en"]
NoticeKind = Literal["arrived", "left", "absent"]
SCHOOL_WEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
DEFAULT_KINDS: tuple[NoticeKind, ...] = ("arrived", "absent")

TEMPLATE_FIELDS = frozenset({"name", "class_name", "time", "gate", "school", "cutoff"})
"""Fields a message template may use: {name} ({class_name}) arrived at school at {time} ({gate})."""

TEMPLATE_KEYS = ("arrived", "arrived_late", "absent", "left")
"""Message templates per language: on-time arrival, late arrival (also the follow-up after an absence notice),
absence at the cut-off, leaving after dismissal."""


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (IANA names such as 'Asia/Ho_Chi_Minh')") from None
    return name


def check_template(text: str) -> str:
    """A template is a str.format string using only TEMPLATE_FIELDS; raises ValueError naming the problem."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"template {text!r} is malformed: {exc}") from None
    for _literal, field, spec, conv in parsed:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise ValueError(f"template {text!r} uses unknown field {{{field}}}; known: {sorted(TEMPLATE_FIELDS)}")
        if spec or conv:
            raise ValueError(f"template {text!r}: {{{field}}} takes no format spec or conversion")
    return text


class Times(_Section):
    """Cut-off and dismissal times for a grade or a class (local time of the school)."""

    cutoff: str | None = Field(
        None, pattern=HHMM, description="'HH:MM': a student with no granted 'in' by then is absent (and late after)."
    )
    dismissal: str | None = Field(
        None, pattern=HHMM, description="'HH:MM': the first granted 'out' after this sends the 'left' notice."
    )


class Term(_Section):
    """A term: school days fall between start and end (both included)."""

    name: str = Field(description="Term name shown by `edge calendar check`, e.g. 'Học kỳ I'.")
    start: date = Field(strict=False, description="First day of the term, YYYY-MM-DD.")
    end: date = Field(strict=False, description="Last day of the term, YYYY-MM-DD (included).")

    @model_validator(mode="after")
    def _ordered(self) -> Term:
        if self.end < self.start:
            raise ValueError(f"term {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Holiday(_Section):
    """A day (or a run of days) without school inside a term."""

    name: str = Field(description="Holiday name shown by `edge calendar check`, e.g. 'Tết Nguyên Đán'.")
    start: date = Field(strict=False, description="First day off, YYYY-MM-DD.")
    end: date | None = Field(None, strict=False, description="Last day off (included); null: the start day only.")

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"holiday {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class MakeupDay(_Section):
    """A make-up school day ("ngày học bù"): school on a day that would otherwise have none (a Saturday that
    replaces a day of a holiday)."""

    name: str = Field(description="Why, shown by `edge calendar check`, e.g. 'Học bù ngày 30/4'.")
    start: date = Field(strict=False, description="The make-up day, YYYY-MM-DD.")
    end: date | None = Field(None, strict=False, description="Last make-up day (included); null: the start day only.")

    @model_validator(mode="after")
    def _ordered(self) -> MakeupDay:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"make-up day {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class CalendarConfig(_Section):
    """When a school has school: weekdays within terms, minus holidays, plus make-up days, from the go-live date
    on; cut-off and dismissal per grade/class."""

    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(SCHOOL_WEEK),
        min_length=1,
        description="Days of the week with school (mon … sun).",
    )
    terms: list[Term] = Field(
        min_length=1, description="Terms; a day outside every term is not a school day (summer, between terms)."
    )
    holidays: list[Holiday] = Field(default_factory=list, description="Days off inside the terms.")
    makeup_days: list[MakeupDay] = Field(
        default_factory=list, description="Make-up school days ('ngày học bù'): school even on a weekend or holiday."
    )
    go_live: date | None = Field(
        None,
        strict=False,
        description="First day the gates record attendance; no day before it counts (no absence before the system).",
    )
    cutoff: str = Field(
        "07:45", pattern=HHMM, description="Default cut-off 'HH:MM': no granted 'in' by then → absent; after → late."
    )
    dismissal: str = Field("16:30", pattern=HHMM, description="Default dismissal 'HH:MM' for the 'left' notice.")
    grades: dict[str, Times] = Field(
        default_factory=dict,
        description="Times per grade: the class name's leading digits ('6' for class '6A').",
    )
    classes: dict[str, Times] = Field(
        default_factory=dict, description="Times per class ('6A'); a class entry wins over its grade's."
    )


class GateName(_Section):
    """How a gate is named in messages."""

    vi: str = Field(description="Vietnamese name, e.g. 'cổng chính'.")
    en: str = Field(description="English name, e.g. 'main gate'.")


class TemplateSet(_Section):
    """Message templates of one language; null keeps the built-in text (edge/central/notify/messages.py)."""

    arrived: str | None = Field(None, description="On-time arrival, e.g. '{name} ({class_name}) arrived at {time}'.")
    arrived_late: str | None = Field(None, description="Arrival after the cut-off (or after an absence notice).")
    absent: str | None = Field(None, description="No arrival by the cut-off; {time} is the cut-off.")
    left: str | None = Field(None, description="First 'out' after dismissal.")

    @field_validator("arrived", "arrived_late", "absent", "left")
    @classmethod
    def _valid(cls, v: str | None) -> str | None:
        return None if v is None else check_template(v)


class Templates(_Section):
    """Message templates per language. Fields: {name} {class_name} {time} {gate} {school} {cutoff}."""

    vi: TemplateSet = Field(default_factory=TemplateSet, description="Vietnamese templates.")
    en: TemplateSet = Field(default_factory=TemplateSet, description="English templates.")


class _Channel(_Section):
    name: str = Field(pattern=IDENT, description="Channel name, used in guardians.csv's `channel` column.")
    rate_per_s: float = Field(10.0, gt=0, le=10000, description="Sustained sends per second (token bucket).")
    burst: int = Field(20, ge=1, le=100000, description="Sends allowed at once before the rate applies.")
    timeout_s: float = Field(10.0, gt=0, le=300, description="Network timeout of one send.")


class WebhookChannel(_Channel):
    """JSON POST to the school's app / a Zalo OA integration / an SIS, signed with HMAC-SHA256."""

    type: Literal["webhook"] = Field(description="'webhook'.")
    url: str = Field(pattern=r"^https?://", description="Endpoint receiving the POST.")
    secret: str = Field(
        min_length=16, description="HMAC-SHA256 key for X-Edge-Signature; from the environment: ${EDGE_WEBHOOK_SECRET}."
    )


class EmailChannel(_Channel):
    """SMTP submission with STARTTLS; plain-text and HTML bodies."""

    type: Literal["email"] = Field(description="'email'.")
    host: str = Field(description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587: submission with STARTTLS).")
    starttls: bool = Field(True, description="Upgrade with STARTTLS before authenticating (refuse if not offered).")
    cafile: str | None = Field(None, description="CA bundle to verify the server with; null: the system's.")
    username: str | None = Field(None, description="SMTP user; null: no AUTH.")
    password: str | None = Field(None, description="SMTP password: ${EDGE_SMTP_PASSWORD}.")
    sender: str = Field(description="From address, e.g. 'Trường THCS <diemdanh@school.example>'.")


class SmsHttpChannel(_Channel):
    """A generic HTTP SMS gateway: the request body is a template filled with JSON-quoted values."""

    type: Literal["sms_http"] = Field(description="'sms_http'.")
    url: str = Field(pattern=r"^https?://", description="Gateway endpoint.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers, e.g. {Authorization: 'Bearer ${SMS_TOKEN}'}."
    )
    body_template: str = Field(
        '{"to": $to, "text": $text, "ref": $key}',
        description="JSON body; $to, $text and $key are replaced by JSON strings (phone E.164, message, idempotency).",
    )
    idempotency_header: str | None = Field(
        None, description="Header carrying the idempotency key if the provider honours one; null: it does not."
    )
    ascii: bool = Field(False, description="Strip Vietnamese diacritics (GSM-7: 160 characters a segment).")
    max_chars: int | None = Field(
        None, ge=20, description="Cut longer messages to this many characters; null: never cut (more segments)."
    )

    @field_validator("body_template")
    @classmethod
    def _json_template(cls, v: str) -> str:
        import json

        for var in ("$to", "$text"):
            if var not in v:
                raise ValueError(f"body_template must contain {var}")
        try:
            sample = string.Template(v).substitute(to='"+84900000000"', text='"x"', key='"k"')
            json.loads(sample)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"body_template is not a JSON template with $to/$text/$key: {exc}") from None
        return v


class MqttChannel(_Channel):
    """Publish each notice to edge/v1/{site}/notify/{guardian} for an app backend that subscribes."""

    type: Literal["mqtt"] = Field(description="'mqtt'.")
    host: str = Field("127.0.0.1", description="Broker host.")
    port: int = Field(8883, ge=1, le=65535, description="Broker port.")
    username: str | None = Field(None, description="MQTT user name.")
    password: str | None = Field(None, description="MQTT password: ${EDGE_NOTIFY_MQTT_PASSWORD}.")
    topic_prefix: str = Field("edge/v1", pattern=r"^[A-Za-z0-9_/-]+[^/]$", description="Root of the topic.")
    ca: str | None = Field(None, description="TLS: the site CA (PEM); null with cert/key null: plaintext.")
    cert: str | None = Field(
        None,
        description="TLS: this client's certificate (PEM): a server identity of its own (the broker allows one "
        "connection per certificate: not the web app's, nor another channel's).",
    )
    key: str | None = Field(None, description="TLS: this client's private key (PEM).")

    @model_validator(mode="after")
    def _tls_complete(self) -> MqttChannel:
        given = [x is not None for x in (self.ca, self.cert, self.key)]
        if any(given) and not all(given):
            raise ValueError("ca, cert and key are given together (TLS with a client certificate) or not at all")
        return self


class WebPushChannel(_Channel):
    """Web Push to every device a guardian subscribed in the parents' app (subscriptions are rows in the store,
    edge/central/notify/push_subscriptions.py): each message encrypted for its device (RFC 8291, aes128gcm), the
    school identified to the push service with VAPID (RFC 8292). Guardians on it need no phone or address."""

    type: Literal["webpush"] = Field(description="'webpush'.")
    vapid_key_file: str = Field(
        description="The VAPID private key, a PEM file written by `edge notify vapid-keygen` (mode 0600), e.g."
        " ${EDGE_VAPID_KEY_FILE}; the key itself is never written in central.yaml."
    )
    subject: str = Field(
        pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$",
        description="VAPID 'sub': how a push service reaches the school's operator, e.g. 'mailto:it@school.example'.",
    )
    ttl_s: int = Field(
        43200,
        ge=0,
        le=2419200,
        description="How long a push service keeps a message for a device that is offline (TTL); a notice is"
        " stale after the school day.",
    )
    urgency: Literal["very-low", "low", "normal", "high"] = Field(
        "high", description="RFC 8030 Urgency: 'high' wakes a phone in power saving for an arrival notice."
    )


ZNS_FIELDS = frozenset({*TEMPLATE_FIELDS, "day", "code"})
"""Message fields a ZNS template parameter can take ({day}: the school day, DD/MM/YYYY; {code}: the parents' app
sign-in code, only in the `sign_in` template)."""
ZNS_DEFAULT_LIMITS: dict[str, int] = {
    "name": 30, "class_name": 30, "gate": 30, "school": 30, "time": 20, "cutoff": 20, "day": 20, "code": 10,
}  # fmt: skip
"""Longest value per field, from the ZNS parameter types a school registers them as (customer name 30, custom
label 30, time 20, OTP 10 characters: see edge/central/notify/channels/zalo_zns.py); a longer value is cut."""


class ZnsTemplate(_Section):
    """One approved ZNS template and how its parameters are filled."""

    template_id: str = Field(pattern=r"^[0-9]{1,20}$", description="The approved template's id (the OA's list).")
    params: dict[str, str] = Field(
        min_length=1,
        description="ZNS parameter name -> message field (name, class_name, time, gate, school, cutoff, day),"
        " e.g. {student_name: name, arrival_time: time}.",
    )
    limits: dict[str, int] = Field(
        default_factory=dict,
        description="Longest value by ZNS parameter name, as registered with Zalo; default: by field (name 30,"
        " class_name 30, gate 30, school 30, time 20, cutoff 20, day 20). A longer value is cut with '…'.",
    )

    @model_validator(mode="after")
    def _known(self) -> ZnsTemplate:
        bad = sorted(f for f in self.params.values() if f not in ZNS_FIELDS)
        if bad:
            raise ValueError(f"params use unknown fields {bad}; known: {sorted(ZNS_FIELDS)}")
        names = [n for n in self.params if not n.replace("_", "").isalnum() or len(n) > 50]
        if names:
            raise ValueError(f"parameter names {names} must be letters, digits and '_' (up to 50)")
        extra = sorted(set(self.limits) - set(self.params))
        if extra:
            raise ValueError(f"limits name parameters {extra} that params does not have")
        if any(v < 1 or v > 400 for v in self.limits.values()):
            raise ValueError("limits are 1..400 characters (a ZNS message holds at most 400)")
        return self


class ZnsTemplatesByLanguage(_Section):
    """A notice's ZNS template per language; a language without one uses the Vietnamese template."""

    vi: ZnsTemplate | None = Field(None, description="Template for guardians reading Vietnamese.")
    en: ZnsTemplate | None = Field(None, description="Template for guardians reading English (null: 'vi').")


class ZnsTemplates(_Section):
    """ZNS templates per message; a late arrival without its own template uses the arrival's."""

    arrived: ZnsTemplatesByLanguage | None = Field(None, description="On-time arrival.")
    arrived_late: ZnsTemplatesByLanguage | None = Field(None, description="Late arrival (null: 'arrived').")
    absent: ZnsTemplatesByLanguage | None = Field(None, description="No arrival by the cut-off.")
    left: ZnsTemplatesByLanguage | None = Field(None, description="First 'out' after dismissal.")
    sign_in: ZnsTemplatesByLanguage | None = Field(
        None,
        description="The parents' app sign-in code: an approved OTP template with one parameter mapped to 'code'"
        " (null: codes go to Zalo users by SMS or e-mail only).",
    )

    @model_validator(mode="after")
    def _code_only_in_sign_in(self) -> ZnsTemplates:
        for key in ("arrived", "arrived_late", "absent", "left", "sign_in"):
            by_language = getattr(self, key)
            for tpl in (by_language.vi, by_language.en) if by_language is not None else ():
                if tpl is None:
                    continue
                uses_code = "code" in tpl.params.values()
                if key == "sign_in" and not uses_code:
                    raise ValueError("templates.sign_in: map one parameter to 'code' (the OTP the parent types)")
                if key != "sign_in" and uses_code:
                    raise ValueError(f"templates.{key}: 'code' is the sign-in code, only for templates.sign_in")
        return self


class ZaloZnsChannel(_Channel):
    """Zalo Notification Service: an approved template message to the guardian's phone through the school's
    Official Account. Guardians on it need a phone number."""

    type: Literal["zalo_zns"] = Field(description="'zalo_zns'.")
    url: str = Field(
        "https://business.openapi.zalo.me/message/template",
        pattern=r"^https?://",
        description="ZNS 'send by phone number' endpoint.",
    )
    access_token: str = Field(
        min_length=1, description="The OA's access token, from the environment: ${EDGE_ZALO_TOKEN}."
    )
    mode: Literal["production", "development"] = Field(
        "production",
        description="'development': Zalo delivers only to the OA's admins and charges no quota (try templates).",
    )
    templates: ZnsTemplates = Field(description="Template id and parameters per message and language.")

    @model_validator(mode="after")
    def _some_template(self) -> ZaloZnsChannel:
        t = self.templates
        if not any(x is not None and (x.vi or x.en) for x in (t.arrived, t.arrived_late, t.absent, t.left, t.sign_in)):
            raise ValueError("templates: give at least one approved ZNS template")
        return self


AnyChannel = WebhookChannel | EmailChannel | SmsHttpChannel | MqttChannel | WebPushChannel | ZaloZnsChannel
ChannelConfig = Annotated[AnyChannel, Field(discriminator="type")]


class SchoolConfig(_Section):
    """One school (one site)."""

    id: str = Field(pattern=IDENT, description="The school's site_id (as in the gateways' check-ins).")
    name: str = Field("", description="School name ({school} in templates); import source, the store holds it.")
    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="IANA time zone of the school's clocks; import source, the store holds it."
    )
    calendar: CalendarConfig | None = Field(
        None, description="School days and times: imported into the store by `edge school import`, not read at run."
    )
    roster: str | None = Field(None, description="Roster CSV (person_id,name,class,…) for `edge school import`.")
    guardians: str | None = Field(None, description="guardians.csv for `edge school import` (README 'Parents').")
    gates: dict[str, GateName] = Field(
        default_factory=dict, description="Gate display names by gate id, for `edge school import`."
    )
    channels: list[ChannelConfig] = Field(default_factory=list, description="Notification channels of this school.")
    templates: Templates = Field(default_factory=Templates, description="Overrides of the built-in messages.")
    edfi_school_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="The school's Ed-Fi schoolId (an integer the state or district assigns); null: no Ed-Fi download.",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _check_zone(v)

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("name"):
            return {**data, "name": data.get("id", "")}
        return data

    @model_validator(mode="after")
    def _unique_channels(self) -> SchoolConfig:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate channel names: {dupes}")
        return self

    def channel(self, name: str) -> AnyChannel:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)


class HoldsConfig(_Section):
    """When absence notices are held: the gates' health before a cut-off (edge/central/gates/judge.py)."""

    window_s: float = Field(
        7200.0, ge=1, le=86400, description="The gates must have been healthy from this long before the cut-off."
    )
    max_gap_s: float = Field(
        60.0, ge=1, le=3600, description="A collector or gateway away for longer than this makes the window unhealthy."
    )
    stale_s: float = Field(
        120.0,
        ge=1,
        le=3600,
        description="A gateway not heard from (any message, a health report) this long is unhealthy.",
    )
    stuck_outbox_s: float = Field(
        60.0, ge=1, le=3600, description="A check-in waiting this long in a gateway's outbox is stuck (unhealthy)."
    )
    office_email: dict[str, str] = Field(
        default_factory=dict,
        description="School id -> the office's address: a 'gates down' e-mail through the school's email channel.",
    )
    alarm_every_s: float = Field(1800.0, ge=60, le=86400, description="At most one 'gates down' e-mail this often.")


class NotifyConfig(_Section):
    """The notifier worker (`edge notify run`)."""

    max_attempts: int = Field(8, ge=1, le=100, description="Attempts before a notice is dead-lettered.")
    backoff_initial_s: float = Field(5.0, gt=0, le=3600, description="Wait before the second attempt.")
    backoff_max_s: float = Field(
        60.0, gt=0, le=86400, description="Longest wait between attempts, and between probes of a channel that is down."
    )
    batch: int = Field(50, ge=1, le=5000, description="Jobs claimed per round.")
    poll_s: float = Field(0.5, gt=0, le=60, description="Wait between rounds when the queue is empty.")
    lease_s: float = Field(
        120.0,
        ge=1,
        le=3600,
        description="A claimed job not answered within this (its worker died) is sent again, same idempotency key.",
    )
    absence_grace_s: float = Field(
        120.0,
        ge=0,
        le=3600,
        description="Absence notices go this long after the cut-off: check-ins still on their way count as arrivals.",
    )
    kinds: list[NoticeKind] = Field(
        default_factory=lambda: list(DEFAULT_KINDS),
        description="Kinds a guardian gets unless guardians.csv says otherwise ('left' is opt-in).",
    )
    holds: HoldsConfig = Field(
        default_factory=HoldsConfig, description="Absence notices are held when the gates were not healthy."
    )


class RetentionConfig(_Section):
    """How long the centre keeps personal data (#24; Decree 13/2023/ND-CP: no longer than the purpose needs).
    Enforced daily by `edge privacy retention`; shown on the Admin page and in the record of processing."""

    checkins_days: int = Field(
        400, ge=30, le=3650, description="Check-ins (attendance) are deleted after this many days: a school year+."
    )
    notices_days: int = Field(
        120, ge=7, le=3650, description="Notices sent to parents (their text and the channels' answers)."
    )
    audit_days: int = Field(730, ge=90, le=3650, description="The web app's audit log (who did what, when).")
    logs_days: int = Field(
        30, ge=1, le=365, description="Service logs: journald's files older than this are removed by the daily run."
    )
    leavers: Literal["keep", "anonymise"] = Field(
        "keep",
        description=(
            "A student who left: their face templates, card binding and guardians' contacts are erased at once;"
            " their attendance is kept for the register (keep) or its link to the child removed (anonymise)."
        ),
    )


class CentralConfig(_Section):
    """central.yaml: the schools served by this centre and the notifier."""

    schools: list[SchoolConfig] = Field(min_length=1, description="The schools (sites).")
    notify: NotifyConfig = Field(default_factory=NotifyConfig, description="The notifier worker.")
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long personal data is kept; what happens to leavers."
    )

    @model_validator(mode="after")
    def _unique_schools(self) -> CentralConfig:
        ids = [s.id for s in self.schools]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate school ids: {dupes}")
        return self

    def school(self, school_id: str) -> SchoolConfig:
        for s in self.schools:
            if s.id == school_id:
                return s
        raise KeyError(school_id)


def hhmm(text: str) -> time:
    """'07:45' -> time(7, 45); '24:00' -> the last instant of the day."""
    if text == "24:00":
        return time(23, 59, 59, 999999)
    h, m = text.split(":")
    return time(int(h), int(m))


def _resolve(cfg: CentralConfig, base: Path) -> CentralConfig:
    def rel(p: str | None) -> str | None:
        return p if p is None or os.path.isabs(p) else str((base / p).resolve())

    schools = []
    for s in cfg.schools:
        channels = [
            c.model_copy(update={k: rel(getattr(c, k)) for k in ("ca", "cert", "key")})
            if isinstance(c, MqttChannel)
            else c.model_copy(update={"cafile": rel(c.cafile)})
            if isinstance(c, EmailChannel)
            else c.model_copy(update={"vapid_key_file": rel(c.vapid_key_file)})
            if isinstance(c, WebPushChannel)
            else c
            for c in s.channels
        ]
        schools.append(
            s.model_copy(update={"roster": rel(s.roster), "guardians": rel(s.guardians), "channels": channels})
        )
    return cfg.model_copy(update={"schools": schools})


def parse_central_text(
    text: str, *, file: str = "<central>", env: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> CentralConfig:
    """Parse and validate central.yaml text; raises ConfigError listing every problem with file:line."""
    cfg, _ = validate_yaml(text, CentralConfig, file=file, env=env)
    return _resolve(cfg, base_dir or Path.cwd())


def secrets_elsewhere(text: str, env: Mapping[str, str]) -> dict[str, str]:
    """`env` plus a placeholder for each `${VAR}` of `text` that is not set and has no `:-default`.

    For the processes that read central.yaml but never send a notice — the collector (it queues them), the web app,
    `edge school import`, `edge provision --central`: the channels' secrets (`${EDGE_WEBHOOK_SECRET}`, …) are in
    notifier.env, which only the notifier's unit reads (README "Deploy a school"), so these must start without
    them. The placeholder is long enough for every secret's validation and is never sent: only the notifier sends,
    and it loads central.yaml with the real environment (an unset secret stops it, with the line)."""
    from edge.config.loader import PLACEHOLDER

    unset = {m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(2) is None and m.group(1) not in env}
    return {**env, **{name: f"unset-{name}{UNSET_MARK}" for name in unset}}


UNSET_MARK = "-not-for-sending"


def unset_secrets(channel: BaseModel) -> list[str]:
    """The fields of `channel` that hold secrets_elsewhere's placeholder: a process that loaded central.yaml with
    sends=False and still sends something (the web app's sign-in codes) must not send with these."""
    return sorted(k for k, v in channel.model_dump().items() if isinstance(v, str) and v.endswith(UNSET_MARK))


def load_central_config(path: str | Path, *, env: Mapping[str, str] | None = None, sends: bool = True) -> CentralConfig:
    """Load central.yaml; relative paths in it are taken from the file's directory. `sends=False` for a process
    that never sends a notice: an unset `${VAR}` is no error there (`secrets_elsewhere`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(p), None, "", f"cannot read the file: {exc.strerror}")]) from exc
    if not sends:
        env = secrets_elsewhere(text, os.environ if env is None else env)
    cfg = parse_central_text(text, file=str(p), env=env, base_dir=p.resolve().parent)
    exposed = exposed_secrets(p, text)
    if exposed:
        logging.getLogger(__name__).warning(
            "%s is readable by every user of this machine (mode %04o) and holds %s written in the file: "
            "chmod 0600 (or 0640 root:edge, as install.sh does), or take them from the environment "
            "(secret: ${EDGE_WEBHOOK_SECRET}) or systemd credentials",
            p, p.stat().st_mode & 0o777, ", ".join(exposed),
        )  # fmt: skip
    return cfg


_LITERAL_SECRET = re.compile(r"\b(secret|password)\s*:\s*(?![\"']?\$\{)[^\s,}\]#]")


def exposed_secrets(path: Path, text: str) -> list[str]:
    """The secrets (`secret:` / `password:` keys) written as literal values in a central.yaml that other users may
    read; empty when the file is private or every secret comes from ${ENV}."""
    if not path.stat().st_mode & 0o004:
        return []
    return sorted({m.group(1) for m in _LITERAL_SECRET.finditer(text)})


def render_docs() -> str:
    """docs/central-configuration.md, generated like the gateway's reference so it cannot drift."""
    from edge.config.docs import render

    return render(
        CentralConfig,
        "Centre configuration reference (central.yaml)",
        "`edge/config/central.py` by `python -m edge.config.central > docs/central-configuration.md`",
    )


if __name__ == "__main__":
    import importlib

    # the module itself (not __main__), so its classes are named edge.config.central.* in the tables
    print(importlib.import_module("edge.config.central").render_docs(), end="")
