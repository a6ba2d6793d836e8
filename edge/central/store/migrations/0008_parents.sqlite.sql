-- Parents and their children's data (#24). Consent to face recognition (#24, Decree 13/2023/ND-CP: a face template is sensitive personal data, processed for
-- a child only with consent, which can be withdrawn). One row per decision, never updated: the history is the
-- record (who gave or withdrew it, when, how). The latest row of a student says whether a face may be enrolled.
-- Renumber at merge: state 0005, holds 0006, deploy 0007, channels 0008 -> this one after them.
CREATE TABLE consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('given', 'withdrawn')),
    given_by TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('paper', 'app')),
    recorded_by TEXT NOT NULL,
    at REAL NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_student ON consents (site_id, person_id, id);
-- The parents' app (#24 item 1): its own session kind, apart from staff sessions. A sign-in code is kept only as
-- sha256(code, id) with its expiry and the tries made; the rows of the last hour are the rate limits per address
-- (phone or e-mail) and per client IP (a request for an unknown address is a row too, never valid).
CREATE TABLE parent_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    site_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    used_at REAL,
    ip TEXT
);
CREATE INDEX parent_codes_address ON parent_codes (address, created_at);
CREATE INDEX parent_codes_ip ON parent_codes (ip, created_at);
CREATE TABLE parent_sessions (
    token_hash TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    device TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ended_at REAL,
    ended_by TEXT
);
CREATE INDEX parent_sessions_guardian ON parent_sessions (site_id, guardian_id);
-- "Xin phép nghỉ": a guardian asks, the form teacher approves (the days become excuses) or declines.
CREATE TABLE absence_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'declined')),
    created_at REAL NOT NULL,
    decided_by TEXT,
    decided_at REAL
);
CREATE INDEX absence_requests_student ON absence_requests (site_id, person_id, first_day);
