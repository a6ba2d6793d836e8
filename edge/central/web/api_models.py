"""Response models of the JSON API (/api/v1), kept apart from the handlers: they are the OpenAPI document's
schemas and the contract school information systems code against. Times are RFC 3339 UTC; `local_*` fields are
the school's wall-clock time, as the pages show them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class School(BaseModel):
    id: str
    name: str
    timezone: str


class ClassCounts(BaseModel):
    class_name: str
    students: int
    present: int
    late: int
    absent: int
    excused: int
    pending: int = Field(description="No arrival yet and the cut-off has not passed.")


class ClassesDay(BaseModel):
    site_id: str
    day: str
    school_day: bool
    reason: str
    classes: list[ClassCounts]


class Notice(BaseModel):
    kind: str
    guardian_id: str
    channel: str
    status: str
    attempts: int
    sent_at: float | None


class StudentDayOut(BaseModel):
    person_id: str
    name: str
    class_name: str
    day: str
    status: str = Field(description="present | late | absent | excused | pending | no_school (THE attendance rule)")
    first_in: str | None
    last_out: str | None
    local_first_in: str | None
    local_last_out: str | None
    method: str | None
    excuse_reason: str | None
    notices: list[Notice] = []


class ClassDay(BaseModel):
    site_id: str
    class_name: str
    day: str
    school_day: bool
    students: list[StudentDayOut]


class GuardianOut(BaseModel):
    guardian_id: str
    name: str
    channel: str
    language: str


class Student(BaseModel):
    site_id: str
    person_id: str
    name: str
    class_name: str
    card_uid: str | None
    """Office and admin only (null for a teacher): a 125 kHz card's UID is enough to clone it."""
    face_enrolled: bool | None
    """From the centre's gallery; null when this server has no centre link (--centre)."""
    guardians: list[GuardianOut]
    month: str
    days: list[StudentDayOut]


class Checkin(BaseModel):
    event_id: str
    person_id: str | None
    class_name: str | None
    occurred_at: str
    direction: str | None
    decision: str | None
    method: str | None
    gate: str | None
    gateway_id: str | None
    similarity: float | None = Field(
        None,
        description="Face score of an SFace gateway: cosine similarity, higher is closer (about 0.5 and up: a match).",
    )
    distance: float | None = Field(
        None,
        description="Face score as a distance, lower is closer: dlib gateways, and check-in schema v1 (both models).",
    )


class CheckinPage(BaseModel):
    items: list[Checkin]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class Gateway(BaseModel):
    site_id: str
    gateway_id: str
    status: str
    online: bool
    last_seen: float | None
    outbox_depth: int | None
    fps: float | None
    version: str | None
    gallery_version: int | None = Field(None, description="The signed gallery's version the gateway runs (centre).")
    roster_version: int | None = Field(None, description="The signed roster's version the gateway runs (centre).")
    clock_synced: bool | None = None
    alarms: list[str]
    gates: list[str]
    last_error: str | None = None


class OpenGate(BaseModel):
    gate: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Gate id; null: the only one."
    )


class CommandResult(BaseModel):
    ok: bool
    request_id: str | None = None
    status: str | None = None
    error: str | None = None
    error_code: str | None = None
    """Why it failed, as a stable code (edge/gateway/remote_commands.py ERROR_CODES); None from older gateways."""
    error_fields: dict[str, str] | None = None
    """The values the code's message names (gate, gates, …)."""
    detail: dict[str, object] | None = None
