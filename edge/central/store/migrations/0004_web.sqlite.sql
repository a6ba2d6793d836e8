-- The school web app (#10): staff accounts, server-side sessions, API tokens, the audit log, excused absences,
-- and the indexes its pages read through. Secrets are stored only as sha256 (tokens) or argon2id (passwords).
CREATE TABLE web_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'office', 'teacher', 'guard')),
    site_id TEXT,
    classes TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL
);
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES web_users (id),
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ip TEXT
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE TABLE web_api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES web_users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    last_used_at REAL,
    revoked_at REAL
);
CREATE TABLE web_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    username TEXT,
    action TEXT NOT NULL,
    site_id TEXT,
    detail TEXT NOT NULL,
    ip TEXT
);
CREATE INDEX web_audit_at ON web_audit (at);
CREATE TABLE excuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    day TEXT NOT NULL,
    reason TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at REAL NOT NULL,
    UNIQUE (site_id, person_id, day)
);
-- Class day, Student and the API read one school's check-ins by person and time.
CREATE INDEX idx_checkins_site_person_occurred ON checkins (site_id, person_id, occurred_at);
