-- One centre, one truth (#20): each school's state lives here, not in CSV/YAML files read at start.
-- central.yaml keeps the channels (with their secrets), the message templates and the notifier's settings;
-- everything the office edits is below and is changed only through edge/central/school/edits.py, which bumps
-- school_versions in the same transaction so every process (collector, notifier, web app, distributor) follows it.
-- Dates are 'YYYY-MM-DD' text, times 'HH:MM' text in the school's zone; "start"/"end" are quoted (SQL keywords).
CREATE TABLE schools (
    site_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    go_live TEXT,
    edfi_school_id INTEGER,
    weekdays TEXT NOT NULL DEFAULT '["mon","tue","wed","thu","fri"]',
    cutoff TEXT NOT NULL DEFAULT '07:45',
    dismissal TEXT NOT NULL DEFAULT '16:30',
    gate_names TEXT NOT NULL DEFAULT '{}',
    updated_at REAL NOT NULL
);
CREATE TABLE school_times (
    site_id TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('grade', 'class')),
    name TEXT NOT NULL,
    cutoff TEXT,
    dismissal TEXT,
    PRIMARY KEY (site_id, scope, name)
);
CREATE TABLE school_terms (
    site_id TEXT NOT NULL,
    name TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    PRIMARY KEY (site_id, "start")
);
CREATE TABLE school_days_off (
    site_id TEXT NOT NULL,
    name TEXT NOT NULL,
    "start" TEXT NOT NULL,
    "end" TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'makeup')),
    PRIMARY KEY (site_id, kind, "start")
);
CREATE TABLE students (
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    name TEXT NOT NULL,
    class_name TEXT NOT NULL,
    card_uid TEXT,
    photos TEXT NOT NULL DEFAULT '',
    enrolled_from TEXT NOT NULL,
    enrolled_until TEXT,
    PRIMARY KEY (site_id, person_id),
    UNIQUE (site_id, card_uid)
);
CREATE INDEX students_class ON students (site_id, class_name);
CREATE TABLE guardians (
    site_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    kinds TEXT NOT NULL,
    PRIMARY KEY (site_id, guardian_id, person_id)
);
CREATE TABLE gateways (
    site_id TEXT NOT NULL,
    gateway_id TEXT NOT NULL,
    name TEXT,
    added_at REAL NOT NULL,
    revoked_at REAL,
    PRIMARY KEY (site_id, gateway_id)
);
CREATE TABLE school_versions (
    site_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
