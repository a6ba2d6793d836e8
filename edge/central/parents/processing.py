"""The record of processing activities (Decree 13/2023/ND-CP art. 24 asks the controller — the school — to keep
one): what personal data the system holds, why, who may see it, who receives it, how long it is kept. Generated
from central.yaml (schools, channels, retention), so it says what this installation actually does.
`edge privacy record -c central.yaml [--lang vi]` prints it as Markdown; the Admin page shows it as tables in the
viewer's language.

The sentences are catalog entries (privacy.data.<row>, privacy.purpose.<row>, privacy.who.<row>,
privacy.kept.<row>, privacy.recipient.<channel type>), so the record is in Vietnamese for the school that files it
and in English for anyone else; what varies with the configuration (the retention days, what happens to a leaver's
attendance, the channels' hosts) is filled into them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from edge.central import catalogs
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

ROWS = ("students", "faces", "consent", "guardians", "checkins", "notices", "requests", "parents_app", "audit", "logs")
"""The kinds of personal data held, in the order of the record: one row each."""


@dataclass(frozen=True)
class Row:
    """One kind of personal data: what it is, why it is held, who may see it, how long it is kept."""

    data: str
    purpose: str
    who: str
    kept: str


@dataclass(frozen=True)
class SchoolRecord:
    """One school's record: its name, who is responsible, the rows, and who receives data through its channels."""

    title: str
    roles: str
    rows: tuple[Row, ...]
    recipients: tuple[str, ...]


def _recipient(lang: str, c: object) -> str | None:
    if isinstance(c, SmsHttpChannel):
        return catalogs.text(lang, "privacy.recipient.sms_http", host=urlsplit(c.url).hostname)
    if isinstance(c, EmailChannel):
        return catalogs.text(lang, "privacy.recipient.email", host=c.host)
    if isinstance(c, WebhookChannel):
        return catalogs.text(lang, "privacy.recipient.webhook", host=urlsplit(c.url).hostname)
    if isinstance(c, WebPushChannel):
        return catalogs.text(lang, "privacy.recipient.webpush")
    if isinstance(c, ZaloZnsChannel):
        return catalogs.text(lang, "privacy.recipient.zalo_zns")
    if isinstance(c, MqttChannel):
        return catalogs.text(lang, "privacy.recipient.mqtt", host=c.host)
    return None


def _kept(cfg: CentralConfig, lang: str) -> dict[str, object]:
    """The retention policy's values for the `kept` sentences, in `lang` ("400 days", "400 ngày")."""
    r = cfg.retention

    def days(n: int) -> str:
        return catalogs.text(lang, "privacy.days", n=n)

    leavers = "privacy.leavers_kept" if r.leavers == "keep" else "privacy.leavers_unlinked"
    return {
        "checkins": days(r.checkins_days),
        "notices": days(r.notices_days),
        "audit": days(r.audit_days),
        "logs": days(r.logs_days),
        "leavers": catalogs.text(lang, leavers),
    }


def school_records(cfg: CentralConfig, lang: str) -> list[SchoolRecord]:
    """The record of every school of the configuration, in `lang`."""
    fill = _kept(cfg, lang)
    rows = tuple(
        Row(
            catalogs.text(lang, f"privacy.data.{row}"),
            catalogs.text(lang, f"privacy.purpose.{row}"),
            catalogs.text(lang, f"privacy.who.{row}"),
            catalogs.text(lang, f"privacy.kept.{row}", **fill),
        )
        for row in ROWS
    )
    return [_school(school, rows, lang) for school in cfg.schools]


def _school(school: SchoolConfig, rows: tuple[Row, ...], lang: str) -> SchoolRecord:
    recipients = tuple(x for x in (_recipient(lang, c) for c in school.channels) if x)
    title = f"{school.name or school.id} ({school.id})"
    return SchoolRecord(title, catalogs.text(lang, "privacy.roles"), rows, recipients)


def record(cfg: CentralConfig, lang: str = "en") -> str:
    """The record as Markdown in `lang`, one section per school (the CLI's output, a file to keep)."""
    t = catalogs.text
    out = [f"# {t(lang, 'privacy.record')}", "", t(lang, "privacy.record_help"), ""]
    head = [t(lang, f"privacy.col.{c}") for c in ("data", "purpose", "who", "kept")]
    for school in school_records(cfg, lang):
        out += [f"## {school.title}", "", school.roles, ""]
        out += ["| " + " | ".join(head) + " |", "| --- | --- | --- | --- |"]
        out += [f"| {r.data} | {r.purpose} | {r.who} | {r.kept} |" for r in school.rows]
        said = "; ".join(school.recipients) or t(lang, "privacy.recipients_none")
        out += ["", t(lang, "privacy.recipients", recipients=said), ""]
    return "\n".join(out) + "\n"
