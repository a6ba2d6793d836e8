"""Consent to face recognition, per student (Decree 13/2023/ND-CP: a face template is sensitive personal data,
processed for a child only with consent, which can be withdrawn at any time).

The table `consents` holds one row per decision and is never updated, so the history answers "who gave it, when,
how" for every change; a student's latest row decides. Every face enrolment path asks `require_consent` first (the
Student page and API, `edge distribution enroll`, bulk from a folder); `withdraw` records the decision and then
deletes the templates at the centre and publishes the gallery without them (EnrolmentLink.remove), so every
gateway drops the face at its next install; the card binding is not touched, the card keeps working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from edge.central.web import audit
from edge.central.web.db import WebDb, WebTx
from edge.central.web.enrolment import EnrolmentLink, EnrolOutcome

Action = Literal["given", "withdrawn"]
Method = Literal["paper", "app"]
METHODS: tuple[Method, ...] = ("paper", "app")
MAX_TEXT = 200
"""Longest name or note kept: a guardian's name, "form signed 02/09" — not a letter."""


class ConsentMissing(Exception):
    """No consent is recorded for the student (or it was withdrawn): a face may not be enrolled."""

    def __init__(self, site_id: str, person_id: str) -> None:
        super().__init__(f"{person_id}: no consent to face recognition is recorded (record it on the Student page)")
        self.site_id, self.person_id = site_id, person_id


class ConsentInputError(ValueError):
    """A decision that cannot be recorded as given (empty name, unknown method): nothing was written."""


@dataclass(frozen=True)
class ConsentRecord:
    site_id: str
    person_id: str
    action: Action
    given_by: str
    """Who decided: the guardian's name (paper form) or the signed-in guardian (app)."""
    method: Method
    recorded_by: str
    """The staff account that recorded a paper form, or `guardian:<id>` when the parent used the app."""
    at: float
    note: str

    @property
    def given(self) -> bool:
        return self.action == "given"


def _row(r: dict[str, object]) -> ConsentRecord:
    return ConsentRecord(
        str(r["site_id"]),
        str(r["person_id"]),
        "given" if r["action"] == "given" else "withdrawn",
        str(r["given_by"]),
        "app" if r["method"] == "app" else "paper",
        str(r["recorded_by"]),
        float(r["at"]),  # type: ignore[arg-type]
        str(r["note"]),
    )


_COLUMNS = "site_id, person_id, action, given_by, method, recorded_by, at, note"


def history(db: WebDb | WebTx, site_id: str, person_id: str) -> list[ConsentRecord]:
    """Every decision for the student, oldest first."""
    rows = db.query(
        f"SELECT {_COLUMNS} FROM consents WHERE site_id = ? AND person_id = ? ORDER BY id", (site_id, person_id)
    )
    return [_row(r) for r in rows]


def current(db: WebDb | WebTx, site_id: str, person_id: str) -> ConsentRecord | None:
    """The student's latest decision; None when none was ever recorded."""
    rows = db.query(
        f"SELECT {_COLUMNS} FROM consents WHERE site_id = ? AND person_id = ? ORDER BY id DESC LIMIT 1",
        (site_id, person_id),
    )
    return _row(rows[0]) if rows else None


def consenting(db: WebDb | WebTx, site_id: str) -> set[str]:
    """The school's students whose latest decision is consent (one query, for a bulk enrolment)."""
    rows = db.query(
        "SELECT c.person_id, c.action FROM consents c JOIN (SELECT person_id, max(id) AS id FROM consents"
        " WHERE site_id = ? GROUP BY person_id) latest ON c.id = latest.id",
        (site_id,),
    )
    return {str(r["person_id"]) for r in rows if r["action"] == "given"}


def require_consent(db: WebDb | WebTx, site_id: str, person_id: str) -> ConsentRecord:
    rec = current(db, site_id, person_id)
    if rec is None or not rec.given:
        raise ConsentMissing(site_id, person_id)
    return rec


