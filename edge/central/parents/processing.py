"""The record of processing activities (Decree 13/2023/ND-CP art. 24 asks the controller — the school — to keep
one): what personal data the system holds, why, who may see it, who receives it, how long it is kept. Generated
from central.yaml (schools, channels, retention), so it says what this installation actually does.
`edge privacy record -c central.yaml` prints it; the Admin page shows it."""

from __future__ import annotations

from urllib.parse import urlsplit

from edge.config.central import (
    CentralConfig,
    EmailChannel,
    MqttChannel,
    SchoolConfig,
    SmsHttpChannel,
    WebhookChannel,
    WebPushChannel,
    ZaloZnsChannel,
)

ROWS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Students: name, class, student id, card UID, enrolment dates",
        "Taking attendance at the gate; registers and reports",
        "admin, office (the school); teachers (their classes); guards (names at the gate); the child's guardians",
        "While enrolled; card UID erased when the student leaves",
    ),
    (
        "Face templates (sensitive personal data: biometric)",
        "Recognising the child at the gate instead of, or with, the card",
        "Nobody reads them: sealed at the centre and on each gateway; only enrolment with recorded consent",
        "Until consent is withdrawn or the student leaves (then deleted and removed from every gateway)",
    ),
    (
        "Consent decisions: who gave or withdrew it, when, how (paper form, parents' app)",
        "Proof of consent to face recognition; withdrawal",
        "admin, office; the child's guardians",
        "Kept as the record of the decision",
    ),
    (
        "Guardians: name, phone, e-mail, channel, language",
        "Telling parents of arrivals, leavings, absences; signing them in to the parents' app",
        "admin, office; teachers (their classes); the guardian",
        "While the child is enrolled; erased when the student leaves",
    ),
    (
        "Check-ins: time, gate, direction, method, decision",
        "Attendance (the one attendance rule), the parents' app, registers, reports",
        "admin, office; teachers (their classes); the child's guardians (their child only)",
        "{checkins} days; a leaver's are {leavers}",
    ),
    (
        "Notices sent to parents: text, channel, delivery answers",
        "Proving what was sent and when; retries",
        "admin, office; teachers (their classes); the guardian (their own)",
        "{notices} days",
    ),
    (
        "Absence requests and excuses: dates, reason, who decided",
        "Excused absences (no absence notice), registers",
        "admin, office; the form teacher; the guardian who asked",
        "With the attendance ({checkins} days)",
    ),
    (
        "Parents' app: sign-in codes (hashed), sessions per device, push subscriptions",
        "Signing parents in; Web Push notices",
        "The guardian (their devices); admin, office (to end a lost phone's session)",
        "Codes 1 day; ended sessions 30 days; subscriptions until turned off or the student leaves",
    ),
    (
        "Audit log: who did what, when, from which address",
        "Accountability of every change and every gate opening",
        "admin (their school's rows)",
        "{audit} days",
    ),
    (
        "Service logs",
        "Running and repairing the system",
        "The operators of the centre",
        "{logs} days (journald)",
    ),
)


def _recipient(c: object) -> str | None:
    if isinstance(c, SmsHttpChannel):
        return f"SMS gateway {urlsplit(c.url).hostname} (phone numbers, notice texts)"
    if isinstance(c, EmailChannel):
        return f"mail server {c.host} (e-mail addresses, notice texts)"
    if isinstance(c, WebhookChannel):
        return f"webhook {urlsplit(c.url).hostname} (notices: name, class, time)"
    if isinstance(c, WebPushChannel):
        return "the browsers' push services (Google, Mozilla, Apple): notices, encrypted end to end (RFC 8291)"
    if isinstance(c, ZaloZnsChannel):
        return "Zalo (VNG) ZNS: phone numbers, notice parameters"
    if isinstance(c, MqttChannel):
        return f"MQTT broker {c.host} (notices)"
    return None


def record(cfg: CentralConfig) -> str:
    """The record as Markdown, one section per school."""
    r = cfg.retention
    fill: dict[str, object] = {
        "checkins": r.checkins_days,
        "notices": r.notices_days,
        "audit": r.audit_days,
        "logs": r.logs_days,
        "leavers": "kept for the register" if r.leavers == "keep" else "unlinked from the child (anonymised)",
    }
    out = ["# Record of processing (generated from central.yaml)", ""]
    for school in cfg.schools:
        out += _school(school, fill)
    return "\n".join(out) + "\n"


def _school(school: SchoolConfig, fill: dict[str, object]) -> list[str]:
    lines = [
        f"## {school.name or school.id} ({school.id})",
        "",
        "Controller: the school. Processor: the operator of this centre. Data subjects: students (minors) and "
        "their guardians. Stored at the centre (the store and the sealed galleries) and, for the gate, on the "
        "school's gateways (roster, sealed gallery).",
        "",
        "| data | purpose | who may see it | kept |",
        "| --- | --- | --- | --- |",
    ]
    for data, purpose, who, kept in ROWS:
        lines.append(f"| {data} | {purpose} | {who} | {kept.format(**fill)} |")
    recipients = [x for x in (_recipient(c) for c in school.channels) if x]
    lines += ["", "Recipients (the school's notification channels): " + ("; ".join(recipients) or "none") + ".", ""]
    return lines
