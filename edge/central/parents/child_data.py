"""Everything the school holds about one child, in one document (#24, the right to see one's data): the record,
the guardians, every check-in and excuse, every notice sent, the consent history and whether face templates are
held. The same dict is the JSON download and the readable (HTML) one, so the two cannot say different things.

The face templates themselves are not included: they are biometric data sealed with the centre's key, useless to
a parent and dangerous in a download; the document says how many are held and with which model.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from edge.central import catalogs
from edge.central.notify.directory import SchoolDirectory
from edge.central.parents import consent
from edge.central.web.db import WebDb
from edge.central.web.enrolment import EnrolmentError, EnrolmentLink
from edge.central.web.school_day import CHECKIN_FIELDS

FORMAT = "edge-child-data/1"


def _checkins(db: WebDb, site_id: str, person_id: str) -> list[dict[str, Any]]:
    return db.query(
        f"SELECT {CHECKIN_FIELDS} FROM checkins WHERE site_id = ? AND person_id = ? ORDER BY occurred_at",
        (site_id, person_id),
    )


def _excuses(db: WebDb, site_id: str, person_id: str) -> list[dict[str, Any]]:
    return db.query(
        "SELECT day, reason, by_user, at FROM excuses WHERE site_id = ? AND person_id = ? ORDER BY day",
        (site_id, person_id),
    )


def _notices(db: WebDb, site_id: str, person_id: str) -> list[dict[str, Any]]:
    return db.query(
        "SELECT day, kind, guardian_id, channel, language, text, status, sent_at FROM notify_jobs"
        " WHERE site_id = ? AND person_id = ? ORDER BY day, id",
        (site_id, person_id),
    )


def _face(link: EnrolmentLink | None, site_id: str, person_id: str) -> dict[str, Any]:
    if link is None:
        return {"known": False}
    try:
        st = link.status(site_id, person_id)
    except EnrolmentError as exc:
        return {"known": False, "error": str(exc)}
    return {"known": True, "templates": st.templates, "model": st.model}


def _gates(d: SchoolDirectory, checkins: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The school's names of the gates the check-ins name, per language ({"main-in": {"vi": "cổng chính", …}}): the
    check-ins keep the gate's id (data), the document says its name."""
    used = sorted({c["gate"] for c in checkins if c.get("gate")})
    return {g: {lang: d.messages.gate_name(g, lang) for lang in catalogs.LANGUAGES} for g in used}


def collect(db: WebDb, d: SchoolDirectory, link: EnrolmentLink | None, person_id: str, now: datetime) -> dict[str, Any]:
    """The child's data as plain JSON types. KeyError for a student the school does not hold."""
    p = d.students[person_id]
    site = d.id
    checkins = _checkins(db, site, person_id)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "school": {"site_id": site, "name": d.school.name},
        "student": {
            "person_id": p.person_id,
            "name": p.name,
            "class": p.class_name,
            "card_uid": p.card_uid,
            "enrolled_from": p.enrolled_from.isoformat() if p.enrolled_from else None,
            "enrolled_until": p.enrolled_until.isoformat() if p.enrolled_until else None,
        },
        "guardians": [
            {
                "guardian_id": g.guardian_id,
                "name": g.name,
                "phone": g.phone,
                "email": g.email,
                "channel": g.channel,
                "language": g.language,
                "notices": sorted(g.kinds),
            }
            for g in d.guardians.get(person_id, [])
        ],
        "checkins": checkins,
        "gates": _gates(d, checkins),
        "excuses": _excuses(db, site, person_id),
        "notices": _notices(db, site, person_id),
        "consent_history": [
            {
                "action": r.action,
                "given_by": r.given_by,
                "method": r.method,
                "recorded_by": r.recorded_by,
                "at": datetime.fromtimestamp(r.at, now.tzinfo).isoformat(),
                "note": r.note,
            }
            for r in consent.history(db, site, person_id)
        ],
        "face_templates": _face(link, site, person_id),
    }


def to_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