def _clean(text: str, what: str, *, required: bool) -> str:
    value = " ".join(text.split())
    if required and not value:
        raise ConsentInputError(f"{what} is empty: say who decided")
    if len(value) > MAX_TEXT:
        raise ConsentInputError(f"{what} is longer than {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConsentInputError(f"{what} holds control characters")
    return value


def _record(
    tx: WebTx,
    site_id: str,
    person_id: str,
    action: Action,
    given_by: str,
    method: str,
    recorded_by: str,
    ip: str | None,
    note: str,
    at: float | None,
) -> ConsentRecord:
    if method not in METHODS:
        raise ConsentInputError(f"method {method!r}: one of {', '.join(METHODS)}")
    rec = ConsentRecord(
        site_id,
        person_id,
        action,
        _clean(given_by, "who decided", required=True),
        "app" if method == "app" else "paper",
        recorded_by,
        time.time() if at is None else at,
        _clean(note, "the note", required=False),
    )
    tx.execute(
        f"INSERT INTO consents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (rec.site_id, rec.person_id, rec.action, rec.given_by, rec.method, rec.recorded_by, rec.at, rec.note),
    )
    detail = {"person_id": person_id, "given_by": rec.given_by, "method": rec.method, "note": rec.note}
    audit.record(tx, recorded_by, f"consent_{action}", detail, ip, site_id, at=rec.at)
    return rec


def give(
    db: WebDb,
    site_id: str,
    person_id: str,
    *,
    given_by: str,
    method: str,
    recorded_by: str,
    ip: str | None = None,
    note: str = "",
    at: float | None = None,
) -> ConsentRecord:
    """Record consent (and its audit row, one commit). ConsentInputError: nothing written."""
    with db.transaction() as tx:
        return _record(tx, site_id, person_id, "given", given_by, method, recorded_by, ip, note, at)


@dataclass(frozen=True)
class Withdrawal:
    record: ConsentRecord
    removed: EnrolOutcome | None
    """The gallery change (templates deleted, version published); None when the student had no templates."""


def withdraw(
    db: WebDb,
    link: EnrolmentLink | None,
    site_id: str,
    person_id: str,
    *,
    given_by: str,
    method: str,
    recorded_by: str,
    ip: str | None = None,
    note: str = "",
) -> Withdrawal:
    """Record the withdrawal (audited), then delete the student's templates at the centre and publish the gallery
    without them. The decision is committed first: if the gallery cannot be changed now (EnrolmentError), the
    consent is withdrawn all the same, no new enrolment is possible, and the office retries the removal on the
    Student page (its "remove face" button) — the error is raised to say so."""
    with db.transaction() as tx:
        rec = _record(tx, site_id, person_id, "withdrawn", given_by, method, recorded_by, ip, note, None)
    removed = link.remove(site_id, person_id) if link is not None else None
    if removed is not None:
        detail = {"person_id": person_id, "gallery_version": removed.version, "reason": "consent_withdrawn"}
        if removed.publish_error:
            detail["publish_error"] = removed.publish_error
        audit.record(db, recorded_by, "face_remove", detail, ip, site_id)
    return Withdrawal(rec, removed)


def removal_version(db: WebDb, site_id: str, person_id: str) -> int | None:
    """The gallery version that took the student's face off the gates (the newest published removal), so the
    Student page can show which gateways have installed it; None when none was published."""
    import json

    rows = db.query(
        "SELECT detail FROM web_audit WHERE action = 'face_remove' AND site_id = ? AND detail LIKE ? ORDER BY id DESC"
        " LIMIT 20",
        (site_id, f'%"person_id": {json.dumps(person_id, ensure_ascii=False)}%'),
    )
    for r in rows:
        version = json.loads(r["detail"]).get("gallery_version")
        if isinstance(version, int):
            return version
    return None
